"""Tests of tracing.py: the ``traceparent`` of every attempt, and the OpenTelemetry spans of
enqueue, claim and attempts (recorded with the SDK's in-memory exporter), over loopback."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hookseal_sender import BackgroundWorker, Sender, SenderConfig
from hookseal_sender import tracing as tracing_module
from hookseal_sender.catalog import _catalog
from hookseal_sender.models import Claimed
from hookseal_sender.tracing import SPAN_BATCH, SPAN_DELAY, Tracing, event_trace_id, traceparent
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from ._receiver import Receiver
from .conftest import fake_resolve, wait_for

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$")


def example() -> dict[str, Any]:
    return _catalog().example("invoice.paid")  # type: ignore[no-any-return]


def parse(header: str) -> tuple[str, str]:
    m = TRACEPARENT.match(header)
    assert m, header
    trace_id, span_id = m.groups()
    assert trace_id.strip("0") and span_id.strip("0")
    return trace_id, span_id


def test_an_events_trace_id_is_stable_and_distinct() -> None:
    assert event_trace_id("evt_1") == event_trace_id("evt_1") != event_trace_id("evt_2")
    assert re.fullmatch(r"[0-9a-f]{32}", event_trace_id("evt_1"))
    assert traceparent("a" * 32, "b" * 16) == f"00-{'a' * 32}-{'b' * 16}-01"
    assert traceparent("a" * 32, "b" * 16, sampled=False).endswith("-00")


def test_without_a_provider_nothing_is_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace, "get_tracer_provider", trace.ProxyTracerProvider)
    tracing = Tracing()
    assert not tracing.enabled
    assert parse(tracing.attempt(Claimed("d", "t", "e", "x", 0, 0, "{}", 1, "evt_1")).header)[0] \
        == event_trace_id("evt_1")


def test_every_attempt_carries_the_events_trace_and_its_own_span(
        sender: Sender, receiver: Receiver, worker: Any) -> None:
    seen: dict[str, int] = {}

    def third_time_lucky(r: Any) -> int:  # each event: 503, 503, then 200
        n = seen[r.headers["Hookseal-Webhook-Id"]] = seen.get(r.headers["Hookseal-Webhook-Id"], 0) + 1
        return 200 if n == 3 else 503

    url = receiver.route("/flaky", fn=third_time_lucky)
    sender.create_endpoint("t1", url, allow_local=True, retry_schedule=[0.05, 0.05],
                           event_types=["invoice.paid"])
    first = sender.send("t1", "invoice.paid", example())
    other = sender.send("t1", "invoice.paid", example())
    worker()
    wait_for(lambda: len(receiver.requests("/flaky")) == 6)
    by_event: dict[str, list[tuple[str, str]]] = {}
    for r in receiver.requests("/flaky"):
        by_event.setdefault(r.headers["Hookseal-Webhook-Id"], []).append(
            parse(r.headers["traceparent"]))
    for event_id in (first.event_id, other.event_id):
        ids = by_event[event_id]
        assert {t for t, _ in ids} == {event_trace_id(event_id)}
        assert len({s for _, s in ids}) == 3  # a new span per attempt
    assert event_trace_id(first.event_id) != event_trace_id(other.event_id)


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def test_spans_of_enqueue_claim_and_attempts(config: SenderConfig, receiver: Receiver,
                                             spans: tuple[TracerProvider, Any]) -> None:
    provider, exporter = spans
    sender = Sender(config, resolve=fake_resolve, tracer_provider=provider)
    try:
        url = receiver.route("/hook", statuses=[500, 200])
        created = sender.create_endpoint("t1", url, allow_local=True, retry_schedule=[0.05],
                                         event_types=["invoice.paid"])
        caller = provider.get_tracer("provider-app")
        with caller.start_as_current_span("POST /invoices") as request_span:
            sent = sender.send("t1", "invoice.paid", example())
        w = BackgroundWorker(sender).start()
        try:
            wait_for(lambda: sum(s.name == "hookseal.attempt"
                                 for s in exporter.get_finished_spans()) == 2)
        finally:
            w.stop()
        finished = exporter.get_finished_spans()
        (enq,) = [s for s in finished if s.name == "hookseal.enqueue"]
        attempts = sorted((s for s in finished if s.name == "hookseal.attempt"),
                          key=lambda s: s.attributes["hookseal.attempt"])
        claims = [s for s in finished if s.name == "hookseal.claim"]
        trace_id = int(event_trace_id(sent.event_id), 16)
        assert enq.context.trace_id == trace_id
        assert enq.attributes["hookseal.event_id"] == sent.event_id
        assert enq.attributes["hookseal.deliveries"] == 1
        assert [link.context.span_id for link in enq.links] == [
            request_span.get_span_context().span_id]
        assert [s.context.trace_id for s in attempts] == [trace_id, trace_id]
        assert [s.kind for s in attempts] == [trace.SpanKind.CLIENT] * 2
        # Made after the fact, with the attempt's own times: the first ended before the
        # retry began.
        assert all(s.start_time < s.end_time for s in attempts)
        assert attempts[0].end_time <= attempts[1].start_time
        assert [(s.attributes["hookseal.attempt"], s.attributes["http.response.status_code"],
                 s.attributes["hookseal.outcome"]) for s in attempts] == [
            (1, 500, "retry"), (2, 200, "delivered")]
        assert attempts[0].status.status_code == trace.StatusCode.ERROR
        assert attempts[1].attributes["hookseal.endpoint_id"] == created.endpoint.id
        sent_spans = [parse(r.headers["traceparent"])[1] for r in receiver.requests("/hook")]
        assert sent_spans == [f"{s.context.span_id:016x}" for s in attempts]
        assert sum(s.attributes.get("hookseal.claimed", 0) for s in claims) == 2
        # Never a secret, header value or body in an attribute.
        values = " ".join(str(v) for s in finished for v in (s.attributes or {}).values())
        assert created.secret not in values
        assert example()["invoice"]["id"] not in values
    finally:
        sender.close()


def test_the_providers_sampler_decides_per_event(config: SenderConfig,
                                                 receiver: Receiver) -> None:
    # A ratio sampler keeps whole events: the enqueue, every attempt and the sampled flag
    # of every traceparent agree; the trace id is the event's either way.
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.5)))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    sender = Sender(config, resolve=fake_resolve, tracer_provider=provider)
    try:
        seen: set[str] = set()

        def retry_once(r: Any) -> int:  # each event: 503, then 200
            first = r.headers["Hookseal-Webhook-Id"] not in seen
            seen.add(r.headers["Hookseal-Webhook-Id"])
            return 503 if first else 200

        url = receiver.route("/sampled", fn=retry_once)
        sender.create_endpoint("t1", url, allow_local=True, retry_schedule=[0.05],
                               event_types=["invoice.paid"])
        events = [sender.send("t1", "invoice.paid", example()).event_id for _ in range(40)]
        w = BackgroundWorker(sender).start()
        try:
            wait_for(lambda: sum(s.status == "delivered" for s in
                                 sender.list_deliveries("t1", limit=100)) == 40, 30)
        finally:
            w.stop()
        finished = exporter.get_finished_spans()
        recorded = {s.context.trace_id for s in finished if s.name != "hookseal.claim"}
        flags: dict[str, set[str]] = {}
        for r in receiver.requests("/sampled"):
            assert parse(r.headers["traceparent"])[0] == event_trace_id(
                r.headers["Hookseal-Webhook-Id"])
            flags.setdefault(r.headers["Hookseal-Webhook-Id"], set()).add(
                r.headers["traceparent"][-2:])
        sampled = {e for e in events if int(event_trace_id(e), 16) in recorded}
        assert 0 < len(sampled) < len(events)  # P(all or none of 40 at 0.5) ~ 2e-12
        for e in events:
            n_attempts = len([s for s in finished if s.name == "hookseal.attempt"
                              and s.context.trace_id == int(event_trace_id(e), 16)])
            n_enqueue = len([s for s in finished if s.name == "hookseal.enqueue"
                             and s.context.trace_id == int(event_trace_id(e), 16)])
            assert (n_enqueue, n_attempts) == ((1, 2) if e in sampled else (0, 0)), e
            assert flags[e] == ({"01"} if e in sampled else {"00"}), e
    finally:
        sender.close()
        provider.shutdown()


def claimed(i: int) -> Claimed:
    return Claimed(f"dlv_{i}", "t1", "ep_1", "invoice.paid", 0, 0, "{}", 1, f"evt_{i}")


def attempt_spans(exporter: InMemorySpanExporter) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if s.name == "hookseal.attempt"]


def test_attempt_spans_are_made_in_batches_with_the_ids_their_headers_named(
        spans: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, exporter = spans
    tracing = Tracing(provider)

    async def go() -> None:
        headers = []
        for i in range(SPAN_BATCH - 1):
            span = tracing.attempt(claimed(i))
            headers.append(span.header)
            span.finish(200 if i % 2 else 503, "delivered" if i % 2 else "retry", None)
        assert attempt_spans(exporter) == []  # not one by one
        started = time.time_ns()
        last = tracing.attempt(claimed(SPAN_BATCH))
        await asyncio.sleep(0.01)
        last.finish(None, "retry", "timeout")
        made = attempt_spans(exporter)
        assert len(made) == SPAN_BATCH  # the batch is full: made at once
        named = [parse(h)[1] for h in [*headers, last.header]]
        assert [f"{s.context.span_id:016x}" for s in made] == named
        assert [s.context.trace_id for s in made] == [
            int(event_trace_id(f"evt_{i}"), 16) for i in [*range(SPAN_BATCH - 1), SPAN_BATCH]]
        assert made[0].attributes["http.response.status_code"] == 503
        assert made[0].status.status_code == trace.StatusCode.ERROR
        assert made[1].status.status_code == trace.StatusCode.UNSET
        assert made[-1].attributes["error.type"] == "timeout"
        assert made[-1].start_time >= started  # its own times, not the batch's
        assert made[-1].end_time - made[-1].start_time >= 9_000_000
        # A lone attempt waits at most SPAN_DELAY.
        lone = tracing.attempt(claimed(1000))
        lone.finish(200, "delivered", None)
        finished_at = time.monotonic()
        assert len(attempt_spans(exporter)) == SPAN_BATCH
        while len(attempt_spans(exporter)) == SPAN_BATCH:
            assert time.monotonic() - finished_at < SPAN_DELAY + 5
            await asyncio.sleep(0.01)
        assert attempt_spans(exporter)[-1].context.span_id == int(parse(lone.header)[1], 16)

    asyncio.run(go())


class _OtherTracerProvider:
    """A provider whose tracers are not the SDK's (no ``id_generator``)."""

    def __init__(self, provider: TracerProvider) -> None:
        self._provider = provider

    def get_tracer(self, name: str) -> Any:
        sdk_tracer = self._provider.get_tracer(name)

        class _Tracer:
            def start_span(self, *args: Any, **kwargs: Any) -> Any:
                return sdk_tracer.start_span(*args, **kwargs)

        return _Tracer()


