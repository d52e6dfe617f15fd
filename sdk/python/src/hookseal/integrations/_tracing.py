"""OpenTelemetry spans for received webhooks, continuing the sender's trace (optional).

When ``opentelemetry-api`` is installed (``pip install 'hookseal[otel]'``, or any
OpenTelemetry setup), every integration wraps a delivery in a ``webhook receive`` span
(kind ``CONSUMER``). Its parent is the span already active (a framework's own server
span, when the framework is instrumented), or else the trace the sender started: the W3C
``traceparent`` (and ``tracestate``) header every Hookseal attempt carries, read through
the globally configured propagator. Handler code runs inside the span, so its own spans
join the sender's trace.

Attributes: ``hookseal.profile``, ``hookseal.outcome`` (``accepted``, or the rejection
code such as ``signature_mismatch``, or ``duplicate``), ``hookseal.event.id``,
``hookseal.event.type``, ``hookseal.delivery.id`` and ``http.response.status_code``; a
rejection sets the span's status to error. Never a secret, a signature or the body.

Without OpenTelemetry nothing is imported and nothing happens: the core stays stdlib-only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from ..webhook import Webhook
    from ._common import Admission, Reply

SPAN_NAME = "webhook receive"
"""The name of the span each received delivery gets."""

_CARRIER_HEADERS = ("traceparent", "tracestate", "baggage")


@lru_cache(maxsize=1)
def _api() -> Optional[tuple[Any, Any]]:
    """``(opentelemetry.trace, opentelemetry.propagate)``, or None when not installed."""
    try:
        from opentelemetry import propagate, trace
    except ImportError:
        return None
    return trace, propagate


class ReceiveSpan:
    """What an integration records on its delivery's span (does nothing without a span)."""

    __slots__ = ("_span",)

    def __init__(self, span: Any = None) -> None:
        self._span = span

    def outcome(self, outcome: Admission | Reply) -> None:
        """Record the verification outcome: the event's id and type, or the rejection."""
        span = self._span
        if span is None:
            return
        from ._common import Reply

        if isinstance(outcome, Reply):
            code = str(outcome.payload.get("code") or outcome.payload.get("status") or "rejected")
            span.set_attribute("hookseal.outcome", code)
            self.status(outcome.status)
            return
        span.set_attribute("hookseal.outcome", "accepted")
        event = outcome.event
        for key in ("id", "type"):
            value = event.get(key) if isinstance(event, dict) else getattr(event, key, None)
            if isinstance(value, str):
                span.set_attribute(f"hookseal.event.{key}", value)
        if outcome.delivery_id:
            span.set_attribute("hookseal.delivery.id", outcome.delivery_id)

    def status(self, status: int) -> None:
        """Record the HTTP status answered; 4xx and 5xx mark the span as an error."""
        span = self._span
        if span is None:
            return
        span.set_attribute("http.response.status_code", status)
        if status >= 400:
            from opentelemetry.trace import Status, StatusCode

            span.set_status(Status(StatusCode.ERROR, f"answered {status}"))


_NO_SPAN = ReceiveSpan()


def _carrier(headers: Any) -> dict[str, str]:
    from ._common import _header_pairs, _text

    carrier: dict[str, str] = {}
    try:
        for name, value in _header_pairs(headers):
            lowered = _text(name).lower()
            if lowered in _CARRIER_HEADERS and value:
                carrier[lowered] = _text(value)
    except Exception:  # a broken mapping only loses the parent, never the request
        return {}
    return carrier


@contextmanager
def receive_span(webhook: Webhook, headers: Any) -> Iterator[ReceiveSpan]:
    """Run the block inside a ``webhook receive`` span when OpenTelemetry is installed.

    Args:
        webhook: The verifier (its profile is recorded).
        headers: The request headers, in any form the verifier takes; only
            ``traceparent``, ``tracestate`` and ``baggage`` are read.

    Yields:
        A :class:`ReceiveSpan` to record the outcome on (a no-op without OpenTelemetry).
    """
    api = _api()
    if api is None:
        yield _NO_SPAN
        return
    trace, propagate = api
    parent = None
    if not trace.get_current_span().get_span_context().is_valid:
        parent = propagate.extract(_carrier(headers))
    tracer = trace.get_tracer("hookseal")
    with tracer.start_as_current_span(
        SPAN_NAME,
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        attributes={"hookseal.profile": str(getattr(webhook, "profile", ""))},
    ) as span:
        yield ReceiveSpan(span)
