"""What an attempt's answer means: its outcome (contract section 4), ``Retry-After``, and
the delivery's next status and due time (:func:`next_step`: the retry decision)."""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from typing import Optional

from .config import RetryPolicy

#: The response was 2xx: the delivery is done.
DELIVERED = "delivered"
#: 5xx, 429, a connection error or a timeout: try again later.
RETRY = "retry"
#: 3xx or 4xx (not 429), or a refused destination: never retried.
FAILED = "failed"
#: 410 Gone: failed, and the endpoint is disabled at once.
GONE = "gone"


def classify(status_code: Optional[int], error: Optional[str]) -> str:
    """The outcome of one attempt.

    Args:
        status_code: The HTTP status, or ``None`` if there was no response.
        error: The error code when there was no response.

    Returns:
        One of :data:`DELIVERED`, :data:`RETRY`, :data:`FAILED`, :data:`GONE`.
    """
    if status_code is None:
        return FAILED if error == "destination_refused" else RETRY
    if 200 <= status_code < 300:
        return DELIVERED
    if status_code == 410:
        return GONE
    if status_code == 429 or status_code >= 500:
        return RETRY
    return FAILED


def parse_retry_after(value: Optional[str], now: float) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP-date).

    Args:
        value: The header value.
        now: Unix time, for HTTP-dates.

    Returns:
        Seconds (>= 0), or ``None`` if absent or unparsable.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit() and text.isascii():
        # float() of the text, not of int(text): a number too long for int() (4300
        # digits) or for a float raised, and the attempt was put back for ever; it is
        # inf here, which the policy caps.
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def next_step(outcome: str, status_code: Optional[int], headers: Mapping[str, str],
              round_attempts: int, policy: RetryPolicy, now: float,
              ) -> tuple[str, Optional[float]]:
    """The delivery's next status and due time after an attempt: the retry decision.

    Delivered and failed (or gone) deliveries are done. One to retry is due again after
    the policy's next delay, or after the endpoint's ``Retry-After`` (honoured on 429 and
    503 only, capped by the policy); it is dead-lettered once the policy has no delay left.

    Args:
        outcome: The attempt's outcome, from :func:`classify`.
        status_code: The HTTP status, or ``None`` if there was no response.
        headers: The response's headers (``Retry-After`` is read from them).
        round_attempts: Attempts made in this round, this one included (>= 1).
        policy: The endpoint's retry policy.
        now: Unix time the attempt ended.

    Returns:
        ``(status, next_attempt_at)``: ``delivered``, ``failed`` or ``dead_lettered`` with
        ``None``, or ``pending`` with the Unix time the delivery is due again.
    """
    if outcome == DELIVERED:
        return "delivered", None
    if outcome != RETRY:
        return "failed", None
    wait = None
    if status_code in (429, 503):
        # Header names are case-insensitive: the answer's are kept as the server wrote them.
        value = headers.get("Retry-After")
        if value is None:
            value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
        wait = parse_retry_after(value, now)
    delay = policy.next_delay(round_attempts, retry_after=wait)
    if delay is None:
        return "dead_lettered", None
    return "pending", now + delay