def test_a_tracer_that_is_not_the_sdks_records_each_attempt_as_it_goes(
        spans: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, exporter = spans
    tracing = Tracing(_OtherTracerProvider(provider))
    span = tracing.attempt(claimed(1))
    assert attempt_spans(exporter) == []  # started, not ended
    span.finish(500, "retry", None)
    (made,) = attempt_spans(exporter)
    assert f"{made.context.span_id:016x}" == parse(span.header)[1]
    assert made.attributes["hookseal.outcome"] == "retry"
    assert made.status.status_code == trace.StatusCode.ERROR


def test_a_stopping_worker_makes_the_spans_it_still_holds(
        config: SenderConfig, receiver: Receiver, monkeypatch: pytest.MonkeyPatch,
        spans: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    monkeypatch.setattr(tracing_module, "SPAN_DELAY", 3600.0)
    provider, exporter = spans
    sender = Sender(config, resolve=fake_resolve, tracer_provider=provider)
    try:
        url = receiver.route("/held")
        sender.create_endpoint("t1", url, allow_local=True, event_types=["invoice.paid"])
        sender.send("t1", "invoice.paid", example())
        w = BackgroundWorker(sender).start()
        try:
            wait_for(lambda: sender.list_deliveries("t1")[0].status == "delivered")
            assert attempt_spans(exporter) == []  # held for its batch
        finally:
            w.stop()
        (made,) = attempt_spans(exporter)
        assert f"{made.context.span_id:016x}" == parse(
            receiver.requests("/held")[0].headers["traceparent"])[1]
    finally:
        sender.close()
