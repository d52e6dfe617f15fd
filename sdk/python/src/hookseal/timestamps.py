"""Signed timestamps: their syntax and the tolerance window, checked in both directions."""

from __future__ import annotations

from .errors import MalformedHeaderError, TimestampInFutureError, TimestampTooOldError

__all__ = ["DEFAULT_TOLERANCE", "check_window", "parse_timestamp"]

DEFAULT_TOLERANCE = 300
"""Seconds a signed timestamp may differ from the receiver's clock, either way."""

_MAX_DIGITS = 18


def parse_timestamp(value: str, display_name: str) -> int:
    """Parse a signed timestamp: 1 to 18 ASCII digits (leading zeros allowed), nothing else.

    Args:
        value: The timestamp text exactly as received.
        display_name: The header or element name, for the error message.

    Returns:
        The timestamp as Unix seconds.

    Raises:
        MalformedHeaderError: Empty, too long, signed, spaced, or not ASCII digits.
    """
    # isdigit() alone would accept non-ASCII digits such as "²" or "٣".
    if not (0 < len(value) <= _MAX_DIGITS and value.isascii() and value.isdigit()):
        raise MalformedHeaderError(f"the {display_name} timestamp is not 1 to 18 ASCII digits")
    return int(value)


def check_window(timestamp: int, now: int, tolerance: int) -> None:
    """Reject ``timestamp`` if it is more than ``tolerance`` seconds from ``now``.

    Exactly ``tolerance`` seconds either way is accepted; one more is not.

    Raises:
        TimestampTooOldError: ``now - timestamp > tolerance``.
        TimestampInFutureError: ``timestamp - now > tolerance``.
    """
    if now - timestamp > tolerance:
        raise TimestampTooOldError(f"the signed timestamp is {now - timestamp} s old; at most {tolerance} s is allowed")
    if timestamp - now > tolerance:
        raise TimestampInFutureError(
            f"the signed timestamp is {timestamp - now} s in the future; at most {tolerance} s is allowed"
        )
