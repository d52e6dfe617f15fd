"""Trace context on every attempt (W3C ``traceparent``) and OpenTelemetry spans.

Every attempt carries ``traceparent: 00-<trace id>-<span id>-<flags>`` (contract 4.6). The
trace id is derived from the event id (the first 16 bytes of its SHA-256), so every
attempt of one event, retries and replays included, in any worker process, is in one
trace without storing anything; each attempt has a new span id.

With OpenTelemetry installed (``pip install 'hookseal-sender[otel]'``) and a tracer
provider configured (``opentelemetry-instrument hookseal-sender serve`` reads the
standard ``OTEL_*`` environment; code may pass ``tracer_provider=`` to
:class:`~hookseal_sender.Sender`), the sender exports spans:

- ``hookseal.enqueue`` when an event is enqueued (in the event's trace, linked to the
  span current in the caller, such as the provider's own request);
- ``hookseal.claim`` for each batch of deliveries a worker leases (a trace of its own);
- ``hookseal.attempt`` (kind ``CLIENT``) for each attempt, in the event's trace; the
  ``traceparent`` sent names this span, so a receiver that continues the trace (the
  ``hookseal`` SDK's integrations do) hangs its own spans under it. The span is made
  when the attempt is over, with its own start and end times, in a batch with others
  (:meth:`Tracing.flush`): at most :data:`SPAN_DELAY` seconds later.

Attributes name the endpoint, tenant, event type and id, delivery, attempt number, HTTP
status, outcome and error class; never a secret, a header value or a body. Without a
provider nothing is recorded and an attempt only formats its header.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, Optional

from .models import Claimed

__all__ = ["SPAN_BATCH", "SPAN_DELAY", "Tracing", "event_trace_id", "traceparent"]

#: Finished attempts whose spans are made together.
SPAN_BATCH = 256
#: Most seconds a finished attempt waits for its span to be made.
SPAN_DELAY = 0.5


def event_trace_id(event_id: str) -> str:
    """The trace id of an event's deliveries: 32 lowercase hex digits, never all zeros.

    Args:
        event_id: The event id (or a batch id: a batch is one trace).

    Returns:
        The first 16 bytes of the id's SHA-256, in hex.
    """
    digest = hashlib.sha256(event_id.encode("utf-8")).hexdigest()[:32]
    return digest if digest.strip("0") else "0" * 31 + "1"


def _new_span_id() -> str:
    # Unique, not secret: the module's generator (reseeded in forked worker processes);
    # one os.urandom call each cost more than the rest of the header.
    return f"{random.getrandbits(64) or 1:016x}"


def traceparent(trace_id: str, span_id: str, sampled: bool = True) -> str:
    """A W3C Trace Context ``traceparent`` value (version 00).

    Args:
        trace_id: 32 lowercase hex digits.
        span_id: 16 lowercase hex digits.
        sampled: The ``sampled`` flag.

    Returns:
        ``00-<trace_id>-<span_id>-01`` (or ``-00`` when not sampled).
    """
    return f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}"


class _AttemptSpan:
    """One attempt: its ``traceparent``, and what its span records once it is finished."""

    __slots__ = ("_record", "_tracing", "header")

    def __init__(self, header: str, tracing: Optional[Tracing] = None,
                 record: Optional[list[Any]] = None) -> None:
        self.header = header
        self._tracing = tracing
        self._record = record

    def finish(self, status: Optional[int], outcome: str, error: Optional[str]) -> None:
        """Record the attempt's answer; its span is exported with the next batch of spans
        (no-op when the attempt is not traced)."""
        record, tracing = self._record, self._tracing
        if record is None or tracing is None:
            return
        if len(record) == 1:  # a span made as the attempt started
            span = record[0]
            attributes: dict[str, Any] = {}
            _answer(attributes, status, outcome, error)
            span.set_attributes(attributes)
            if outcome != "delivered":
                otel: Any = tracing._otel
                span.set_status(otel.Status(otel.ERROR, error or f"HTTP {status}"))
            span.end()
            return
        record += (time.time_ns(), status, outcome, error)
        tracing._finished(record)


def _answer(attributes: dict[str, Any], status: Optional[int], outcome: str,
            error: Optional[str]) -> None:
    """Add an attempt's answer to its span's attributes."""
    attributes["hookseal.outcome"] = outcome
    if status is not None:
        attributes["http.response.status_code"] = status
    if error is not None:
        attributes["error.type"] = error


def _deciding(sampler: Any) -> Any:
    """``sampler``, or ``None`` when its root decision is always "sampled" (the SDK's
    default samplers): asking it for every event cost a few microseconds each."""
    try:
        from opentelemetry.sdk.trace import sampling
    except ImportError:
        return sampler
    return None if sampler is sampling.DEFAULT_ON or sampler is sampling.ALWAYS_ON else sampler


class _PlannedIds:
    """The ids of a tracer whose next span id the caller may choose (an attempt's
    ``traceparent`` names its span before the span is made); the rest come from the
    provider's own generator."""

    def __init__(self, generator: Any) -> None:
        self.generator = generator
        self.next_span_id = 0

    def generate_span_id(self) -> int:
        """The chosen span id, once; else the provider's."""
        span_id = self.next_span_id
        if span_id:
            self.next_span_id = 0
            return span_id
        return int(self.generator.generate_span_id())

    def generate_trace_id(self) -> int:
        """The provider's."""
        return int(self.generator.generate_trace_id())

    def is_trace_id_random(self) -> bool:
        """The provider's."""
        return bool(getattr(self.generator, "is_trace_id_random", lambda: False)())


