"""The one place that validates event data against the event catalog."""

from __future__ import annotations

import functools
from typing import Any, Callable

from .errors import InvalidPayloadError

#: A validator: ``(event_type, data)``; raises :class:`InvalidPayloadError`.
Validator = Callable[[str, Any], None]

#: Built-in event types the sender itself sends (e.g. by ``endpoints ping``).
PING_TYPE = "test.ping"


@functools.lru_cache(maxsize=1)
def _catalog() -> Any:
    import hookseal_catalog  # noqa: PLC0415 - imported lazily: the catalog loads schemas

    # getattr: the catalog package is written in parallel; its API is load_catalog().
    return getattr(hookseal_catalog, "load_catalog")()  # noqa: B009


def validate_event(event_type: str, data: Any) -> None:
    """Check ``data`` against the catalog schema of ``event_type``.

    Args:
        event_type: The event type, e.g. ``invoice.paid``.
        data: The event's ``data``.

    Raises:
        InvalidPayloadError: The type is unknown or the data does not validate.
    """
    if not isinstance(data, dict):
        raise InvalidPayloadError("data must be a JSON object")
    if event_type == PING_TYPE:
        return
    try:
        catalog = _catalog()
    except (ImportError, AttributeError) as exc:  # pragma: no cover - catalog missing
        raise InvalidPayloadError(f"event catalog unavailable: {exc}") from None
    try:
        catalog.validate(event_type, data)
    except InvalidPayloadError:
        raise
    except Exception as exc:
        raise InvalidPayloadError(str(exc)) from None


def no_validation(event_type: str, data: Any) -> None:
    """A validator that accepts any JSON object (for providers without a catalog).

    Args:
        event_type: Ignored.
        data: Must be a dict.

    Raises:
        InvalidPayloadError: ``data`` is not a JSON object.
    """
    if not isinstance(data, dict):
        raise InvalidPayloadError("data must be a JSON object")
