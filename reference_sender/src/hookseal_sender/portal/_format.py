"""How portal pages show and read times and JSON (the templates' filters)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Optional

from .._inputs import unix_time
from ..errors import InvalidRequestError


def when(ts: Optional[float]) -> str:
    """A Unix time as ``YYYY-MM-DD HH:MM:SS UTC`` (``-`` for none)."""
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def pretty(text: Optional[str]) -> str:
    """JSON text indented for reading (other text as it is)."""
    if not text:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, sort_keys=False)
    except ValueError:
        return text


def parse_time(value: str, field: str) -> Optional[float]:
    """A ``datetime-local`` value (taken as UTC) or Unix seconds, or None when blank.

    Raises:
        InvalidRequestError: Neither, or not finite (``nan``, ``inf``), or out of range;
            the message names ``field``.
    """
    value = value.strip()
    if not value:
        return None
    try:
        float(value)
    except ValueError:
        pass
    else:
        return unix_time(value, field)
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequestError(f"{field}: not a date and time: {value[:40]!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return unix_time(dt.timestamp(), field)


def local_input(ts: Optional[float]) -> str:
    """A Unix time as a ``datetime-local`` input value (UTC)."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M")
