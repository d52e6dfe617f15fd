"""Tests for hookseal.integrations.wsgi around a bare WSGI app, with Werkzeug's test client."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import hookseal
import pytest
from hookseal.idempotency import MemoryIdempotencyStore, ProcessOnce
from receiving_fixtures import SECRET, assert_problem, event_body, rejection_cases, signed

werkzeug = pytest.importorskip("werkzeug", reason="the WSGI tests use Werkzeug's test client")
from hookseal.integrations.wsgi import HooksealWSGIMiddleware, environ_headers  # noqa: E402
from werkzeug.test import Client  # noqa: E402


class Recorder:
    def __init__(self, status: str = "200 OK") -> None:
        self.calls: list[dict[str, Any]] = []
        self.status = status

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.calls.append({"body": body, "event": environ.get("hookseal.event")})
        start_response(self.status, [("Content-Type", "application/json")])
        return [json.dumps({"echo": len(body)}).encode()]


def test_verified_request_reaches_the_app_with_its_raw_body() -> None:
    inner = Recorder()
    client = Client(HooksealWSGIMiddleware(inner, hookseal.Webhook(SECRET), paths=["/webhooks"]))
    body = event_body()
    r = client.post("/webhooks", data=body, headers=signed(body))
    assert r.status_code == 200 and r.get_json() == {"echo": len(body)}
    assert inner.calls[0]["body"] == body and inner.calls[0]["event"]["id"] == "evt_1"
    assert client.get("/health").status_code == 200  # other paths pass through


@pytest.mark.parametrize("case", rejection_cases(), ids=lambda c: c[0])
def test_rejections_answer_a_problem_and_never_reach_the_app(case: Any) -> None:
    _, body, headers, status, code = case
    inner = Recorder()
    client = Client(HooksealWSGIMiddleware(inner, hookseal.Webhook(SECRET)))
    r = client.post("/webhooks", data=body, headers=headers)
    assert_problem(r.status_code, r.headers["Content-Type"], r.get_json(), status, code)
    assert inner.calls == []


def test_oversized_body_is_answered_413() -> None:
    inner = Recorder()
    client = Client(HooksealWSGIMiddleware(inner, hookseal.Webhook(SECRET), max_body=10))
    body = event_body()
    r = client.post("/webhooks", data=body, headers=signed(body))
    assert r.status_code == 413 and inner.calls == []


def test_once_completes_on_2xx_and_releases_otherwise() -> None:
    body = event_body()
    ok = Recorder()
    client = Client(HooksealWSGIMiddleware(ok, hookseal.Webhook(SECRET),
                                           once=ProcessOnce(MemoryIdempotencyStore())))
    assert client.post("/w", data=body, headers=signed(body), buffered=True).status_code == 200
    dup = client.post("/w", data=body, headers=signed(body), buffered=True)
    assert dup.status_code == 200 and dup.get_json()["status"] == "duplicate"
    assert len(ok.calls) == 1

    failing = Recorder("500 Internal Server Error")
    client2 = Client(HooksealWSGIMiddleware(failing, hookseal.Webhook(SECRET),
                                            once=ProcessOnce(MemoryIdempotencyStore())))
    assert client2.post("/w", data=body, headers=signed(body), buffered=True).status_code == 500
    assert client2.post("/w", data=body, headers=signed(body), buffered=True).status_code == 500
    assert len(failing.calls) == 2


def test_environ_headers_rebuilds_dashed_lower_case_names() -> None:
    environ = {"HTTP_HOOKSEAL_SIGNATURE": "t=1,v1=ab", "CONTENT_TYPE": "application/json",
               "CONTENT_LENGTH": "", "wsgi.input": None}
    assert sorted(environ_headers(environ)) == [
        ("content-type", "application/json"), ("hookseal-signature", "t=1,v1=ab")]


def test_delivery_id_prefers_the_signed_body_id_then_the_profile_header() -> None:
    from hookseal.integrations._common import delivery_id

    v1 = hookseal.Webhook(SECRET)
    assert delivery_id(v1, {"id": "evt_body"}, {"Hookseal-Webhook-Id": "dlv_h"}) == "evt_body"
    assert delivery_id(v1, {}, [("hookseal-webhook-id", "dlv_h")]) == "dlv_h"
    acme = hookseal.Webhook(SECRET, header_prefix="Acme")
    assert delivery_id(acme, {}, {"Acme-Webhook-Id": "dlv_a", "Hookseal-Webhook-Id": "x"}) == \
        "dlv_a"
    sw = hookseal.Webhook(hookseal.generate_secret(), profile="standard-webhooks")
    assert delivery_id(sw, {}, {"webhook-id": "msg_1"}) == "msg_1"
    assert delivery_id(sw, {"id": 5}, {}) is None
