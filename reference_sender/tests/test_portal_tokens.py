"""Portal tokens: links, sessions and CSRF tokens are signed, scoped and expire."""

from __future__ import annotations

import base64
import json

import pytest
from hookseal_sender import SenderConfig, generate_master_key
from hookseal_sender.errors import ConfigError, InvalidRequestError
from hookseal_sender.portal import PortalTokenError, TokenSigner, derive_key, portal_link
from hookseal_sender.portal.tokens import LINK, SESSION
from hookseal_sender.secretbox import MASTER_KEY_ENV


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def signer(clock: Clock) -> TokenSigner:
    return TokenSigner(b"k" * 32, clock=clock)


def test_link_round_trip_and_expiry() -> None:
    clock = Clock()
    s = signer(clock)
    token, exp = s.link_token("acme", ttl=60, user="ann")
    claims = s.check(LINK, token)
    assert (claims.tenant_id, claims.user, claims.expires_at) == ("acme", "ann", exp)
    clock.now += 59.9
    s.check(LINK, token)
    clock.now += 0.1
    with pytest.raises(PortalTokenError, match="expired"):
        s.check(LINK, token)


def test_session_from_link_has_fresh_id_and_own_lifetime() -> None:
    clock = Clock()
    s = signer(clock)
    link = s.check(LINK, s.link_token("acme", ttl=60, session_ttl=600)[0])
    cookie, session = s.session_token(link)
    other = s.session_token(link)[1]
    assert session.session_id and session.session_id != other.session_id
    clock.now += 300  # the link has expired; the session has not
    assert s.check(SESSION, cookie).tenant_id == "acme"
    clock.now += 300
    with pytest.raises(PortalTokenError):
        s.check(SESSION, cookie)


def test_purposes_do_not_mix() -> None:
    s = signer(Clock())
    link = s.link_token("acme")[0]
    cookie = s.session_token(s.check(LINK, link))[0]
    with pytest.raises(PortalTokenError):
        s.check(SESSION, link)
    with pytest.raises(PortalTokenError):
        s.check(LINK, cookie)


def _reencode(token: str, **changes: object) -> str:
    body, _, mac = token.partition(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data.update(changes)
    new = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{new}.{mac}"


@pytest.mark.parametrize("mangle", [
    lambda t: _reencode(t, ten="other-tenant"),
    lambda t: _reencode(t, exp=4_000_000_000),
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: t.split(".")[0],
    lambda t: t + ".x",
    lambda t: "",
    lambda t: "x" * 5000,
    lambda t: "%%%.%%%",
    lambda t: "é.é",
])
def test_altered_tokens_are_refused(mangle: object) -> None:
    s = signer(Clock())
    token = s.link_token("acme")[0]
    with pytest.raises(PortalTokenError):
        s.check(LINK, mangle(token))  # type: ignore[operator]


def test_another_key_is_refused() -> None:
    token = signer(Clock()).link_token("acme")[0]
    with pytest.raises(PortalTokenError):
        TokenSigner(b"x" * 32, clock=Clock()).check(LINK, token)


def test_csrf_token_is_bound_to_the_session() -> None:
    s = signer(Clock())
    link = s.check(LINK, s.link_token("acme")[0])
    one, two = s.session_token(link)[1], s.session_token(link)[1]
    assert s.check_csrf(one, s.csrf_token(one))
    assert not s.check_csrf(one, s.csrf_token(two))
    assert not s.check_csrf(one, None) and not s.check_csrf(one, "")
    assert not s.check_csrf(one, s.csrf_token(one)[:-1] + "é")


@pytest.mark.parametrize("kw", [{"ttl": 0}, {"ttl": -1}, {"ttl": 8 * 86400},
                                {"session_ttl": 0}])
def test_link_limits(kw: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        signer(Clock()).link_token("acme", ttl=kw.get("ttl", 60),
                                   session_ttl=kw.get("session_ttl", 60))
    with pytest.raises(ConfigError):
        signer(Clock()).link_token("")


def test_key_derives_from_the_master_key(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: object) -> None:
    master = generate_master_key()
    a = derive_key(SenderConfig(master_key=master))
    assert len(a) == 32 and a == derive_key(SenderConfig(master_key=master))
    assert a != derive_key(SenderConfig(master_key=generate_master_key()))
    monkeypatch.setenv(MASTER_KEY_ENV, master)
    assert derive_key(SenderConfig()) == a
    monkeypatch.delenv(MASTER_KEY_ENV)
    with pytest.raises(ConfigError):
        derive_key(SenderConfig())


def test_portal_link_url() -> None:
    config = SenderConfig(master_key=generate_master_key())
    link = portal_link(config, "acme", base_url="https://hooks.example.com/", ttl=30)
    assert link.url.startswith("https://hooks.example.com/portal/login?token=")
    assert TokenSigner(derive_key(config)).check(LINK, link.token).tenant_id == "acme"


@pytest.mark.parametrize(("tenant", "user"), [
    pytest.param("acme", "ann\x00", id="user-nul"),
    pytest.param("acme", "ann\r\nBcc: x", id="user-crlf"),
    pytest.param("acme", "ann\ud800", id="user-surrogate"),
    pytest.param("acme", "a" * 255, id="user-too-long"),
    pytest.param("acme", 5, id="user-int"),
    pytest.param("ac\x00me", "ann", id="tenant-nul"),
    pytest.param("acme\udfff", "ann", id="tenant-surrogate"),
    pytest.param("a" * 201, "ann", id="tenant-too-long"),
    pytest.param("\U0001f600" * 100, "\U0001f600" * 100, id="too-long-as-a-token"),
])
def test_links_with_hostile_claims_are_not_made(tenant: str, user: str) -> None:
    with pytest.raises(InvalidRequestError):
        signer(Clock()).link_token(tenant, user=user)
    with pytest.raises(InvalidRequestError):
        portal_link(SenderConfig(master_key=generate_master_key()), tenant, user=user,
                    base_url="https://hooks.example.com")


@pytest.mark.parametrize("claims", [
    {"usr": "ann\x00"}, {"usr": "ann\ud800"}, {"usr": "a" * 255}, {"ten": "acme\x1b"},
    {"ten": "x" * 201}, {"sid": "s\ud800"},
])
def test_signed_tokens_with_hostile_claims_are_refused(claims: dict[str, str]) -> None:
    s = signer(Clock())
    data = {"ten": "acme", "exp": Clock().now + 60, "iat": Clock().now, "usr": "", "sid": "",
            "sttl": 60.0, **claims}
    body = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    mac = base64.urlsafe_b64encode(s._mac(LINK, body)).rstrip(b"=").decode()
    with pytest.raises(PortalTokenError, match="unusable token claims"):
        s.check(LINK, f"{body}.{mac}")


def test_links_at_the_limits_are_made_and_open() -> None:
    s = signer(Clock())
    for tenant, user in [("t" * 200, "a" * 254), ("ü" * 200, "ann@acme.example")]:
        link = s.check(LINK, s.link_token(tenant, user=user)[0])
        cookie = s.session_token(link)[0]
        assert len(cookie) <= 2048 and s.check(SESSION, cookie).user == user
