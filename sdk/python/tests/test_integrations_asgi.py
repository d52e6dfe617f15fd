"""Tests for hookseal.integrations.asgi around a bare ASGI app and a Starlette app."""

from __future__ import annotations

import json
from typing import Any

import hookseal
import pytest
from hookseal.idempotency import MemoryIdempotencyStore, ProcessOnce
from receiving_fixtures import SECRET, assert_problem, event_body, rejection_cases, signed

pytest.importorskip("starlette", reason="the ASGI tests use Starlette's TestClient")
from hookseal.integrations.asgi import HooksealMiddleware
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient


class Recorder:
    """A bare ASGI app that records what reached it and echoes the body it read."""

    def __init__(self, status: int = 200) -> None:
        self.calls: list[dict[str, Any]] = []
        self.status = status

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        message = await receive()
        self.calls.append({"path": scope["path"], "body": message["body"],
                           "event": scope.get("state", {}).get("hookseal_event")})
        payload = json.dumps({"echo": len(message["body"])}).encode()
        await send({"type": "http.response.start", "status": self.status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})


def test_verified_request_reaches_the_app_with_its_raw_body() -> None:
    inner = Recorder()
    app = HooksealMiddleware(inner, hookseal.Webhook(SECRET), paths=["/webhooks"])
    body = event_body()
    with TestClient(app) as client:
        r = client.post("/webhooks", content=body, headers=signed(body))
        other = client.get("/health")  # not a webhook path: passed through unverified
    assert r.status_code == 200 and r.json() == {"echo": len(body)}
    assert inner.calls[0]["body"] == body
    assert inner.calls[0]["event"]["id"] == "evt_1"
    assert other.status_code == 200 and inner.calls[1]["path"] == "/health"


@pytest.mark.parametrize("case", rejection_cases(), ids=lambda c: c[0])
def test_rejections_answer_a_problem_and_never_reach_the_app(case: Any) -> None:
    _, body, headers, status, code = case
    inner = Recorder()
    app = HooksealMiddleware(inner, hookseal.Webhook(SECRET))
    with TestClient(app) as client:
        r = client.post("/anything", content=body, headers=headers)
    assert_problem(r.status_code, r.headers["content-type"], r.json(), status, code)
    assert inner.calls == []


def test_oversized_body_is_answered_413() -> None:
    inner = Recorder()
    app = HooksealMiddleware(inner, hookseal.Webhook(SECRET), max_body=10)
    body = event_body()
    with TestClient(app) as client:
        r = client.post("/webhooks", content=body, headers=signed(body))
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
    assert inner.calls == []


def test_once_completes_on_2xx_and_releases_otherwise() -> None:
    body = event_body()
    ok = Recorder()
    app = HooksealMiddleware(ok, hookseal.Webhook(SECRET), once=ProcessOnce(MemoryIdempotencyStore()))
    failing = Recorder(status=503)
    app2 = HooksealMiddleware(failing, hookseal.Webhook(SECRET), once=ProcessOnce(MemoryIdempotencyStore()))
    with TestClient(app) as client, TestClient(app2) as client2:
        assert client.post("/w", content=body, headers=signed(body)).status_code == 200
        dup = client.post("/w", content=body, headers=signed(body))
        assert client2.post("/w", content=body, headers=signed(body)).status_code == 503
        assert client2.post("/w", content=body, headers=signed(body)).status_code == 503
    assert dup.status_code == 200 and dup.json()["status"] == "duplicate"
    assert len(ok.calls) == 1
    assert len(failing.calls) == 2


def test_starlette_app_reads_the_event_from_request_state() -> None:
    async def endpoint(request: Request) -> JSONResponse:
        raw = await request.body()
        return JSONResponse({"id": request.state.hookseal_event["id"], "raw": len(raw)})

    inner = Starlette(routes=[Route("/webhooks", endpoint, methods=["POST"])])
    app = HooksealMiddleware(inner, hookseal.Webhook(SECRET), paths="/webhooks")
    body = event_body()
    with TestClient(app) as client:
        r = client.post("/webhooks", content=body, headers=signed(body))
    assert r.json() == {"id": "evt_1", "raw": len(body)}
