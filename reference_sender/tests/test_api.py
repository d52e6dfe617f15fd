"""The admin HTTP API: auth, tenant scoping, operations, OpenAPI schema, portal mount."""

from __future__ import annotations

from typing import Any

import pytest
from hookseal_sender import Sender
from hookseal_sender.api import create_app, openapi_schema
from hookseal_sender.catalog import _catalog
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

KEY = "sk_test_provider"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def client(sender: Sender) -> TestClient:
    portal = Route("/", lambda request: PlainTextResponse("portal home"))
    app = create_app(sender, {KEY: "provider-ci"}, mounts=[Mount("/portal", routes=[portal])])
    return TestClient(app)


def example() -> dict[str, Any]:
    return _catalog().example("invoice.paid")  # type: ignore[no-any-return]


def test_openapi_schema_is_valid_and_complete(client: TestClient) -> None:
    from openapi_spec_validator import validate

    spec = client.get("/openapi.json").json()
    validate(spec)
    assert spec == openapi_schema()
    app_routes = {(m, r.path) for r in client.app.routes  # type: ignore[attr-defined]
                  if isinstance(r, Route) and r.path.startswith("/v1/")
                  for m in (r.methods or ()) if m != "HEAD"}
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert app_routes <= documented and len(app_routes) >= 15


