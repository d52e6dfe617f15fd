"""Tests for hookseal.integrations.fastapi and .starlette, with their TestClient."""

from __future__ import annotations

import threading
from typing import Any

import hookseal
import pytest
from hookseal.idempotency import MemoryIdempotencyStore, ProcessOnce
from receiving_fixtures import (
    SECRET,
    assert_problem,
    event_body,
    rejection_cases,
    signed,
)

fastapi = pytest.importorskip("fastapi", reason="needs hookseal[fastapi]")
from fastapi import Depends, FastAPI, Request  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from hookseal.integrations.fastapi import VerifiedEvent, install  # noqa: E402
from hookseal.integrations.starlette import webhook_endpoint  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.responses import JSONResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402


def make_app(once: ProcessOnce | None = None, *, status: int = 200) -> tuple[FastAPI, list[Any]]:
    seen: list[Any] = []
    app = FastAPI()
    install(app)
    verified = VerifiedEvent(hookseal.Webhook(SECRET), once=once)

    @app.post("/webhooks")
    async def webhooks(request: Request, event: dict = Depends(verified)) -> Any:  # type: ignore[type-arg]  # noqa: B008
        seen.append(event)
        if status >= 500:
            raise RuntimeError("handler crashed")
        assert request.state.hookseal_event is event
        return {"received": event["id"]}

    return app, seen


def test_verified_event_reaches_the_handler() -> None:
    app, seen = make_app()
    body = event_body()
    with TestClient(app) as client:
        r = client.post("/webhooks", content=body, headers=signed(body))
    assert r.status_code == 200 and r.json() == {"received": "evt_1"}
    assert seen == [{"id": "evt_1", "type": "test.ping", "created_at": "2026-11-23T12:00:00Z",
                     "data": {"message": "hello"}}]


@pytest.mark.parametrize("case", rejection_cases(), ids=lambda c: c[0])
def test_rejections_answer_a_problem_and_never_run_the_handler(case: Any) -> None:
    _, body, headers, status, code = case
    app, seen = make_app()
    with TestClient(app) as client:
        r = client.post("/webhooks", content=body, headers=headers)
    assert_problem(r.status_code, r.headers["content-type"], r.json(), status, code)
    assert seen == []


def test_without_install_the_status_is_still_right() -> None:
    app = FastAPI()
    verified = VerifiedEvent(hookseal.Webhook(SECRET))

    @app.post("/webhooks")
    async def webhooks(event: dict = Depends(verified)) -> Any:  # type: ignore[type-arg]  # noqa: B008
        raise AssertionError("must not run")

    with TestClient(app) as client:
        r = client.post("/webhooks", content=b"{}", headers={})
    assert r.status_code == 400
    assert r.json()["detail"]["code"] == "missing_header"


def test_standard_webhooks_profile() -> None:
    secret = hookseal.generate_secret()
    app = FastAPI()
    install(app)
    verified = VerifiedEvent(hookseal.Webhook(secret, profile="standard-webhooks"))

    @app.post("/webhooks")
    async def webhooks(event: dict = Depends(verified)) -> Any:  # type: ignore[type-arg]  # noqa: B008
        return {"received": event["id"]}

    body = event_body()
    with TestClient(app) as client:
        ok = client.post("/webhooks", content=body,
                         headers=signed(body, secret=secret, profile="standard-webhooks"))
        bad = client.post("/webhooks", content=body + b" ",
                          headers=signed(body, secret=secret, profile="standard-webhooks"))
    assert ok.status_code == 200
    assert bad.status_code == 401 and bad.json()["code"] == "signature_mismatch"


def test_once_runs_a_delivery_once_and_answers_duplicates_2xx() -> None:
    app, seen = make_app(ProcessOnce(MemoryIdempotencyStore()))
    body = event_body()
    with TestClient(app) as client:
        first = client.post("/webhooks", content=body, headers=signed(body))
        again = client.post("/webhooks", content=body, headers=signed(body))  # a retry: re-signed
    assert first.status_code == 200
    assert again.status_code == 200 and again.json() == {"status": "duplicate",
                                                         "delivery_id": "evt_1"}
    assert len(seen) == 1


def test_once_releases_the_claim_when_the_handler_fails() -> None:
    once = ProcessOnce(MemoryIdempotencyStore())
    app, seen = make_app(once, status=500)
    body = event_body()
    with TestClient(app, raise_server_exceptions=False) as client:
        r1 = client.post("/webhooks", content=body, headers=signed(body))
        r2 = client.post("/webhooks", content=body, headers=signed(body))
    assert r1.status_code == 500 and r2.status_code == 500
    assert len(seen) == 2  # the retry ran again: the failed claim was released


