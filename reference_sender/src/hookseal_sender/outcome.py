"""Classifying an attempt's outcome (contract section 4) and reading ``Retry-After``."""

from __future__ import annotations

import email.utils
from typing import Optional

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
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)
