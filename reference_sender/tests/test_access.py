"""Tests of _access.py: TLS contexts built once per distinct certificate and CA."""

from __future__ import annotations

import json

import pytest
from hookseal_sender import _access
from hookseal_sender._access import build_access
from hookseal_sender.models import Endpoint, EndpointKey

from ._pki import PKI, make_pki


@pytest.fixture(scope="module")
def pki() -> PKI:
    return make_pki()


def _mtls(pki: PKI, name: str) -> tuple[Endpoint, list[EndpointKey]]:
    cert, key = pki.issue(name)
    ep = Endpoint(id=f"ep_{name}", tenant_id="t1", url="https://hooks.example.com/h",
                  auth={"type": "mtls"}, tls_ca_pem=pki.ca_pem)
    secret = json.dumps({"cert_pem": cert, "key_pem": key})
    return ep, [EndpointKey(id=f"key_{name}", endpoint_id=ep.id, kind=_access.AUTH_KIND,
                            secret=secret, public_key=None, created_at=0.0)]


def test_loads_with_the_same_certificate_share_one_context(pki: PKI) -> None:
    ep, keys = _mtls(pki, "customer-1")
    first, again = build_access(ep, keys), build_access(ep, keys)
    assert first is not None and again is not None and first.ssl is not None
    assert again.ssl is first.ssl
    other_ep, other_keys = _mtls(pki, "customer-2")
    other = build_access(other_ep, other_keys)
    assert other is not None and other.ssl is not None and other.ssl is not first.ssl


def test_the_cache_is_bounded(pki: PKI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_access, "CONTEXT_CACHE", 2)
    monkeypatch.setattr(_access, "_contexts", type(_access._contexts)())
    loads = [_mtls(pki, f"bounded-{i}") for i in range(3)]
    first = build_access(*loads[0])
    for ep, keys in loads[1:]:
        build_access(ep, keys)
    assert len(_access._contexts) == 2
    again = build_access(*loads[0])  # dropped, least recently used: built anew
    assert first is not None and again is not None and again.ssl is not first.ssl
