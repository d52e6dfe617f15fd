"""Tests of endpoint_auth.py and its use by the worker (_access.py, _attempt.py): a static
Authorization value, OAuth 2.0 client credentials and mutual TLS, against real servers on
loopback; the secrets stored encrypted and never shown."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from hookseal_sender import InvalidAuthError, InvalidRequestError, Sender
from hookseal_sender.catalog import _catalog
from hookseal_sender.endpoint_auth import check_auth

from ._pki import PKI, make_pki
from ._receiver import Received, Receiver
from .conftest import wait_for


def example() -> dict[str, Any]:
    return _catalog().example("invoice.paid")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def pki() -> PKI:
    return make_pki()


# -- checks at registration ----------------------------------------------------------------
@pytest.mark.parametrize(("auth", "error", "words"), [
    ({"type": "static", "authorization": ""}, InvalidAuthError, "1 to 4096"),
    ({"type": "static", "authorization": "Bearer a\r\nX-Evil: 1"}, InvalidAuthError, "no CR"),
    ({"type": "static", "authorization": "Bearer \x00"}, InvalidAuthError, "no CR"),
    ({"type": "static", "authorization": 5}, InvalidRequestError, "must be a string"),
    ({"type": "static"}, InvalidAuthError, "needs authorization"),
    ({"type": "basic", "authorization": "x"}, InvalidAuthError, "static, oauth, mtls"),
    ({"type": "oauth", "token_url": "https://a.example/t", "client_id": "c"}, InvalidAuthError,
     "needs client_secret"),
    ({"type": "static", "authorization": "x", "scope": "s"}, InvalidAuthError,
     "unknown auth field 'scope'"),
    ({"type": "mtls", "cert_pem": "not pem", "key_pem": "x"}, InvalidAuthError,
     "not a PEM certificate"),
    ("Bearer x", InvalidRequestError, "JSON object"),
])
def test_bad_auth_is_refused_by_name(auth: Any, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        check_auth(auth)


def test_client_certificates_are_checked(pki: PKI) -> None:
    cert, key = pki.issue("client-1")
    checked = check_auth({"type": "mtls", "cert_pem": cert, "key_pem": key})
    assert checked is not None
    assert checked.public["subject"] == "CN=client-1" and len(checked.public["sha256"]) == 64
    assert "key_pem" not in checked.public and checked.secret["key_pem"] == key
    _, other_key = pki.issue("client-2")
    with pytest.raises(InvalidAuthError, match="not the key of"):
        check_auth({"type": "mtls", "cert_pem": cert, "key_pem": other_key})
    expired, expired_key = pki.issue("old", days=-1, start_days=-10)
    with pytest.raises(InvalidAuthError, match="not valid now"):
        check_auth({"type": "mtls", "cert_pem": expired, "key_pem": expired_key})
    with pytest.raises(InvalidAuthError, match="private key"):
        check_auth({"type": "mtls", "cert_pem": cert, "key_pem": cert})


def test_secrets_are_stored_encrypted_and_never_shown(sender: Sender) -> None:
    from hookseal_sender.api import create_app
    from starlette.testclient import TestClient

    value = "Bearer tok_" + "s3cr3t" * 4
    ep = sender.create_endpoint("t1", "http://127.0.0.1:9/h", allow_local=True,
                                auth={"type": "static", "authorization": value}).endpoint
    assert ep.auth == {"type": "static"}
    assert value not in json.dumps(sender.get_endpoint("t1", ep.id).to_dict())
    client = TestClient(create_app(sender, {"sk_test": "ci"}))
    listing = client.get("/v1/tenants/t1/endpoints", headers={"Authorization": "Bearer sk_test"})
    assert listing.status_code == 200 and value not in listing.text
    raw = sender.store._read("SELECT secret_enc FROM endpoint_keys")  # type: ignore[attr-defined]
    assert raw and all(value not in r[0] and "s3cr3t" not in r[0] for r in raw)


def test_an_oauth_token_url_passes_the_destination_checks(sender: Sender) -> None:
    from hookseal_sender import DestinationRefusedError

    with pytest.raises(DestinationRefusedError, match=r"auth\.token_url"):
        sender.create_endpoint("t1", "https://hooks.example.com/a", auth={
            "type": "oauth", "token_url": "https://169.254.169.254/token", "client_id": "c",
            "client_secret": "s"})


# -- static --------------------------------------------------------------------------------
def test_a_static_value_goes_on_every_attempt_and_can_be_replaced(
        sender: Sender, receiver: Receiver, worker: Any) -> None:
    expected = {"value": "Bearer first"}

    def check(r: Received) -> int:
        return 200 if r.headers.get("Authorization") == expected["value"] else 401

    url = receiver.route("/h", fn=check)
    ep = sender.create_endpoint("t1", url, allow_local=True, event_types=["invoice.paid"],
                                auth={"type": "static", "authorization": "Bearer first"}).endpoint
    first = sender.send("t1", "invoice.paid", example())
    worker()
    wait_for(lambda: sender.get_delivery("t1", first.deliveries[0][0]).status == "delivered")
    expected["value"] = "Basic c2Vjb25k"
    sender.update_endpoint("t1", ep.id, auth={"type": "static", "authorization": "Basic c2Vjb25k"})
    second = sender.send("t1", "invoice.paid", example())
    wait_for(lambda: sender.get_delivery("t1", second.deliveries[0][0]).status == "delivered")
    assert [r.headers["Authorization"] for r in receiver.requests("/h")][-1] == "Basic c2Vjb25k"
    sender.update_endpoint("t1", ep.id, auth=None)
    assert sender.get_endpoint("t1", ep.id).auth is None
    third = sender.send("t1", "invoice.paid", example())
    wait_for(lambda: sender.get_delivery("t1", third.deliveries[0][0]).status == "failed")
    assert "Authorization" not in receiver.requests("/h")[-1].headers


# -- OAuth ---------------------------------------------------------------------------------
class TokenServer:
    """An OAuth token endpoint (client credentials, HTTP Basic) and a hook that accepts
    only its live tokens."""

    def __init__(self, receiver: Receiver, expires_in: float = 3600) -> None:
        self.receiver = receiver
        self.expires_in = expires_in
        self.live: set[str] = set()
        self.requests: list[Received] = []
        self.fail = False
        self.token_url = receiver.route("/token", fn=self.token)
        self.hook_url = receiver.route("/hook", fn=self.hook)

    def token(self, r: Received) -> Any:
        self.requests.append(r)
        if self.fail:
            return 500
        import base64

        if r.headers.get("Authorization") != "Basic " + base64.b64encode(b"cid:cs_1").decode():
            return web.json_response({"error": "invalid_client"}, status=401)
        if b"grant_type=client_credentials" not in r.body or b"scope=hooks" not in r.body:
            return web.json_response({"error": "invalid_request"}, status=400)
        token = f"tok_{len(self.requests)}"
        self.live.add(token)
        return web.json_response({"access_token": token, "token_type": "Bearer",
                                  "expires_in": self.expires_in})

    def hook(self, r: Received) -> int:
        auth = r.headers.get("Authorization", "")
        return 200 if auth.startswith("Bearer ") and auth[7:] in self.live else 401


@pytest.fixture
def oauth(sender: Sender, receiver: Receiver) -> Iterator[tuple[TokenServer, str]]:
    server = TokenServer(receiver)
    ep = sender.create_endpoint(
        "t1", server.hook_url, allow_local=True, event_types=["invoice.paid"],
        retry_schedule=[0.05, 0.05, 0.05],
        auth={"type": "oauth", "token_url": server.token_url, "client_id": "cid",
              "client_secret": "cs_1", "scope": "hooks"}).endpoint
    assert ep.auth == {"type": "oauth", "token_url": server.token_url, "client_id": "cid",
                       "scope": "hooks", "audience": None}
    yield server, ep.id


def test_oauth_tokens_are_fetched_once_and_cached(sender: Sender, worker: Any,
                                                  oauth: tuple[TokenServer, str]) -> None:
    server, _ = oauth
    sent = [sender.send("t1", "invoice.paid", example()) for _ in range(5)]
    worker()
    for s in sent:
        wait_for(lambda s=s: sender.get_delivery("t1", s.deliveries[0][0]).status == "delivered")
    assert len(server.requests) == 1
    assert all(len(sender.get_delivery("t1", s.deliveries[0][0]).attempts) == 1 for s in sent)


def test_a_revoked_token_is_replaced_once_within_the_attempt(
        sender: Sender, worker: Any, oauth: tuple[TokenServer, str]) -> None:
    server, _ = oauth
    first = sender.send("t1", "invoice.paid", example())
    worker()
    wait_for(lambda: sender.get_delivery("t1", first.deliveries[0][0]).status == "delivered")
    server.live.clear()  # revoked: the hook answers 401 to it
    second = sender.send("t1", "invoice.paid", example())
    wait_for(lambda: sender.get_delivery("t1", second.deliveries[0][0]).status == "delivered")
    assert len(server.requests) == 2
    assert len(sender.get_delivery("t1", second.deliveries[0][0]).attempts) == 1


def test_an_expiring_token_is_renewed_before_it_runs_out(
        sender: Sender, receiver: Receiver, worker: Any) -> None:
    server = TokenServer(receiver, expires_in=1)
    sender.create_endpoint(
        "t1", server.hook_url, allow_local=True, event_types=["invoice.paid"],
        auth={"type": "oauth", "token_url": server.token_url, "client_id": "cid",
              "client_secret": "cs_1", "scope": "hooks"})
    worker()
    first = sender.send("t1", "invoice.paid", example())
    wait_for(lambda: sender.get_delivery("t1", first.deliveries[0][0]).status == "delivered")
    fetched = time.time()
    wait_for(lambda: time.time() > fetched + 1.0, timeout=5)  # its life (less the margin) ran out
    second = sender.send("t1", "invoice.paid", example())
    wait_for(lambda: sender.get_delivery("t1", second.deliveries[0][0]).status == "delivered")
    assert len(server.requests) == 2


def test_a_failed_token_fetch_is_a_connection_failure_and_retried(
        sender: Sender, worker: Any, oauth: tuple[TokenServer, str]) -> None:
    server, _ = oauth
    server.fail = True
    sent = sender.send("t1", "invoice.paid", example())
    worker()
    did = sent.deliveries[0][0]
    wait_for(lambda: len(sender.get_delivery("t1", did).attempts) >= 1)
    attempt = sender.get_delivery("t1", did).attempts[0]
    assert (attempt.status_code, attempt.error, attempt.outcome) == (
        None, "connection_error", "retry")
    assert "OAuth token request failed" in attempt.response_body and "500" in attempt.response_body
    assert "cs_1" not in attempt.response_body
    server.fail = False
    wait_for(lambda: sender.get_delivery("t1", did).status == "delivered")


# -- mutual TLS ----------------------------------------------------------------------------
@pytest.fixture
def tls_receiver(pki: PKI) -> Iterator[Receiver]:
    r = Receiver(ssl_context=pki.server_context(require_client_cert=True)).start()
    yield r
    r.stop()


def test_mutual_tls_presents_the_client_certificate(
        sender: Sender, worker: Any, pki: PKI, tls_receiver: Receiver) -> None:
    url = tls_receiver.route("/h")
    cert, key = pki.issue("customer-7")
    sender.create_endpoint("t1", url, allow_local=True, event_types=["invoice.paid"],
                           tls_ca_pem=pki.ca_pem,
                           auth={"type": "mtls", "cert_pem": cert, "key_pem": key})
    sent = sender.send("t1", "invoice.paid", example())
    worker()
    wait_for(lambda: sender.get_delivery("t1", sent.deliveries[0][0]).status == "delivered")
    peer = tls_receiver.requests("/h")[0].peer_cert
    assert peer is not None and (("commonName", "customer-7"),) in peer["subject"]


def test_a_refused_handshake_reaches_nothing_and_says_why(
        sender: Sender, worker: Any, pki: PKI, tls_receiver: Receiver) -> None:
    """A server certificate not trusted, or a client certificate the server refuses, is a
    ``tls_error``; no client certificate at all fails too, and nothing is received."""
    url = tls_receiver.route("/h")
    strangers = make_pki("Another CA")
    cert, key = strangers.issue("customer-8")
    untrusted = sender.create_endpoint("t1", url, allow_local=True,
                                       event_types=["invoice.paid"]).endpoint
    refused = sender.create_endpoint("t1", url, allow_local=True, event_types=["invoice.paid"],
                                     tls_ca_pem=pki.ca_pem,
                                     auth={"type": "mtls", "cert_pem": cert, "key_pem": key})
    no_cert = sender.create_endpoint("t1", url, allow_local=True, event_types=["invoice.paid"],
                                     tls_ca_pem=pki.ca_pem).endpoint
    sent = sender.send("t1", "invoice.paid", example())
    worker()
    by_endpoint = dict((e, d) for d, e in sent.deliveries)
    errors = {}
    for ep in (untrusted, refused.endpoint, no_cert):
        did = by_endpoint[ep.id]
        wait_for(lambda did=did: sender.get_delivery("t1", did).attempts)
        errors[ep.id] = sender.get_delivery("t1", did).attempts[0].error
    assert errors[untrusted.id] == errors[refused.endpoint.id] == "tls_error"
    assert errors[no_cert.id] in ("tls_error", "connection_error")
    assert tls_receiver.requests("/h") == []


def test_tls_ca_pem_needs_local_destinations(sender: Sender, pki: PKI) -> None:
    with pytest.raises(InvalidRequestError, match="testing only"):
        sender.create_endpoint("t1", "https://hooks.example.com/a", tls_ca_pem=pki.ca_pem)
