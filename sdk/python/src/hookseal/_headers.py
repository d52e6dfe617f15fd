"""Reading request headers from whatever mapping a framework hands us.

Accepted: a ``dict``, any object with ``.items()`` (Starlette, Werkzeug, Django,
``http.client``, aiohttp, requests), or an iterable of ``(name, value)`` pairs, with
``str`` or ``bytes`` names and values (raw ASGI headers are bytes). Names match
case-insensitively; a wanted name seen twice (in any case) is malformed, since we could
not tell which value the sender meant.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional, cast

from .errors import MalformedHeaderError, MissingHeaderError


def _pairs(headers: Any) -> Iterable[Any]:
    items = getattr(headers, "items", None)
    if items is not None:
        return cast("Iterable[Any]", items())
    if isinstance(headers, (str, bytes)) or not isinstance(headers, Iterable):
        raise MalformedHeaderError("headers must be a mapping or a list of (name, value) pairs")
    return cast("Iterable[Any]", headers)


def find(headers: Any, wanted: tuple[str, ...]) -> list[Optional[object]]:
    """Return the values of the lower-case header names in ``wanted`` (None if absent).

    Raises:
        MalformedHeaderError: A wanted name appears twice, or ``headers`` is not a mapping.
    """
    found: dict[str, object] = {}
    try:
        for pair in _pairs(headers):
            name, value = pair
            if not isinstance(name, str):  # isinstance: multidict's istr is a str subclass
                if not isinstance(name, (bytes, bytearray)):
                    continue
                name = bytes(name).decode("latin-1")
            lowered = name.lower()
            if lowered in wanted:
                if lowered in found:
                    raise MalformedHeaderError(f"the {name} header appears more than once")
                found[lowered] = value
    except MalformedHeaderError:
        raise
    except Exception:
        # A broken mapping or a pair that is not a pair: the caller's input, not our bug.
        raise MalformedHeaderError("headers must be a mapping or a list of (name, value) pairs") from None
    return [found.get(name) for name in wanted]


def text(value: Optional[object], display_name: str) -> str:
    """Return a header value as text, raising MissingHeaderError if absent or empty."""
    if type(value) is str and value:
        return value
    # No ``value in ("", b"")``: comparing str with bytes warns under ``python -b``.
    if value is None or (isinstance(value, (str, bytes, bytearray)) and not value):
        raise MissingHeaderError(f"the {display_name} header is missing")
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    raise MalformedHeaderError(f"the {display_name} header value is not text")