def test_auth_required(client: TestClient) -> None:
    assert client.get("/v1/tenants/t1/endpoints").status_code == 401
    bad = client.get("/v1/tenants/t1/endpoints", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["error"] == "unauthorized"


def test_endpoint_lifecycle_and_isolation(client: TestClient) -> None:
    r = client.post("/v1/tenants/alice/endpoints", headers=AUTH,
                    json={"url": "https://hooks.example.com/a", "signing": "both"})
    assert r.status_code == 201, r.text
    body = r.json()
    eid = body["endpoint"]["id"]
    assert body["secret"].startswith("whsec_") and body["public_key"].startswith("whpk_")
    got = client.get(f"/v1/tenants/alice/endpoints/{eid}", headers=AUTH).json()
    assert "secret" not in str(got["endpoint"]) and got["public_keys"] == [body["public_key"]]
    refused = client.post("/v1/tenants/alice/endpoints", headers=AUTH,
                          json={"url": "https://169.254.169.254/"})
    assert refused.status_code == 422 and refused.json()["error"] == "destination_refused"
    sent = client.post("/v1/tenants/alice/events", headers=AUTH,
                       json={"type": "invoice.paid", "data": example()})
    assert sent.status_code == 202
    did = sent.json()["deliveries"][0]["delivery_id"]
    bad = client.post("/v1/tenants/alice/events", headers=AUTH,
                      json={"type": "invoice.paid", "data": {"x": 1}})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_payload"
    # Bob (another tenant, same provider key) sees and touches nothing of Alice's.
    for method, path in [
        ("GET", f"/v1/tenants/bob/endpoints/{eid}"),
        ("PATCH", f"/v1/tenants/bob/endpoints/{eid}"),
        ("DELETE", f"/v1/tenants/bob/endpoints/{eid}"),
        ("POST", f"/v1/tenants/bob/endpoints/{eid}/rotate"),
        ("POST", f"/v1/tenants/bob/endpoints/{eid}/pause"),
        ("POST", f"/v1/tenants/bob/endpoints/{eid}/ping"),
        ("POST", f"/v1/tenants/bob/endpoints/{eid}/cancel"),
        ("GET", f"/v1/tenants/bob/deliveries/{did}"),
        ("POST", f"/v1/tenants/bob/deliveries/{did}/replay"),
    ]:
        resp = client.request(method, path, headers=AUTH, json={"description": "x"})
        assert resp.status_code == 404, (method, path, resp.text)
    assert client.get("/v1/tenants/bob/endpoints", headers=AUTH).json() == {"endpoints": []}
    assert client.get("/v1/tenants/bob/deliveries", headers=AUTH).json()["deliveries"] == []
    # Alice's operations.
    patched = client.patch(f"/v1/tenants/alice/endpoints/{eid}", headers=AUTH,
                           json={"description": "billing"})
    assert patched.json()["endpoint"]["description"] == "billing"
    rot = client.post(f"/v1/tenants/alice/endpoints/{eid}/rotate", headers=AUTH,
                      json={"overlap_seconds": 60}).json()
    assert rot["secret"].startswith("whsec_")
    listed = client.get("/v1/tenants/alice/deliveries?status=pending", headers=AUTH).json()
    assert [d["id"] for d in listed["deliveries"]] == [did]
    cancelled = client.post(f"/v1/tenants/alice/endpoints/{eid}/cancel", headers=AUTH, json={})
    assert cancelled.json() == {"cancelled": 1}
    preview = client.post("/v1/tenants/alice/replays", headers=AUTH,
                          json={"status": ["cancelled"]}).json()
    assert preview["matched"] == 1 and preview["replayed"] == 0
    done = client.post("/v1/tenants/alice/replays", headers=AUTH,
                       json={"status": ["cancelled"], "confirm": True, "reason": "r"}).json()
    assert done["replayed"] == 1
    audit = client.get("/v1/tenants/alice/audit", headers=AUTH).json()["entries"]
    assert {e["actor"] for e in audit} == {"provider-ci"}
    assert client.get("/v1/tenants/bob/audit", headers=AUTH).json()["entries"] == []
    assert client.delete(f"/v1/tenants/alice/endpoints/{eid}", headers=AUTH).status_code == 200


def test_metrics_health_and_portal_mount(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"ok": True}
    assert "hookseal_queue_depth" in client.get("/metrics", headers=AUTH).text
    assert client.get("/portal/").text == "portal home"


def test_metrics_need_a_key_because_they_name_every_tenants_endpoints(sender: Sender) -> None:
    """Regression: /metrics was open on the portal's port and listed endpoint ids."""
    client = TestClient(create_app(sender, {KEY: "ci"}, metrics_keys=["hsm_prometheus"]))
    eid = client.post("/v1/tenants/alice/endpoints", headers=AUTH,
                      json={"url": "https://hooks.example.com/a"}).json()["endpoint"]["id"]
    client.post(f"/v1/tenants/alice/endpoints/{eid}/ping", headers=AUTH)
    sender.metrics.child(sender.metrics.enqueued, "test.ping")  # a labelled child exists
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic aHNtOng="}):
        r = client.get("/metrics", headers=headers)
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        assert "hookseal_" not in r.text
    for key in ("hsm_prometheus", KEY):
        r = client.get("/metrics", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200 and "hookseal_queue_depth" in r.text
    assert openapi_schema()["paths"]["/metrics"]["get"]["security"] == [{"apiKey": []}]


def test_request_bodies_are_capped(sender: Sender) -> None:
    """Regression: authenticated bodies had no size limit (twenty 10 MB bodies grew the
    process by 400 MB). Over the cap: 413 body_too_large, declared or chunked."""
    client = TestClient(create_app(sender, {KEY: "ci"}, max_body_bytes=1000))
    url = "/v1/tenants/alice/endpoints"
    ok = client.post(url, headers=AUTH, json={"url": "https://hooks.example.com/a",
                                              "description": "x" * 800})
    assert ok.status_code == 201, ok.text
    big = client.post(url, headers=AUTH, json={"url": "https://hooks.example.com/a",
                                               "description": "x" * 2000})
    assert big.status_code == 413 and big.json()["error"] == "body_too_large"
    assert "1000 bytes" in big.json()["detail"]

    def chunks() -> Any:  # no Content-Length: counted as it arrives
        yield b'{"url": "https://hooks.example.com/a", "description": "'
        for _ in range(50):
            yield b"y" * 100
        yield b'"}'

    chunked = client.post(url, headers={**AUTH, "Content-Type": "application/json"},
                          content=chunks())
    assert chunked.status_code == 413 and chunked.json()["error"] == "body_too_large"
    # Nothing over the cap was created, and the cap holds for unauthenticated requests too.
    assert len(client.get(url, headers=AUTH).json()["endpoints"]) == 1
    assert client.post(url, content=b"x" * 5000).status_code == 413


def test_deep_json_and_bad_times_are_400_not_500(client: TestClient) -> None:
    """Regression: deeply nested JSON was a 500 (RecursionError)."""
    for depth in (65, 100_000):
        r = client.post("/v1/tenants/alice/events", headers=AUTH,
                        content=b"[" * depth + b"]" * depth)
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "invalid_request" and "nests" in r.json()["detail"]
    # Found by the property test: limit=0 on an empty page was an IndexError, a 500.
    for query in ("limit=0", "limit=-1", "limit=501", "limit=x"):
        r = client.get(f"/v1/tenants/nobody/deliveries?{query}", headers=AUTH)
        assert r.status_code == 400 and "limit must be" in r.json()["detail"], r.text
    for query in ("since=nan", "since=inf", "until=-inf", "since=1e308", "until=abc"):
        r = client.get(f"/v1/tenants/alice/deliveries?{query}", headers=AUTH)
        assert r.status_code == 400, (query, r.text)
        assert r.json()["detail"].startswith(query.split("=")[0])


def test_bulk_replay_honours_the_limit(client: TestClient, sender: Sender) -> None:
    """Regression: a bulk replay with a limit replayed every matching delivery."""
    eid = client.post("/v1/tenants/alice/endpoints", headers=AUTH,
                      json={"url": "https://hooks.example.com/a"}).json()["endpoint"]["id"]
    for _ in range(7):
        client.post(f"/v1/tenants/alice/endpoints/{eid}/ping", headers=AUTH)
    client.post(f"/v1/tenants/alice/endpoints/{eid}/cancel", headers=AUTH, json={})
    body = {"status": ["cancelled"], "limit": 3}
    preview = client.post("/v1/tenants/alice/replays", headers=AUTH, json=body).json()
    assert (preview["matched"], preview["selected"], preview["replayed"]) == (7, 3, 0)
    done = client.post("/v1/tenants/alice/replays", headers=AUTH,
                       json={**body, "confirm": True}).json()
    assert done["replayed"] == 3
    live = sender.list_deliveries("alice", limit=100)
    assert sum(d.status == "pending" for d in live) == 3
    for bad in (0, -1, 10_001, 2.5, "3", True):
        r = client.post("/v1/tenants/alice/replays", headers=AUTH,
                        json={"status": ["cancelled"], "limit": bad})
        assert r.status_code == 400 and "limit" in r.json()["detail"], bad


def test_hostile_strings_are_400_not_500(client: TestClient) -> None:
    # On PostgreSQL a NUL used to reach the driver: an untyped DataError, a 500.
    nul = client.post("/v1/tenants/alice/endpoints", headers=AUTH,
                      json={"url": "https://hooks.example.com/a", "description": "a\u0000b"})
    assert nul.status_code == 400, nul.text
    assert nul.json()["error"] == "invalid_request" and "description" in nul.json()["detail"]
    prefix = client.post("/v1/tenants/alice/endpoints", headers=AUTH,
                         json={"url": "https://hooks.example.com/a", "header_prefix": "Bad Prefix"})
    assert prefix.status_code == 400 and "header_prefix" in prefix.json()["detail"]
    assert client.get("/v1/tenants/alice/endpoints", headers=AUTH).json() == {"endpoints": []}
    eid = client.post("/v1/tenants/alice/endpoints", headers=AUTH,
                      json={"url": "https://hooks.example.com/a"}).json()["endpoint"]["id"]
    patched = client.patch(f"/v1/tenants/alice/endpoints/{eid}", headers=AUTH,
                           json={"description": "a\u0000b"})
    assert patched.status_code == 400 and patched.json()["error"] == "invalid_request"
    sent = client.post("/v1/tenants/alice/events", headers=AUTH,
                       json={"type": "invoice.paid\u0000", "data": example()})
    assert sent.status_code == 400 and sent.json()["error"] == "invalid_request"
    replay = client.post("/v1/tenants/alice/replays", headers=AUTH,
                         json={"event_type": "a\u0000", "confirm": True})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_request"
    for path in ("/v1/tenants/t%00/endpoints", f"/v1/tenants/alice/endpoints/{eid}%00",
                 "/v1/tenants/alice/deliveries?event_type=a%00"):
        resp = client.get(path, headers=AUTH)
        assert resp.status_code == 400 and resp.json()["error"] == "invalid_request", (path, resp.text)


def test_event_types_and_pins_come_from_the_senders_catalog(client: TestClient) -> None:
    r = client.get("/v1/tenants/t1/event-types", headers=AUTH)
    assert r.status_code == 200, r.text
    rows = {row["type"]: row for row in r.json()["event_types"]}
    assert rows["payment.failed"] == {"type": "payment.failed", "current": 2, "served": [1, 2],
                                      "sunsets": {"1": "2027-05-31"}}
    assert "test.ping" not in rows
    r = client.post("/v1/tenants/t1/endpoints", headers=AUTH,
                    json={"url": "https://hooks.example.com/a",
                          "versions": {"payment.failed": 5}})
    assert r.status_code == 400 and r.json()["error"] == "invalid_version", r.text
    assert "the versions served are 1, 2" in r.json()["detail"]
    r = client.post("/v1/tenants/t1/endpoints", headers=AUTH,
                    json={"url": "https://hooks.example.com/a",
                          "versions": {"payment.failed": 1}})
    assert r.status_code == 201 and r.json()["endpoint"]["versions"] == {"payment.failed": 1}
def test_send_with_an_idempotency_key_in_the_header_or_the_body(
        client: TestClient, sender: Sender) -> None:
    sender.create_endpoint("t1", "https://hooks.example.com/a")
    url = "/v1/tenants/t1/events"
    body = {"type": "invoice.paid", "data": example()}
    first = client.post(url, json=body, headers={**AUTH, "Idempotency-Key": "order-7"})
    assert first.status_code == 202 and first.json()["replayed"] is False
    # The same key in the body is the same key; the answer is the first send's.
    again = client.post(url, json={**body, "idempotency_key": "order-7"}, headers=AUTH)
    assert again.status_code == 202 and again.json() == {**first.json(), "replayed": True}
    both = client.post(url, json={**body, "idempotency_key": "order-7"},
                       headers={**AUTH, "Idempotency-Key": "order-7"})
    assert both.status_code == 202 and both.json()["event_id"] == first.json()["event_id"]
    clash = client.post(url, json={**body, "data": {**example(), "paid_out_of_band": True}},
                        headers={**AUTH, "Idempotency-Key": "order-7"})
    assert clash.status_code == 409 and clash.json()["error"] == "idempotency_conflict"
    differ = client.post(url, json={**body, "idempotency_key": "a"},
                         headers={**AUTH, "Idempotency-Key": "b"})
    assert differ.status_code == 400 and "differ" in differ.json()["detail"]
    too_long = client.post(url, json=body, headers={**AUTH, "Idempotency-Key": "k" * 256})
    assert too_long.status_code == 400 and too_long.json()["error"] == "invalid_request"
    wrong_type = client.post(url, json={**body, "idempotency_key": 5}, headers=AUTH)
    assert wrong_type.status_code == 400
    plain = client.post(url, json=body, headers=AUTH).json()
    assert "replayed" not in plain and plain["event_id"] != first.json()["event_id"]
    assert len(sender.list_deliveries("t1")) == 2


def test_the_openapi_document_describes_the_idempotency_key() -> None:
    op = openapi_schema()["paths"]["/v1/tenants/{tenant}/events"]["post"]
    header = [p for p in op["parameters"] if p["in"] == "header"]
    assert [p["name"] for p in header] == ["Idempotency-Key"]
    assert header[0]["schema"]["maxLength"] == 255
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["idempotency_key"]["maxLength"] == 255
    assert "409" in op["responses"]
def test_batches_read_and_replayed_as_one(client: TestClient, sender: Sender, receiver: Any,
                                          worker: Any) -> None:
    from .conftest import wait_for

    sender.create_endpoint("alice", receiver.route("/batch"), allow_local=True,
                           batch={"max_events": 2, "max_wait": 30})
    dids = [sender.send("alice", "invoice.paid", example()).deliveries[0][0] for _ in range(2)]
    worker()
    wait_for(lambda: all(sender.get_delivery("alice", d).status == "delivered" for d in dids))
    got = client.get(f"/v1/tenants/alice/deliveries/{dids[0]}", headers=AUTH).json()
    batch_id = got["delivery"]["batch_id"]
    assert batch_id.startswith("bat_")
    b = client.get(f"/v1/tenants/alice/batches/{batch_id}", headers=AUTH).json()["batch"]
    assert b["delivery_ids"] == dids and b["status"] == "delivered"
    assert client.get(f"/v1/tenants/bob/batches/{batch_id}", headers=AUTH).status_code == 404
    assert client.post(f"/v1/tenants/bob/batches/{batch_id}/replay", headers=AUTH,
                       json={}).status_code == 404
    r = client.post(f"/v1/tenants/alice/batches/{batch_id}/replay", headers=AUTH,
                    json={"reason": "lost"})
    assert r.status_code == 202 and r.json()["batch"]["id"] == batch_id
    wait_for(lambda: len(receiver.requests("/batch")) == 2)
    assert receiver.requests("/batch")[1].headers["Hookseal-Webhook-Id"] == batch_id
