"""The conformance sender adapter speaks the documented JSON-lines protocol."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import hookseal
import pytest
from hookseal_sender.catalog import _catalog as load_catalog

from ._receiver import Receiver
from .conftest import wait_for


class Proc:
    def __init__(self) -> None:
        self.p = subprocess.Popen(
            [sys.executable, "-m", "hookseal_sender.adapter"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, bufsize=1,
        )

    def ask(self, req: Any) -> dict[str, Any]:
        assert self.p.stdin and self.p.stdout
        self.p.stdin.write((req if isinstance(req, str) else json.dumps(req)) + "\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def adapter() -> Iterator[Proc]:
    proc = Proc()
    yield proc
    if proc.p.poll() is None:
        proc.p.kill()


def example() -> dict[str, Any]:
    return load_catalog().example("invoice.paid")


def test_hello(adapter: Proc) -> None:
    resp = adapter.ask({"op": "hello"})
    assert resp["ok"] is True and resp["name"] == "hookseal-sender"
    assert resp["profiles"] == ["hookseal-v1", "standard-webhooks"]
    assert resp["signing"] == ["hmac", "ed25519", "both"]
    # The optional features of ADAPTER.md it implements (each checked by the suite).
    assert {"filters", "headers", "redaction", "rate_limit"} <= set(resp["features"])
    assert "versions" in resp["features"]


def test_a_pin_the_catalog_does_not_serve_is_invalid_version(adapter: Proc) -> None:
    url = "http://127.0.0.1:9/x"
    for pins in ({"payment.failed": 9}, {"payment.failed": 0}, {"no.such": 1}):
        answer = adapter.ask({"op": "create_endpoint", "tenant": "pins", "url": url,
                              "allow_local": True, "versions": pins})
        assert answer["error"] == "invalid_version", answer
    assert adapter.ask({"op": "create_endpoint", "tenant": "pins", "url": url,
                        "allow_local": True, "versions": {"payment.failed": 1}})["ok"]


def test_errors_never_crash(adapter: Proc) -> None:
    assert adapter.ask({"op": "nope"})["error"] == "unknown_op"
    assert adapter.ask("not json")["error"] == "invalid_request"
    assert adapter.ask([1, 2])["error"] == "invalid_request"
    assert adapter.ask({"op": "create_endpoint", "url": 5})["error"] == "invalid_request"
    assert adapter.ask({"op": "get_delivery", "delivery_id": "x"})["ok"] is False
    refused = adapter.ask({"op": "create_endpoint", "tenant": "t1",
                           "url": "https://169.254.169.254/latest"})
    assert refused == {"ok": False, "error": "destination_refused", "detail": refused["detail"]}
    local = adapter.ask({"op": "create_endpoint", "tenant": "t1", "url": "http://127.0.0.1:1/x"})
    assert local["error"] == "destination_refused"


def test_send_retry_and_deliver(adapter: Proc, receiver: Receiver) -> None:
    url = receiver.route("/flaky", statuses=[503, 503, 200])
    ep = adapter.ask({"op": "create_endpoint", "tenant": "t1", "url": url, "allow_local": True,
                      "event_types": ["invoice.paid"], "retry_schedule": [0.2, 0.2, 0.2],
                      "timeout": 2.0, "signing": "both"})
    assert ep["ok"] and ep["secret"].startswith("whsec_") and ep["public_key"].startswith("whpk_")
    bad = adapter.ask({"op": "send", "tenant": "t1", "type": "invoice.paid", "data": {"x": 1}})
    assert bad["error"] == "invalid_payload"
    sent = adapter.ask({"op": "send", "tenant": "t1", "type": "invoice.paid", "data": example()})
    assert sent["ok"] and len(sent["deliveries"]) == 1
    did = sent["deliveries"][0]["delivery_id"]

    def done() -> Any:
        d = adapter.ask({"op": "get_delivery", "delivery_id": did})["delivery"]
        return d if d["status"] == "delivered" else None

    d = wait_for(done, 10)
    assert [a["status_code"] for a in d["attempts"]] == [503, 503, 200]
    assert d["attempts"][1]["at"] - d["attempts"][0]["at"] >= 0.2
    assert d["next_attempt_at"] is None
    # Each attempt reports what it records of the response (contract 4; ADAPTER.md).
    assert all(isinstance(a["response_headers"], dict) and a["response_headers"] and
               isinstance(a["response_body"], str) for a in d["attempts"]), d["attempts"]
    for req in receiver.requests("/flaky"):
        # The webhook id is the event id, the envelope's own id (contract 2.1 and 4).
        assert req.headers["Hookseal-Webhook-Id"] == sent["event_id"] == json.loads(req.body)["id"]
        hookseal.Webhook(ep["secret"]).verify(req.body, req.headers)
        hookseal.Webhook(ep["public_key"]).verify(req.body, req.headers)


def test_rotation_sends_both(adapter: Proc, receiver: Receiver) -> None:
    url = receiver.route("/rot")
    ep = adapter.ask({"op": "create_endpoint", "tenant": "t2", "url": url, "allow_local": True,
                      "profile": "standard-webhooks"})
    rot = adapter.ask({"op": "rotate_secret", "endpoint_id": ep["endpoint_id"],
                       "overlap_seconds": 60})
    assert rot["ok"] and rot["overlap_ends_at"] > time.time() + 50
    sent = adapter.ask({"op": "send", "tenant": "t2", "type": "invoice.paid", "data": example()})
    wait_for(lambda: receiver.requests("/rot"))
    req = receiver.requests("/rot")[0]
    assert req.headers["webhook-id"] == sent["event_id"] == json.loads(req.body)["id"]
    for secret in (ep["secret"], rot["secret"]):
        hookseal.Webhook(secret, profile="standard-webhooks").verify(req.body, req.headers)


def test_rotation_without_overlap_takes_the_default(adapter: Proc) -> None:
    ep = adapter.ask({"op": "create_endpoint", "tenant": "t3", "url": "http://127.0.0.1:9/x",
                      "allow_local": True})
    before = time.time()
    rot = adapter.ask({"op": "rotate_secret", "endpoint_id": ep["endpoint_id"]})
    # Contract 4: the overlap is 24 h when none is asked for.
    assert before + 86400 - 2 <= rot["overlap_ends_at"] <= time.time() + 86400 + 2, rot


def test_shutdown_exits_zero() -> None:
    proc = Proc()
    assert proc.ask({"op": "shutdown"}) == {"ok": True}
    assert proc.p.wait(15) == 0


def test_idempotent_send(adapter: Proc) -> None:
    assert "idempotency" in adapter.ask({"op": "hello"})["features"]
    created = adapter.ask({"op": "create_endpoint", "tenant": "idem",
                           "url": "http://127.0.0.1:9/h", "allow_local": True})
    req = {"op": "send", "tenant": "idem", "type": "invoice.paid", "data": example(),
           "idempotency_key": "order-1842"}
    first = adapter.ask(req)
    assert first["ok"] and first["deliveries"][0]["endpoint_id"] == created["endpoint_id"]
    again = adapter.ask(req)
    assert (again["event_id"], again["deliveries"]) == (first["event_id"], first["deliveries"])
    clash = adapter.ask({**req, "data": {**example(), "paid_out_of_band": True}})
    assert clash["ok"] is False and clash["error"] == "idempotency_conflict"
    assert adapter.ask({**req, "idempotency_key": ""})["error"] == "invalid_request"