def test_once_answers_503_while_another_worker_holds_the_id() -> None:
    once = ProcessOnce(MemoryIdempotencyStore(), lease=60)
    held = once.claim("evt_1")
    assert held.acquired
    app, seen = make_app(once)
    body = event_body()
    with TestClient(app) as client:
        r = client.post("/webhooks", content=body, headers=signed(body))
    assert r.status_code == 503 and r.json()["code"] == "delivery_in_progress"
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert seen == []


def test_starlette_webhook_endpoint_sync_and_async_handlers() -> None:
    seen: list[str] = []
    once = ProcessOnce(MemoryIdempotencyStore())

    def sync_handler(request: Any, event: dict[str, Any]) -> Response:
        seen.append("sync:" + event["id"])
        return JSONResponse({"ok": True})

    async def async_handler(request: Any, event: dict[str, Any]) -> Response:
        seen.append("async:" + event["id"])
        return JSONResponse({"ok": False}, status_code=500)

    wh = hookseal.Webhook(SECRET)
    app = Starlette(routes=[
        Route("/sync", webhook_endpoint(wh, sync_handler, once=once), methods=["POST"]),
        Route("/async", webhook_endpoint(wh, async_handler), methods=["POST"]),
    ])
    body = event_body("evt_s")
    with TestClient(app) as client:
        assert client.post("/sync", content=body, headers=signed(body)).status_code == 200
        assert client.post("/sync", content=body, headers=signed(body)).json()["status"] == \
            "duplicate"
        assert client.post("/async", content=body, headers=signed(body)).status_code == 500
        bad = client.post("/async", content=body, headers={})
    assert bad.status_code == 400 and bad.json()["code"] == "missing_header"
    assert seen == ["sync:evt_s", "async:evt_s"]


def test_concurrent_deliveries_through_fastapi_run_the_handler_once() -> None:
    # The first request's handler blocks until the second has been answered.
    once = ProcessOnce(MemoryIdempotencyStore())
    started, release = threading.Event(), threading.Event()
    runs: list[str] = []
    app = FastAPI()
    install(app)
    verified = VerifiedEvent(hookseal.Webhook(SECRET), once=once)

    @app.post("/webhooks")
    def webhooks(event: dict = Depends(verified)) -> Any:  # type: ignore[type-arg]  # noqa: B008
        runs.append(event["id"])
        started.set()
        assert release.wait(timeout=10)
        return {"ok": True}

    body = event_body("evt_c")
    results: dict[str, int] = {}
    with TestClient(app) as client:
        t = threading.Thread(target=lambda: results.setdefault(
            "first", client.post("/webhooks", content=body, headers=signed(body)).status_code))
        t.start()
        assert started.wait(timeout=10)
        second = client.post("/webhooks", content=body, headers=signed(body))
        release.set()
        t.join(timeout=10)
        third = client.post("/webhooks", content=body, headers=signed(body))
    assert results["first"] == 200
    assert second.status_code == 503
    assert third.status_code == 200 and third.json()["status"] == "duplicate"
    assert runs == ["evt_c"]


def test_typed_yields_the_generated_model_and_refuses_a_misfit_body() -> None:
    models = pytest.importorskip("hookseal.models", reason="needs hookseal[models]")
    catalog = pytest.importorskip("hookseal_catalog.catalog", reason="needs hookseal-catalog")
    import json

    app = FastAPI()
    install(app)
    once = ProcessOnce(MemoryIdempotencyStore())
    verified = VerifiedEvent(hookseal.Webhook(SECRET), once=once, typed=True)
    seen: list[Any] = []

    @app.post("/webhooks")
    async def webhooks(event: Any = Depends(verified)) -> Any:  # noqa: B008
        seen.append(event)
        return {"customer": event.data.invoice.customer_id}

    envelope = catalog.load_catalog().example_envelope("invoice.paid")
    body = json.dumps(envelope).encode()
    misfit = json.dumps({**envelope, "id": "evt_misfit0001", "data": {}}).encode()
    with TestClient(app) as client:
        ok = client.post("/webhooks", content=body, headers=signed(body))
        bad = client.post("/webhooks", content=misfit, headers=signed(misfit))
        again = client.post("/webhooks", content=misfit, headers=signed(misfit))
    assert ok.status_code == 200
    assert ok.json() == {"customer": envelope["data"]["invoice"]["customer_id"]}
    assert isinstance(seen[0], models.InvoicePaidV1Event)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_payload"
    assert again.status_code == 400  # no claim was left behind by the misfit
    assert len(seen) == 1
