"""The one place that validates event data against the event catalog."""

from __future__ import annotations

import functools
import importlib
from typing import Any, Callable

from .errors import InvalidPayloadError

#: A validator: ``(event_type, data) -> schema version``; raises :class:`InvalidPayloadError`.
Validator = Callable[[str, Any], int]

#: Built-in event types the sender itself sends (e.g. by ``endpoints ping``).
PING_TYPE = "test.ping"


@functools.lru_cache(maxsize=1)
def _catalog() -> Any:
    import hookseal_catalog

    # The package re-exports load_catalog(); fall back to its module while it is young.
    load = getattr(hookseal_catalog, "load_catalog", None)
    if load is None:
        load = importlib.import_module("hookseal_catalog.catalog").load_catalog
    return load()


def validate_event(event_type: str, data: Any) -> int:
    """Check ``data`` against the catalog schema of ``event_type`` (its current version).

    Args:
        event_type: The event type, e.g. ``invoice.paid``.
        data: The event's ``data``.

    Returns:
        The schema version ``data`` follows (the envelope's ``version``).

    Raises:
        InvalidPayloadError: The type is unknown or the data does not validate.
    """
    if not isinstance(data, dict):
        raise InvalidPayloadError("data must be a JSON object")
    try:
        catalog = _catalog()
    except (ImportError, AttributeError) as exc:  # pragma: no cover - catalog missing
        raise InvalidPayloadError(f"event catalog unavailable: {exc}") from None
    try:
        version = int(catalog.get(event_type).version)
        catalog.validate(event_type, data, version)
    except Exception as exc:  # the catalog's own errors: unknown type, invalid data
        raise InvalidPayloadError(str(exc)) from None
    return version


def no_validation(event_type: str, data: Any) -> int:
    """A validator that accepts any JSON object (for providers without a catalog).

    Args:
        event_type: Ignored.
        data: Must be a dict.

    Returns:
        Version 1.

    Raises:
        InvalidPayloadError: ``data`` is not a JSON object.
    """
    if not isinstance(data, dict):
        raise InvalidPayloadError("data must be a JSON object")
    return 1
