"""Tests of portal/_auth_pages.py: a customer sets, replaces and removes its endpoint's
authentication; secrets are never shown back; another tenant's endpoint is not reachable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hookseal_sender import Sender
from starlette.testclient import TestClient

from ._pki import make_pki
from .portal_testing import login, make_client, make_sender


@pytest.fixture
def sender(tmp_path: Path) -> Iterator[Sender]:
    s = make_sender(tmp_path)
    yield s
    s.close()


@pytest.fixture
def client(sender: Sender) -> TestClient:
    return make_client(sender)


def test_set_replace_and_remove_authentication(client: TestClient, sender: Sender) -> None:
    ep = sender.create_endpoint("alice", "https://hooks.example.com/a").endpoint
    csrf = login(client, sender, "alice")
    assert "Signature only" in client.get(f"/portal/endpoints/{ep.id}").text
    r = client.post(f"/portal/endpoints/{ep.id}/auth", data={
        "csrf": csrf, "type": "static", "authorization": "Bearer portal_secret_1"})
    assert r.status_code == 303 and "notice=auth_set" in r.headers["location"]
    assert sender.get_endpoint("alice", ep.id).auth == {"type": "static"}
    for page in (client.get(f"/portal/endpoints/{ep.id}").text,
                 client.get(f"/portal/endpoints/{ep.id}/auth").text):
        assert "portal_secret_1" not in page and "Fixed" in page
    cert, key = make_pki().issue("acme-client")
    r = client.post(f"/portal/endpoints/{ep.id}/auth", data={
        "csrf": csrf, "type": "mtls", "cert_pem": cert, "key_pem": key})
    assert r.status_code == 303
    page = client.get(f"/portal/endpoints/{ep.id}/auth").text
    assert "CN=acme-client" in page and "PRIVATE KEY" not in page
    # A bad value keeps the page, says why and echoes no secret back.
    r = client.post(f"/portal/endpoints/{ep.id}/auth", data={
        "csrf": csrf, "type": "oauth", "token_url": "https://auth.example.com/t",
        "client_id": "cid", "client_secret": ""})
    assert r.status_code == 400 and "client_secret" in r.text
    assert sender.get_endpoint("alice", ep.id).auth["type"] == "mtls"  # type: ignore[index]
    r = client.post(f"/portal/endpoints/{ep.id}/auth", data={"csrf": csrf, "type": "none"})
    assert "notice=auth_removed" in r.headers["location"]
    assert sender.get_endpoint("alice", ep.id).auth is None


def test_the_auth_page_needs_csrf_and_stays_in_its_tenant(client: TestClient,
                                                          sender: Sender) -> None:
    theirs = sender.create_endpoint("bob", "https://hooks.example.com/b").endpoint
    mine = sender.create_endpoint("alice", "https://hooks.example.com/a").endpoint
    csrf = login(client, sender, "alice")
    assert client.get(f"/portal/endpoints/{theirs.id}/auth").status_code == 404
    r = client.post(f"/portal/endpoints/{theirs.id}/auth", data={
        "csrf": csrf, "type": "static", "authorization": "Bearer x"})
    assert r.status_code == 404 and sender.get_endpoint("bob", theirs.id).auth is None
    r = client.post(f"/portal/endpoints/{mine.id}/auth", data={
        "csrf": "forged", "type": "static", "authorization": "Bearer x"})
    assert r.status_code == 403 and sender.get_endpoint("alice", mine.id).auth is None
