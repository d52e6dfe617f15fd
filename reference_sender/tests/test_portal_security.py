"""Portal security: tenant isolation, tokens, CSRF, escaping, headers, secrets, limits."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hookseal_sender import BackgroundWorker, InvalidRequestError, Sender, generate_master_key
from hookseal_sender.portal import (
    COOKIE,
    PortalClaims,
    PortalConfig,
    TokenSigner,
    derive_key,
    issue_link,
    portal_link,
)
from hookseal_sender.portal.tokens import LINK, SESSION
from starlette.testclient import TestClient

from ._receiver import Receiver
from .conftest import wait_for
from .portal_testing import API_KEY, make_client, make_sender

XSS = "<script>alert('pwned')</script><img src=x onerror=alert(1)>"


@pytest.fixture
def sender(tmp_path: Path) -> Iterator[Sender]:
    s = make_sender(tmp_path)
    yield s
    s.close()


@pytest.fixture
def client(sender: Sender) -> TestClient:
    return make_client(sender)


def login(client: TestClient, sender: Sender, tenant: str, user: str = "") -> str:
    from .portal_testing import login as do_login

    return do_login(client, sender, tenant, user=user)


def seed(sender: Sender, tenant: str) -> tuple[str, str]:
    """An endpoint and a finished (cancelled) delivery for a tenant."""
    ep = sender.create_endpoint(tenant, "https://hooks.example.com/" + tenant,
                                description=f"{tenant} hooks").endpoint
    did = sender.ping(tenant, ep.id).deliveries[0][0]
    sender.cancel(tenant, delivery_ids=[did])
    return ep.id, did


def test_a_session_never_reads_or_changes_another_customers_data(
        client: TestClient, sender: Sender) -> None:
    b_ep, b_dlv = seed(sender, "bob")
    a_ep, _ = seed(sender, "alice")
    csrf = login(client, sender, "alice")
    # Reading by URL guessing: every page answers 404 and shows nothing of Bob's.
    for path in [f"/portal/endpoints/{b_ep}", f"/portal/deliveries/{b_dlv}",
                 f"/portal/endpoints/{b_ep}/delete"]:
        r = client.get(path)
        assert r.status_code == 404, path
        assert "bob" not in r.text.lower()
    for path in [f"/portal/deliveries?endpoint={b_ep}", f"/portal/replay?endpoint={b_ep}",
                 f"/portal/deliveries?before={b_dlv}x", "/portal/deliveries?after=dlv_0",
                 "/portal/"]:
        r = client.get(path)
        assert r.status_code in (200, 404), path
        assert b_dlv not in r.text and "bob" not in r.text.lower(), path
    # Changing by URL guessing and by form tampering (extra tenant fields are ignored).
    tamper = {"csrf": csrf, "tenant": "bob", "tenant_id": "bob", "description": "owned",
              "event_types": ["invoice.paid"], "overlap": "0", "confirm": "yes",
              "endpoint": b_ep}
    for path in [f"/portal/endpoints/{b_ep}", f"/portal/endpoints/{b_ep}/pause",
                 f"/portal/endpoints/{b_ep}/resume", f"/portal/endpoints/{b_ep}/ping",
                 f"/portal/endpoints/{b_ep}/rotate", f"/portal/endpoints/{b_ep}/delete",
                 f"/portal/deliveries/{b_dlv}/replay", "/portal/replay"]:
        r = client.post(path, data=tamper)
        assert r.status_code == 404, (path, r.status_code)
        assert "whsec_" not in r.text
    bob = sender.get_endpoint("bob", b_ep)
    assert (bob.status, bob.description, bob.event_types) == ("active", "bob hooks", None)
    assert sender.get_delivery("bob", b_dlv).status == "cancelled"
    assert len(sender.list_deliveries("bob")) == 1
    assert [e.action for e in sender.store.list_audit("bob")] == ["cancel"]
    # A tampered create makes Alice's endpoint, never Bob's.
    r = client.post("/portal/endpoints/new", data={
        **tamper, "url": "https://acme.example.org/in", "event_types": []})
    assert r.status_code == 200 and "whsec_" in r.text
    assert len(sender.list_endpoints("alice")) == 2 and len(sender.list_endpoints("bob")) == 1
    assert a_ep in client.get("/portal/").text


def test_a_forged_cookie_for_another_tenant_is_refused(client: TestClient,
                                                       sender: Sender) -> None:
    b_ep, _ = seed(sender, "bob")
    login(client, sender, "alice")
    cookie = client.cookies.get(COOKIE)
    assert cookie
    body, _, mac = cookie.partition(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data["ten"] = "bob"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    client.cookies.set(COOKIE, f"{forged}.{mac}", path="/portal/")
    r = client.get(f"/portal/endpoints/{b_ep}")
    assert r.status_code == 401 and "bob" not in r.text


def test_expired_altered_and_foreign_links_are_refused(client: TestClient,
                                                       sender: Sender) -> None:
    key = derive_key(sender.config)
    past = TokenSigner(key, clock=lambda: time.time() - 7200).link_token("alice", ttl=60)[0]
    good = portal_link(sender.config, "alice", base_url="http://testserver").token
    foreign = portal_link(sender.config, "alice", base_url="http://testserver",
                          key=derive_key(sender.config.replace(
                              master_key=generate_master_key()))).token
    for token in [past, good[:-3] + "abc", good.replace(".", ".x", 1), foreign, "", "a.b"]:
        for r in (client.get("/portal/login", params={"token": token}),
                  client.post("/portal/login", data={"token": token})):
            assert r.status_code == 401, token
            assert COOKIE not in r.headers.get("set-cookie", "")
            assert "Content-Security-Policy" in r.headers
    assert client.get("/portal/").status_code == 401
    # A link is no session cookie.
    client.cookies.set(COOKIE, good, path="/portal/")
    assert client.get("/portal/").status_code == 401
    # An expired session is refused too.
    signer = TokenSigner(key, clock=lambda: time.time() - 10 * 3600)
    old = signer.session_token(signer.check(LINK, signer.link_token("alice")[0]))[0]
    client.cookies.set(COOKIE, old, path="/portal/")
    assert client.get("/portal/").status_code == 401


def test_login_sets_a_strict_cookie_and_drops_the_token_from_the_url(sender: Sender) -> None:
    client = make_client(sender, base_url="https://testserver")
    link = portal_link(sender.config, "alice", base_url="https://testserver", user="ann")
    r = client.get(link.url)
    assert r.status_code == 303 and r.headers["location"] == "/portal/"
    cookie = r.headers["set-cookie"].lower()
    for flag in ("httponly", "samesite=strict", "secure", "path=/portal/"):
        assert flag in cookie
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["cache-control"] == "no-store"
    assert [(e.action, e.actor) for e in sender.store.list_audit("alice")] == [
        ("portal_session", "portal:ann")]
    plain = make_client(sender)
    assert "secure" not in plain.get(link.url.replace("https", "http")).headers[
        "set-cookie"].lower()


def test_csrf_is_required_and_bound_to_the_session(client: TestClient,
                                                   sender: Sender) -> None:
    a_ep, _ = seed(sender, "alice")
    other = make_client(sender)
    other_csrf = login(other, sender, "alice")
    csrf = login(client, sender, "alice")
    assert csrf != other_csrf
    path = f"/portal/endpoints/{a_ep}/pause"
    for data, headers in [({}, {}), ({"csrf": ""}, {}), ({"csrf": "x" * 43}, {}),
                          ({"csrf": other_csrf}, {}),
                          ({"csrf": csrf}, {"Origin": "https://evil.example"}),
                          ({"csrf": csrf}, {"Origin": "null"})]:
        r = client.post(path, data=data, headers=headers)
        assert r.status_code == 403, (data, headers)
        assert "Content-Security-Policy" in r.headers
    assert sender.get_endpoint("alice", a_ep).status == "active"
    r = client.post(path, data={"csrf": csrf}, headers={"Origin": "http://testserver"})
    assert r.status_code == 303
    assert sender.get_endpoint("alice", a_ep).status == "paused"
    # Behind a proxy that rewrites Host, the public origin is configured.
    proxied = make_client(sender, portal=PortalConfig(origins=("https://hooks.example.com",)))
    csrf = login(proxied, sender, "alice")
    resume = f"/portal/endpoints/{a_ep}/resume"
    assert proxied.post(resume, data={"csrf": csrf},
                        headers={"Origin": "https://evil.example"}).status_code == 403
    assert proxied.post(resume, data={"csrf": csrf},
                        headers={"Origin": "https://hooks.example.com"}).status_code == 303


def test_what_an_endpoint_answers_is_shown_as_text(client: TestClient,
                                                   sender: Sender) -> None:
    receiver = Receiver().start()
    worker = BackgroundWorker(sender).start()
    try:
        url = receiver.route("/evil", statuses=[400], body=XSS,
                             headers={"X-Evil": "<b onmouseover=alert(2)>hi</b>"})
        ep = sender.create_endpoint("alice", url, allow_local=True,
                                    description="<script>alert(3)</script>").endpoint
        did = sender.ping("alice", ep.id).deliveries[0][0]
        wait_for(lambda: sender.get_delivery("alice", did).status == "failed")
    finally:
        worker.stop()
        receiver.stop()
    login(client, sender, "alice")
    page = client.get(f"/portal/deliveries/{did}").text
    assert "<script>alert" not in page and "<img src=x" not in page and "<b onmouse" not in page
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in page
    assert "&lt;b onmouseover=alert(2)&gt;" in page
    for path in ("/portal/", f"/portal/endpoints/{ep.id}"):  # the customer's own text too
        text = client.get(path).text
        assert "<script>alert" not in text and "&lt;script&gt;alert(3)&lt;/script&gt;" in text
    # The only scripts on any page are the portal's own files.
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/portal/static/htmx.min.js" '
                                                 'defer>']


def test_every_page_sets_strict_headers(client: TestClient, sender: Sender) -> None:
    a_ep, a_dlv = seed(sender, "alice")
    csrf = login(client, sender, "alice")
    responses = [client.get(p) for p in [
        "/portal/", "/portal/endpoints/new", f"/portal/endpoints/{a_ep}",
        f"/portal/endpoints/{a_ep}/delete", "/portal/deliveries",
        "/portal/deliveries?status=failed&range=24h", f"/portal/deliveries/{a_dlv}",
        "/portal/replay", f"/portal/replay?endpoint={a_ep}", "/portal/nope",
        "/portal/deliveries/dlv_missing", "/portal/static/portal.css",
        "/portal/static/htmx.min.js", "/portal/login?token=bad"]]
    responses += [client.post(f"/portal/endpoints/{a_ep}/rotate", data={"csrf": csrf}),
                  client.post("/portal/endpoints/new", data={"csrf": csrf, "url": ""}),
                  client.post(f"/portal/endpoints/{a_ep}/pause", data={}),
                  client.put("/portal/")]
    for r in responses:
        csp = r.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp and "default-src 'none'" in csp, r.url
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp and r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        if "/static/" not in str(r.url):
            assert r.headers["cache-control"] == "no-store"
            assert 'style=' not in r.text and "<script>" not in r.text  # CSP-clean markup
    assert [r.status_code for r in responses[-4:]] == [200, 400, 403, 405]


def test_framing_is_configurable(sender: Sender) -> None:
    config = PortalConfig.from_settings({  # as in hookseal-sender.json's "portal" object
        "frame_ancestors": ["https://app.example.com"], "cookie_samesite": "none",
        "cookie_secure": True, "title": "Acme webhooks"})
    assert config == PortalConfig(frame_ancestors=("https://app.example.com",),
                                  cookie_samesite="none", cookie_secure=True,
                                  title="Acme webhooks")
    client = make_client(sender, portal=config)
    r = client.get(portal_link(sender.config, "alice", base_url="http://testserver").url)
    assert "frame-ancestors https://app.example.com" in r.headers["content-security-policy"]
    assert "x-frame-options" not in r.headers
    assert "samesite=none" in r.headers["set-cookie"].lower()


def test_secrets_are_shown_once_and_never_in_the_log(client: TestClient,
                                                     sender: Sender) -> None:
    receiver = Receiver().start()
    worker = BackgroundWorker(sender).start()
    try:
        csrf = login(client, sender, "alice")
        r = client.post("/portal/endpoints/new", data={
            "csrf": csrf, "url": receiver.route("/ok"), "event_types": ["invoice.paid"]})
        secret = re.search(r'value="(whsec_[^"]+)"', r.text)
        assert secret and r.headers["cache-control"] == "no-store"
        eid = sender.list_endpoints("alice")[0].id
        r = client.post(f"/portal/endpoints/{eid}/ping", data={"csrf": csrf})
        did = r.headers["location"].split("/")[-1].split("?")[0]
        wait_for(lambda: sender.get_delivery("alice", did).status == "delivered")
    finally:
        worker.stop()
        receiver.stop()
    sent = receiver.requests("/ok")[0].headers
    pages = [client.get(p).text for p in ("/portal/", f"/portal/endpoints/{eid}",
                                          f"/portal/deliveries/{did}", "/portal/deliveries")]
    detail = pages[2]
    assert all(secret.group(1) not in p for p in pages)
    sig = sent["Hookseal-Signature"].split(",")[1].split("=", 1)[1]
    assert sig not in detail and "v1=(redacted)" in detail
    assert sent["Hookseal-Webhook-Id"] in detail and "test.ping" in detail


def test_single_replays_are_rate_limited_and_audited(tmp_path: Path) -> None:
    sender = make_sender(tmp_path, replay_rate=0.5)
    try:
        client = make_client(sender, portal=PortalConfig(replay_burst=2))
        ids = [seed(sender, "alice")[1] for _ in range(3)]
        csrf = login(client, sender, "alice", user="ann")
        codes = [client.post(f"/portal/deliveries/{d}/replay", data={"csrf": csrf}).status_code
                 for d in ids]
        assert codes == [303, 303, 429]
        assert sender.get_delivery("alice", ids[2]).status == "cancelled"
        audit = [(e.action, e.actor) for e in sender.store.list_audit("alice")
                 if e.action == "replay"]
        assert audit == [("replay", "portal:ann")] * 2
    finally:
        sender.close()


def test_bulk_replay_asks_first_then_replays_with_the_api_limits(client: TestClient,
                                                                 sender: Sender) -> None:
    ep = sender.create_endpoint("alice", "https://hooks.example.com/x").endpoint
    ids = [sender.ping("alice", ep.id).deliveries[0][0] for _ in range(3)]
    with sender.store.transaction() as conn:
        conn.execute("UPDATE deliveries SET status = 'failed'")
        conn.execute("DELETE FROM queue")  # finished: out of the queue, as a worker leaves them
    csrf = login(client, sender, "alice", user="ann")
    preview = client.get(f"/portal/replay?endpoint={ep.id}")
    assert "3 failed deliveries match" in preview.text
    assert client.post("/portal/replay", data={"csrf": csrf, "endpoint": ep.id}).status_code == 200
    assert all(sender.get_delivery("alice", d).status == "failed" for d in ids)
    r = client.post("/portal/replay", data={"csrf": csrf, "endpoint": ep.id, "confirm": "yes",
                                            "reason": "fixed TLS"})
    assert r.status_code == 200 and "3 deliveries queued" in r.text
    got = [sender.get_delivery("alice", d) for d in ids]
    assert all(d.status == "pending" for d in got)
    due = sorted(d.next_attempt_at or 0 for d in got)
    assert due[2] - due[0] == pytest.approx(2 / sender.config.replay_rate, abs=0.01)
    entry = next(e for e in sender.store.list_audit("alice") if e.action == "bulk_replay")
    assert (entry.actor, entry.reason, entry.target["count"]) == ("portal:ann", "fixed TLS", 3)


def test_add_endpoint_applies_the_api_checks_with_clear_messages(tmp_path: Path) -> None:
    sender = make_sender(tmp_path, allow_local=False)
    try:
        client = make_client(sender)
        csrf = login(client, sender, "alice")
        for url, words in [("http://hooks.example.com/x", "https"),
                           ("https://169.254.169.254/latest", "169.254.169.254"),
                           ("https://127.0.0.1/x", "127.0.0.1"),
                           ("https://nowhere.invalid/x", "nowhere.invalid"),
                           ("", "Enter the URL")]:
            r = client.post("/portal/endpoints/new", data={"csrf": csrf, "url": url,
                                                           "description": "<kept>"})
            assert r.status_code == 400, url
            assert 'role="alert"' in r.text and words in r.text, (url, r.text[-800:])
            assert "&lt;kept&gt;" in r.text and "whsec_" not in r.text
        assert sender.list_endpoints("alice") == []
    finally:
        sender.close()


def test_api_and_cli_make_links(client: TestClient, sender: Sender, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    from .portal_testing import API_KEY

    auth = {"Authorization": f"Bearer {API_KEY}"}
    r = client.post("/v1/tenants/alice/portal-links", headers=auth,
                    json={"ttl_seconds": 120, "user": "ann"})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    assert body["url"].startswith("http://testserver/portal/login?token=")
    assert body["expires_at"] == pytest.approx(time.time() + 120, abs=5)
    assert client.get(body["url"]).status_code == 303
    assert client.post("/v1/tenants/alice/portal-links", json={}).status_code == 401
    bad = client.post("/v1/tenants/alice/portal-links", headers=auth,
                      json={"ttl_seconds": 10**9})
    assert bad.status_code == 400
    actions = [(e.action, e.actor) for e in sender.store.list_audit("alice")]
    assert ("portal_link", "provider") in actions
    from hookseal_sender.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["init", "--allow-local"]) == 0
    capsys.readouterr()
    assert main(["portal-link", "--tenant", "acme", "--ttl", "60", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"url": "http://127.0.0.1:8090/portal/login?token=' in out


# Hostile values: a NUL (PostgreSQL cannot even compare a string holding one), other
# control characters, and lone surrogates where they can arrive (not over HTTP, whose
# decoders replace them). Each is refused with a 400 page before anything is read or changed.
HOSTILE = [pytest.param("a\x00b", id="nul"), pytest.param("\x00", id="only-nul"),
           pytest.param("a\r\nb", id="crlf"), pytest.param("\x1b[2J", id="escape"),
           pytest.param("a\x7f", id="del")]


@pytest.fixture
def any_sender(db_url: str, tmp_path: Path) -> Iterator[Sender]:
    """A portal test sender on SQLite and on PostgreSQL (``db_url`` runs each test on both)."""
    s = make_sender(tmp_path, database=db_url)
    yield s
    s.close()


def state(sender: Sender, tenant: str) -> tuple[Any, ...]:
    """Everything a portal request could change for a tenant."""
    eps = sender.list_endpoints(tenant)
    return (eps, sender.list_deliveries(tenant, limit=500), sender.store.list_audit(tenant),
            [[k.id for k in sender.store.keys(e.id)] for e in eps])


def hostile_requests(value: str, ep: str, did: str) -> list[tuple[str, str, dict[str, Any]]]:
    """``(method, path, form)`` for every portal route with ``value`` in one place each."""
    q = quote(value, safe="")
    gets = [f"/portal/endpoints/{q}", f"/portal/endpoints/{q}/delete", f"/portal/deliveries/{q}",
            *(f"/portal/deliveries?{k}={q}" for k in
              ("endpoint", "event_type", "status", "range", "since", "until", "before", "after")),
            f"/portal/replay?endpoint={q}", f"/portal/replay?endpoint={ep}&since={q}",
            f"/portal/?notice={q}", f"/portal/endpoints/new?x={q}"]
    out: list[tuple[str, str, dict[str, Any]]] = [("GET", path, {}) for path in gets]
    out += [("POST", f"/portal/endpoints/{q}{action}", {})
            for action in ("", "/pause", "/resume", "/ping", "/rotate", "/delete")]
    out.append(("POST", f"/portal/deliveries/{q}/replay", {}))
    # Valid forms (each would change something) with one field made hostile.
    forms: list[tuple[str, dict[str, Any], list[str]]] = [
        ("/portal/endpoints/new", {"url": "https://hooks.example.com/new", "description": "d"},
         ["url", "description", "profile", "event_types", "other_types"]),
        (f"/portal/endpoints/{ep}", {"description": "d", "event_types": ["invoice.paid"]},
         ["description", "event_types", "other_types"]),
        (f"/portal/endpoints/{ep}/rotate", {"overlap": "0"}, ["overlap"]),
        (f"/portal/endpoints/{ep}/pause", {}, ["extra"]),
        (f"/portal/endpoints/{ep}/ping", {}, ["extra"]),
        (f"/portal/endpoints/{ep}/delete", {}, ["extra"]),
        (f"/portal/deliveries/{did}/replay", {}, ["reason"]),
        ("/portal/replay", {"endpoint": ep, "confirm": "yes", "reason": "r"},
         ["endpoint", "since", "until", "reason", "confirm"]),
        ("/portal/logout", {}, ["extra"]),
    ]
    out += [("POST", path, {**form, name: value}) for path, form, names in forms for name in names]
    return out


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_get_a_400_page_and_change_nothing(any_sender: Sender, value: str) -> None:
    sender = any_sender
    ep, did = seed(sender, "alice")
    with sender.store.transaction() as conn:  # replayable, singly and in bulk
        conn.execute("UPDATE deliveries SET status = 'failed'")
        conn.execute("DELETE FROM queue")  # finished: out of the queue, as a worker leaves them
    client = make_client(sender)
    csrf = login(client, sender, "alice", user="ann")
    before = state(sender, "alice")
    for method, path, form in hostile_requests(value, ep, did):
        r = client.request(method, path, data={"csrf": csrf, **form} if method == "POST" else None)
        if "%0A" in path.partition("?")[0]:  # Starlette's Mount does not route a newline at all
            assert (r.status_code, r.text) == (404, "Not Found"), (method, path)
            continue
        assert r.status_code == 400, (method, path, form, r.status_code)
        assert "That did not work" in r.text and "U+00" in r.text, (method, path, form)
        assert "Content-Security-Policy" in r.headers
    assert state(sender, "alice") == before
    assert client.get("/portal/").status_code == 200  # the session survived (no logout)


@pytest.mark.parametrize("claims", [
    pytest.param({"user": "ann\x00"}, id="user-nul"),
    pytest.param({"user": "ann\ud800"}, id="user-surrogate"),
    pytest.param({"user": "ann\r\nX"}, id="user-crlf"),
    pytest.param({"user": "a" * 255}, id="user-too-long"),
    pytest.param({"tenant_id": "alice\x00"}, id="tenant-nul"),
    pytest.param({"tenant_id": "alice\udfff"}, id="tenant-surrogate"),
    pytest.param({"session_id": "s\ud800"}, id="session-id-surrogate"),
])
def test_a_signed_token_with_hostile_claims_opens_nothing(any_sender: Sender,
                                                          claims: dict[str, str]) -> None:
    sender = any_sender
    seed(sender, "alice")
    audit = sender.store.list_audit("alice")
    signer = TokenSigner(derive_key(sender.config))
    now = time.time()
    # Signed with the right key, as a version that did not check its claims could have.
    made = {"tenant_id": "alice", "expires_at": now + 600, "issued_at": now, "user": "ann",
            "session_id": "s" * 24, **claims}
    link = signer.issue(LINK, PortalClaims(**{**made, "session_id": ""}))  # type: ignore[arg-type]
    client = make_client(sender)
    if "session_id" not in claims:
        for r in (client.get("/portal/login", params={"token": link}),
                  client.post("/portal/login", data={"token": link})):
            assert r.status_code == 401 and "This link does not work" in r.text
            assert COOKIE not in r.headers.get("set-cookie", "")
    client.cookies.set(COOKIE, signer.issue(SESSION, PortalClaims(**made)),  # type: ignore[arg-type]
                       path="/portal/")
    assert client.get("/portal/").status_code == 401
    assert sender.store.list_audit("alice") == audit


BAD_USERS = [*HOSTILE, pytest.param("ann\ud800", id="surrogate"),
             pytest.param("a" * 255, id="too-long"), pytest.param("\U0001f600" * 200, id="too-long-escaped")]


@pytest.mark.parametrize("user", BAD_USERS)
def test_links_naming_a_hostile_user_are_refused_when_made(any_sender: Sender, user: str) -> None:
    sender = any_sender
    with pytest.raises(InvalidRequestError, match="user"):
        issue_link(sender, "alice", base_url="http://testserver", user=user)
    r = make_client(sender).post("/v1/tenants/alice/portal-links", content=json.dumps({"user": user}),
                                 headers={"Authorization": f"Bearer {API_KEY}"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    assert sender.store.list_audit("alice") == []
    # At the limits, a link is made and opens a session.
    link = issue_link(sender, "t" * 200, base_url="http://testserver", user="a" * 254)
    client = make_client(sender)
    assert client.get(link.url).status_code == 303
    assert client.get("/portal/").status_code == 200


def test_the_cli_refuses_a_hostile_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from hookseal_sender.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["init", "--allow-local"]) == 0
    capsys.readouterr()
    assert main(["portal-link", "--tenant", "acme", "--user", "ann\x01"]) == 1
    out = capsys.readouterr().out
    assert "invalid_request" in out and "U+0001" in out and "token=" not in out
