"""hookseal.integrations._tracing: a received delivery continues the sender's trace.

Real OpenTelemetry SDK, in-memory exporter; real framework test clients.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import hookseal
import pytest
from receiving_fixtures import SECRET, event_body, signed

pytest.importorskip("opentelemetry.sdk", reason="needs opentelemetry-sdk (a dev dependency)")
from hookseal.integrations import _tracing
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
PARENT_ID = 0x00F067AA0BA902B7
TRACEPARENT = f"00-{TRACE_ID:032x}-{PARENT_ID:016x}-01"

_EXPORTER = InMemorySpanExporter()
_PROVIDER = TracerProvider()
_PROVIDER.add_span_processor(SimpleSpanProcessor(_EXPORTER))


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    # The global provider can be set only once per process: set it if nobody did, and
    # always get spans from our own provider through the module's tracer lookup.
    original = trace.get_tracer_provider
    trace.get_tracer_provider = lambda: _PROVIDER  # type: ignore[assignment]
    original_get_tracer = trace.get_tracer
    trace.get_tracer = lambda name, *a, **kw: _PROVIDER.get_tracer(name, *a, **kw)  # type: ignore[assignment]
    _EXPORTER.clear()
    try:
        yield _EXPORTER
    finally:
        trace.get_tracer_provider = original  # type: ignore[assignment]
        trace.get_tracer = original_get_tracer  # type: ignore[assignment]


def traced(body: bytes, **extra: str) -> dict[str, str]:
    return {**signed(body), "traceparent": TRACEPARENT, **extra}


def by_name(exporter: InMemorySpanExporter) -> dict[str, Any]:
    return {span.name: span for span in exporter.get_finished_spans()}


def flask_app() -> Any:
    flask = pytest.importorskip("flask")
    from hookseal.integrations.flask import verify_webhook

    app = flask.Flask(__name__)

    @app.post("/webhooks")
    @verify_webhook(hookseal.Webhook(SECRET))
    def webhooks(event: dict[str, Any]) -> Any:
        with trace.get_tracer("handler").start_as_current_span("handle " + event["type"]):
            return {"received": event["id"]}

    return app


def test_flask_delivery_continues_the_senders_trace(spans: InMemorySpanExporter) -> None:
    body = event_body("evt_42", "invoice.paid")
    r = flask_app().test_client().post("/webhooks", data=body, headers=traced(body))
    assert r.status_code == 200
    found = by_name(spans)
    receive, handler = found[_tracing.SPAN_NAME], found["handle invoice.paid"]
    assert receive.context.trace_id == TRACE_ID and receive.parent.span_id == PARENT_ID
    assert receive.kind is SpanKind.CONSUMER
    assert handler.parent.span_id == receive.context.span_id and handler.context.trace_id == TRACE_ID
    assert dict(receive.attributes) == {
        "hookseal.profile": "hookseal-v1",
        "hookseal.outcome": "accepted",
        "hookseal.event.id": "evt_42",
        "hookseal.event.type": "invoice.paid",
        "hookseal.delivery.id": "evt_42",
        "http.response.status_code": 200,
    }
    assert receive.status.status_code is StatusCode.UNSET


def test_a_rejection_is_an_error_span_in_the_same_trace(spans: InMemorySpanExporter) -> None:
    body = event_body()
    r = flask_app().test_client().post("/webhooks", data=body + b" ", headers=traced(body))
    assert r.status_code == 401
    (receive,) = spans.get_finished_spans()
    assert receive.context.trace_id == TRACE_ID
    assert receive.attributes["hookseal.outcome"] == "signature_mismatch"
    assert receive.attributes["http.response.status_code"] == 401
    assert receive.status.status_code is StatusCode.ERROR
    assert "hookseal.event.id" not in receive.attributes  # nothing from an unverified body


def test_an_active_server_span_is_the_parent_not_the_header(spans: InMemorySpanExporter) -> None:
    # A framework instrumented by OpenTelemetry already continued the trace in its own span.
    body = event_body()
    with _PROVIDER.get_tracer("server").start_as_current_span("POST /webhooks") as server:
        r = flask_app().test_client().post("/webhooks", data=body, headers=traced(body))
    assert r.status_code == 200
    receive = by_name(spans)[_tracing.SPAN_NAME]
    assert receive.parent.span_id == server.get_span_context().span_id


def test_without_a_traceparent_the_span_starts_a_trace(spans: InMemorySpanExporter) -> None:
    body = event_body()
    assert flask_app().test_client().post("/webhooks", data=body, headers=signed(body)).status_code == 200
    receive = by_name(spans)[_tracing.SPAN_NAME]
    assert receive.parent is None and receive.context.trace_id != TRACE_ID


def test_starlette_endpoint_and_fastapi_dependency(spans: InMemorySpanExporter) -> None:
    pytest.importorskip("fastapi")
    from fastapi import Depends, FastAPI
    from hookseal.integrations.fastapi import VerifiedEvent, install
    from hookseal.integrations.starlette import webhook_endpoint
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    def handle(request: Any, event: dict[str, Any]) -> JSONResponse:  # sync: runs in the thread pool
        with trace.get_tracer("handler").start_as_current_span("starlette handler"):
            return JSONResponse({"ok": True})

    app = FastAPI(routes=[Route("/s", webhook_endpoint(hookseal.Webhook(SECRET), handle), methods=["POST"])])
    install(app)
    verified = VerifiedEvent(hookseal.Webhook(SECRET, profile="standard-webhooks"))

    @app.post("/f")
    async def f(event: dict = Depends(verified)) -> dict:  # type: ignore[type-arg]  # noqa: B008
        with trace.get_tracer("handler").start_as_current_span("fastapi handler"):
            return {"ok": True}

    body = event_body()
    with TestClient(app) as client:
        assert client.post("/s", content=body, headers=traced(body)).status_code == 200
        sw = hookseal.sign(body, SECRET, profile="standard-webhooks", msg_id="evt_1")
        assert client.post("/f", content=body, headers={**sw, "traceparent": TRACEPARENT}).status_code == 200
    finished = spans.get_finished_spans()
    receives = [s for s in finished if s.name == _tracing.SPAN_NAME]
    assert [s.attributes["hookseal.profile"] for s in receives] == ["hookseal-v1", "standard-webhooks"]
    # FastAPI traces itself when a provider is set: its server span continues the sender's
    # trace and is the active parent; either way every span is in the sender's trace.
    assert all(s.context.trace_id == TRACE_ID for s in finished)
    handlers = by_name(spans)
    assert handlers["starlette handler"].parent.span_id == receives[0].context.span_id
    assert receives[1].attributes["hookseal.event.id"] == "evt_1"


def test_asgi_middleware(spans: InMemorySpanExporter) -> None:
    pytest.importorskip("starlette")
    from hookseal.integrations.asgi import HooksealMiddleware
    from starlette.testclient import TestClient

    async def app(scope: Any, receive: Any, send: Any) -> None:
        with trace.get_tracer("handler").start_as_current_span("asgi app"):
            await send({"type": "http.response.start", "status": 202, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

    body = event_body()
    client = TestClient(HooksealMiddleware(app, hookseal.Webhook(SECRET)))  # no lifespan: not a `with`
    assert client.post("/", content=body, headers=traced(body)).status_code == 202
    found = by_name(spans)
    receive = found[_tracing.SPAN_NAME]
    assert receive.parent.span_id == PARENT_ID and receive.attributes["http.response.status_code"] == 202
    assert found["asgi app"].parent.span_id == receive.context.span_id


def test_django_view(spans: InMemorySpanExporter) -> None:
    pytest.importorskip("django")
    from django.conf import settings

    if not settings.configured:
        settings.configure(DEBUG=True, ALLOWED_HOSTS=["testserver"])
    from django.http import JsonResponse
    from django.test import RequestFactory
    from hookseal.integrations.django import verify_webhook

    @verify_webhook(hookseal.Webhook(SECRET))
    def view(request: Any, event: dict[str, Any]) -> Any:
        return JsonResponse({"received": event["id"]})

    body = event_body("evt_dj")
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in traced(body).items()}
    assert view(RequestFactory().post("/w", data=body, content_type="application/json", **meta)).status_code == 200
    receive = by_name(spans)[_tracing.SPAN_NAME]
    assert receive.parent.span_id == PARENT_ID and receive.attributes["hookseal.event.id"] == "evt_dj"


def test_without_opentelemetry_nothing_is_recorded_and_the_view_runs(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # as if not installed
    _tracing._api.cache_clear()
    try:
        body = event_body()
        r = flask_app().test_client().post("/webhooks", data=body, headers=traced(body))
    finally:
        monkeypatch.undo()
        _tracing._api.cache_clear()
    assert r.status_code == 200
    # Only the handler's own span: no receive span, and so no link to the sender's trace.
    (handler,) = spans.get_finished_spans()
    assert handler.name == "handle test.ping" and handler.parent is None


@pytest.mark.parametrize("with_once", [False, True], ids=["plain", "once"])
def test_wsgi_middleware(spans: InMemorySpanExporter, with_once: bool) -> None:
    pytest.importorskip("werkzeug")
    from hookseal.idempotency import MemoryIdempotencyStore, ProcessOnce
    from hookseal.integrations.wsgi import HooksealWSGIMiddleware
    from werkzeug.test import Client

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with trace.get_tracer("handler").start_as_current_span("wsgi app"):
            start_response("202 Accepted", [("Content-Type", "text/plain")])
            return [b"ok"]

    once = ProcessOnce(MemoryIdempotencyStore()) if with_once else None
    client = Client(HooksealWSGIMiddleware(app, hookseal.Webhook(SECRET), once=once))
    body = event_body("evt_wsgi")
    assert client.post("/", data=body, headers=traced(body)).status_code == 202
    found = by_name(spans)
    receive = found[_tracing.SPAN_NAME]
    assert receive.parent.span_id == PARENT_ID and receive.context.trace_id == TRACE_ID
    assert receive.attributes["hookseal.event.id"] == "evt_wsgi"
    assert receive.attributes["http.response.status_code"] == 202
    assert found["wsgi app"].parent.span_id == receive.context.span_id
    spans.clear()
    rejected = client.post("/", data=body + b" ", headers=traced(body))
    assert rejected.status_code == 401
    (receive,) = spans.get_finished_spans()
    assert receive.attributes["hookseal.outcome"] == "signature_mismatch"
    assert receive.status.status_code is StatusCode.ERROR