class Tracing:
    """Makes the ``traceparent`` of each attempt, and spans when a provider is configured.

    Args:
        tracer_provider: An OpenTelemetry ``TracerProvider``; ``None`` uses the global one
            if OpenTelemetry is installed and a provider has been set, else records no
            spans.
    """

    def __init__(self, tracer_provider: Any = None) -> None:
        self._tracer: Any = None
        self._sampler: Any = None
        self._otel: Optional[SimpleNamespace] = None
        self._planned: Optional[_PlannedIds] = None
        self._attempt_tracer: Any = None
        self._pending: list[list[Any]] = []
        self._lock = threading.Lock()
        self._making = threading.Lock()
        try:
            from opentelemetry import trace
            from opentelemetry.context import Context
        except ImportError:  # the otel extra is not installed: headers only
            return
        provider = tracer_provider
        if provider is None:
            provider = trace.get_tracer_provider()
            # The default (proxy or no-op) provider records nothing: skip the span work.
            if type(provider).__name__ in ("ProxyTracerProvider", "NoOpTracerProvider"):
                return
        self._tracer = provider.get_tracer("hookseal_sender")
        # The provider's sampler decides, once per event, whether the event's trace is
        # sampled (a ratio sampler keeps whole events); an SDK provider exposes it.
        self._sampler = _deciding(getattr(provider, "sampler", None))
        # Looked up once: an attempt should not pay for imports.
        self._otel = SimpleNamespace(
            trace=trace, CLIENT=trace.SpanKind.CLIENT, Link=trace.Link,
            NonRecordingSpan=trace.NonRecordingSpan, SpanContext=trace.SpanContext,
            sampled=trace.TraceFlags(trace.TraceFlags.SAMPLED),
            unsampled=trace.TraceFlags(trace.TraceFlags.DEFAULT),
            Status=trace.Status, ERROR=trace.StatusCode.ERROR,
            # The event's root is a root: no span current in the caller is its parent
            # (and an empty context saves looking the current one up).
            empty=Context())
        # Attempt spans are made after the fact (see flush) by a tracer of their own whose
        # span ids the attempts choose. An SDK tracer takes its ids from its public
        # ``id_generator``; any other tracer makes each span as its attempt starts.
        tracer = provider.get_tracer("hookseal_sender")
        generator = getattr(tracer, "id_generator", None)
        if generator is not None:
            self._planned = _PlannedIds(generator)
            tracer.id_generator = self._planned
            self._attempt_tracer = tracer

    @property
    def enabled(self) -> bool:
        """Whether spans are recorded (a tracer provider is configured)."""
        return self._otel is not None

    def _event_root(self, event_id: str) -> Any:
        """The event's (fictitious, remote) root span context: its trace and sampling."""
        otel: Any = self._otel
        digest = hashlib.sha256(event_id.encode("utf-8")).digest()
        # The trace id as event_trace_id gives it; the (fictitious) parent span id from the
        # digest's other half: one hash for both.
        trace_id = int.from_bytes(digest[:16], "big") or 1
        # Whether the event's trace is sampled is the provider's sampler's root decision
        # for the event's trace id: the same for the enqueue and every attempt, so a ratio
        # sampler keeps whole events.
        flags = otel.sampled
        if self._sampler is not None and not self._sampler.should_sample(
                otel.empty, trace_id, "hookseal.event").decision.is_sampled():
            flags = otel.unsampled
        return otel.SpanContext(trace_id, int.from_bytes(digest[16:24], "big") or 1,
                                is_remote=True, trace_flags=flags)

    def _event_context(self, root: Any) -> Any:
        """A context whose parent is the event's root, so spans join its trace."""
        otel: Any = self._otel
        return otel.trace.set_span_in_context(otel.NonRecordingSpan(root), otel.empty)

    def attempt(self, c: Claimed) -> _AttemptSpan:
        """Start an attempt of ``c``: its ``traceparent`` and, when tracing, its span.

        Args:
            c: The claimed delivery (its event's trace; its ids become attributes).

        Returns:
            The attempt's span; call ``finish`` with the answer.
        """
        otel = self._otel
        if otel is None:
            return _AttemptSpan(traceparent(event_trace_id(c.event_id), _new_span_id()))
        root = self._event_root(c.event_id)
        if not root.trace_flags.sampled:
            # Not recorded: what the SDK would make of it (a new span id, flag 00) without
            # its span machinery, a third of a recorded span's cost.
            return _AttemptSpan(traceparent(f"{root.trace_id:032x}", _new_span_id(), False))
        attributes = {"hookseal.endpoint_id": c.endpoint_id,
                      "hookseal.event_type": c.event_type, "hookseal.attempt": c.attempt_count + 1}
        planned = self._planned
        if planned is None:  # not the SDK's tracer: the span is made now
            span = self._tracer.start_span("hookseal.attempt", context=self._event_context(root),
                                           kind=otel.CLIENT, attributes=attributes)
            ctx = span.get_span_context()
            header = traceparent(f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}",
                                 ctx.trace_flags.sampled)
            return _AttemptSpan(header, self, [span])
        span_id = planned.generator.generate_span_id()
        header = traceparent(f"{root.trace_id:032x}", f"{span_id:016x}")
        # The span itself is made when the attempt is over, with its start and end times,
        # among a batch of others (see _flush): the id it will have is chosen now, for the
        # header.
        return _AttemptSpan(header, self, [root, span_id, attributes, time.time_ns()])

    def _finished(self, record: list[Any]) -> None:
        """Keep a finished attempt's record until the next batch of spans is made."""
        with self._lock:  # workers in threads of their own may share one sender
            pending = self._pending
            pending.append(record)
            waiting = len(pending)
        if waiting >= SPAN_BATCH:
            self.flush()
        elif waiting == 1:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not on an event loop: nothing would flush it later
                self.flush()
            else:
                # Not cancelled when a full batch flushes first: a flush finding nothing
                # to do is cheap, and a timer may only be cancelled on its own loop.
                loop.call_later(SPAN_DELAY, self.flush)

    def flush(self) -> None:
        """Make the spans of the attempts finished since the last flush.

        Attempt spans are made in batches (of :data:`SPAN_BATCH`, or :data:`SPAN_DELAY`
        seconds after the first finished attempt of a batch, and when a worker stops):
        made one by one between the rest of a delivery's work they cost more CPU than
        in a row (measured with ``bench/bench_tracing.py``; see BENCHMARKS.md).
        """
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending:
            return
        otel: Any = self._otel
        tracer, ids = self._attempt_tracer, self._planned
        assert ids is not None  # records are kept only with planned ids
        with self._making:  # the planned id is the tracer's: one batch at a time
            for root, span_id, attributes, start, end, status, outcome, error in pending:
                _answer(attributes, status, outcome, error)
                ids.next_span_id = span_id
                span = tracer.start_span("hookseal.attempt", context=self._event_context(root),
                                         kind=otel.CLIENT, attributes=attributes,
                                         start_time=start)
                if outcome != "delivered":
                    span.set_status(otel.Status(otel.ERROR, error or f"HTTP {status}"))
                span.end(end_time=end)

    def enqueued(self, event_id: str, started_ns: int, attributes: Mapping[str, Any]) -> None:
        """Record an enqueue that started at ``started_ns`` and just ended.

        The span is in the event's trace, linked to the span current in the caller.

        Args:
            event_id: The event enqueued.
            started_ns: When the enqueue started (``time.time_ns()``).
            attributes: Type, tenant, number of deliveries...
        """
        otel = self._otel
        if otel is None:
            return
        caller = otel.trace.get_current_span().get_span_context()
        links = [otel.Link(caller)] if caller.is_valid else []
        root = self._event_root(event_id)
        if not root.trace_flags.sampled:
            return
        span = self._tracer.start_span("hookseal.enqueue", context=self._event_context(root),
                                       attributes={"hookseal.event_id": event_id, **attributes},
                                       links=links, start_time=started_ns)
        span.end()

    @contextmanager
    def claim(self, attributes: Mapping[str, Any]) -> Iterator[Optional[Any]]:
        """A span around one claim of deliveries (a trace of its own).

        Args:
            attributes: The claim's attributes (worker, how many were asked for).

        Yields:
            The span (set ``hookseal.claimed`` on it), or ``None`` when not tracing.
        """
        if self._otel is None:
            yield None
            return
        span = self._tracer.start_span("hookseal.claim", attributes=dict(attributes),
                                       start_time=time.time_ns())
        try:
            yield span
        finally:
            span.end()
