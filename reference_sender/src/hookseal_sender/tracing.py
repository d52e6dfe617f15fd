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
  ``hookseal`` SDK's integrations do) hangs its own spans under it.

Attributes name the endpoint, tenant, event type and id, delivery, attempt number, HTTP
status, outcome and error class; never a secret, a header value or a body. Without a
provider nothing is recorded and an attempt only formats its header.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, Optional

from .models import Claimed

__all__ = ["Tracing", "event_trace_id", "traceparent"]



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
    """One attempt's span: its ``traceparent`` and where its result is recorded."""

    __slots__ = ("header", "span")

    def __init__(self, header: str, span: Any) -> None:
        self.header = header
        self.span = span

    def finish(self, status: Optional[int], outcome: str, error: Optional[str]) -> None:
        """Record the attempt's answer and end the span (no-op without OpenTelemetry)."""
        span = self.span
        if span is None:
            return
        attributes: dict[str, Any] = {"hookseal.outcome": outcome}
        if status is not None:
            attributes["http.response.status_code"] = status
        if error is not None:
            attributes["error.type"] = error
        span.set_attributes(attributes)
        if outcome != "delivered":
            from opentelemetry.trace import Status, StatusCode

            span.set_status(Status(StatusCode.ERROR, error or f"HTTP {status}"))
        span.end()


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
        try:
            from opentelemetry import trace
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
        self._sampler = getattr(provider, "sampler", None)
        # Looked up once: an attempt should not pay for imports.
        self._otel = SimpleNamespace(
            trace=trace, CLIENT=trace.SpanKind.CLIENT, Link=trace.Link,
            NonRecordingSpan=trace.NonRecordingSpan, SpanContext=trace.SpanContext,
            sampled=trace.TraceFlags(trace.TraceFlags.SAMPLED),
            unsampled=trace.TraceFlags(trace.TraceFlags.DEFAULT))

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
                None, trace_id, "hookseal.event").decision.is_sampled():
            flags = otel.unsampled
        return otel.SpanContext(trace_id, int.from_bytes(digest[16:24], "big") or 1,
                                is_remote=True, trace_flags=flags)

    def _event_context(self, root: Any) -> Any:
        """A context whose parent is the event's root, so spans join its trace."""
        otel: Any = self._otel
        return otel.trace.set_span_in_context(otel.NonRecordingSpan(root))

    def attempt(self, c: Claimed) -> _AttemptSpan:
        """Start an attempt of ``c``: its ``traceparent`` and, when tracing, its span.

        Args:
            c: The claimed delivery (its event's trace; its ids become attributes).

        Returns:
            The attempt's span; call ``finish`` with the answer.
        """
        otel = self._otel
        if otel is None:
            return _AttemptSpan(traceparent(event_trace_id(c.event_id), _new_span_id()), None)
        root = self._event_root(c.event_id)
        if not root.trace_flags.sampled:
            # Not recorded: what the SDK would make of it (a new span id, flag 00) without
            # its span machinery, a third of a recorded span's cost.
            return _AttemptSpan(traceparent(f"{root.trace_id:032x}", _new_span_id(), False), None)
        span = self._tracer.start_span(
            "hookseal.attempt", context=self._event_context(root), kind=otel.CLIENT,
            # Few attributes: the SDK checks each one, at a cost per attempt (the event
            # id is the trace's, and the enqueue span names it).
            attributes={"hookseal.endpoint_id": c.endpoint_id,
                        "hookseal.event_type": c.event_type, "hookseal.attempt": c.attempt_count + 1})
        ctx = span.get_span_context()
        header = traceparent(f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}", ctx.trace_flags.sampled)
        return _AttemptSpan(header, span)

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
