"""Tests of egress.py: the ``egress_proxy`` setting, and deliveries and OAuth token requests
leaving through a CONNECT proxy on loopback, to the address the worker checked."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hookseal_sender import ConfigError, Sender, SenderConfig
from hookseal_sender._settings import check_settings
from hookseal_sender.catalog import _catalog
from hookseal_sender.egress import parse_proxy_url

from ._pki import PKI, make_pki
from ._proxy import ConnectProxy
from ._receiver import RawReceiver, Receiver
from .conftest import wait_for


def example() -> dict[str, Any]:
    return _catalog().example("invoice.paid")  # type: ignore[no-any-return]


def test_proxy_urls_are_checked() -> None:
    proxy = parse_proxy_url("http://egress:s%40cret@proxy.internal:3128")
    assert proxy.url == "http://proxy.internal:3128"
    assert proxy.authorization == "Basic ZWdyZXNzOnNAY3JldA=="  # egress:s@cret
    assert parse_proxy_url("http://[fd00::1]").url == "http://[fd00::1]:80"
    for bad in ("https://proxy:3128", "socks5://proxy:1080", "http://", "http://p:3128/x",
                "proxy:3128", ""):
        with pytest.raises(ConfigError, match="egress_proxy"):
            parse_proxy_url(bad)
    with pytest.raises(ConfigError, match="egress_proxy"):
        SenderConfig(egress_proxy="ftp://proxy")
    assert check_settings({"egress_proxy": "http://p:1"}, "test")["egress_proxy"] == "http://p:1"


@pytest.fixture(scope="module")
def pki() -> PKI:
    return make_pki()


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    p = ConnectProxy().start()
    yield p
    p.stop()


@pytest.fixture
def tls_receiver(pki: PKI) -> Iterator[Receiver]:
    r = Receiver(ssl_context=pki.server_context(False, names=("hooks.test",))).start()
    yield r
    r.stop()


def _sender(config: SenderConfig, proxy: ConnectProxy, answers: dict[str, list[str]]) -> Sender:
    async def resolve(host: str, port: int) -> Sequence[str]:
        if host not in answers:
            raise OSError(f"unknown name {host}")
        return answers[host][:1] if len(answers[host]) == 1 else [answers[host].pop(0)]

    creds = proxy.url.replace("http://", "http://egress:pw@")
    return Sender(config.replace(egress_proxy=creds), resolve=resolve)


def test_deliveries_and_token_requests_tunnel_through_the_proxy_to_the_checked_address(
        config: SenderConfig, proxy: ConnectProxy, pki: PKI, tls_receiver: Receiver) -> None:
    from hookseal_sender import BackgroundWorker

    sender = _sender(config, proxy, {"hooks.test": ["127.0.0.1"], "auth.test": ["127.0.0.1"]})
    try:
        url = f"https://hooks.test:{tls_receiver.port}/h"
        tls_receiver.route("/h", statuses=[500, 200])
        ep = sender.create_endpoint("t1", url, allow_local=True, event_types=["invoice.paid"],
                                    retry_schedule=[0.05], tls_ca_pem=pki.ca_pem).endpoint
        tokens = Receiver(ssl_context=pki.server_context(False, names=("auth.test",))).start()
        tokens.route("/token", fn=lambda r: web.json_response(
            {"access_token": "tok", "expires_in": 600}))
        tls_receiver.route("/o", fn=lambda r: 200 if r.headers.get("Authorization") == "Bearer tok"
                           else 401)
        sender.create_endpoint(
            "t2", f"https://hooks.test:{tls_receiver.port}/o", allow_local=True,
            tls_ca_pem=pki.ca_pem, auth={"type": "oauth", "client_id": "c", "client_secret": "s",
                                         "token_url": f"https://auth.test:{tokens.port}/token"})
        sent = sender.send("t1", "invoice.paid", example())
        oauth_sent = sender.send("t2", "invoice.paid", example())
        w = BackgroundWorker(sender).start()
        try:
            did = sent.deliveries[0][0]
            wait_for(lambda: sender.get_delivery("t1", did).status == "delivered")
            oauth_did = oauth_sent.deliveries[0][0]
            wait_for(lambda: sender.get_delivery("t2", oauth_did).status == "delivered")
        finally:
            w.stop()
        tokens.stop()
        assert len(tokens.requests("/token")) == 1
        got = tls_receiver.requests("/h")
        assert len(got) == 2 and {r.headers["Host"] for r in got} == {
            f"hooks.test:{tls_receiver.port}"}
        # Tunnels to the addresses the worker resolved and checked, not to the names: the
        # deliveries' and the token request's.
        assert set(proxy.targets) == {f"127.0.0.1:{tls_receiver.port}", f"127.0.0.1:{tokens.port}"}
        assert set(proxy.proxy_auth) == {"Basic ZWdyZXNzOnB3"}  # egress:pw
        assert proxy.other == []
        assert ep.id in {e for _, e in sent.deliveries}
    finally:
        sender.close()


def test_the_destination_is_checked_before_the_proxy_is_asked(
        config: SenderConfig, proxy: ConnectProxy) -> None:
    """DNS rebinding: a name public at registration and loopback at delivery reaches
    nothing, and the proxy is never asked (its own loopback address is allowed)."""
    from hookseal_sender import BackgroundWorker

    sender = _sender(config, proxy, {"rebind.test": ["93.184.216.34", "127.0.0.1"]})
    try:
        sender.create_endpoint("t1", "https://rebind.test/h", event_types=["invoice.paid"])
        sent = sender.send("t1", "invoice.paid", example())
        w = BackgroundWorker(sender).start()
        try:
            did = sent.deliveries[0][0]
            wait_for(lambda: sender.get_delivery("t1", did).attempts)
        finally:
            w.stop()
        attempt = sender.get_delivery("t1", did).attempts[0]
        assert attempt.error == "destination_refused" and "127.0.0.1" in attempt.response_body
        assert proxy.targets == [] and proxy.other == []
    finally:
        sender.close()


def test_answers_through_the_proxy_are_recorded_as_utf_8_text(
        config: SenderConfig, proxy: ConnectProxy, pki: PKI) -> None:
    """Found attacking the sender with hostile receivers: through the proxy (aiohttp),
    header bytes that are not UTF-8 were recorded as lone surrogates (its
    surrogateescape), which no UTF-8 text can carry (Starlette's JSONResponse, for one,
    cannot encode them); they are U+FFFD, as the sender's own client records them."""
    from hookseal_sender import BackgroundWorker

    raw = RawReceiver(b"HTTP/1.1 400 Bad\r\nX-Bad: caf\xe9 caf\xc3\xa9\r\nConnection: close\r\n"
                      b"Content-Length: 2\r\n\r\nno", pki.server_context(False, names=("raw.test",)))
    sender = _sender(config, proxy, {"raw.test": ["127.0.0.1"]})
    try:
        sender.create_endpoint("t1", f"https://raw.test:{raw.port}/h", allow_local=True,
                               event_types=["invoice.paid"], tls_ca_pem=pki.ca_pem)
        did = sender.send("t1", "invoice.paid", example()).deliveries[0][0]
        w = BackgroundWorker(sender).start()
        try:
            wait_for(lambda: sender.get_delivery("t1", did).status == "failed")
        finally:
            w.stop()
        attempt = sender.get_delivery("t1", did).attempts[0]
        assert attempt.status_code == 400 and attempt.response_body == "no"
        assert attempt.response_headers["X-Bad"] == "caf\ufffd caf\u00e9"
        assert proxy.targets == [f"127.0.0.1:{raw.port}"]
    finally:
        sender.close()
        raw.close()


def test_settings_file_sets_the_proxy(tmp_path: Path) -> None:
    from hookseal_sender._settings import read_settings

    path = tmp_path / "hookseal-sender.json"
    path.write_text(json.dumps({"egress_proxy": "http://proxy.internal:3128"}))
    assert read_settings(path)["egress_proxy"] == "http://proxy.internal:3128"
    path.write_text(json.dumps({"egress_proxy": 3128}))
    with pytest.raises(ConfigError, match="egress_proxy"):
        read_settings(path)
