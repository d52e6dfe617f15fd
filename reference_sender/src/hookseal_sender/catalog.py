"""The one place that validates event data against the event catalog.

The catalog (``hookseal_catalog``) is the authority: its schemas, its versions, its
error messages. For speed, valid data is recognised by a compiled ``jsonschema-rs``
validator of the same (inlined) schema; anything that validator rejects goes to the
catalog's own validator, whose verdict and message are the ones reported. Enqueue latency
is dominated by validation, and this path is about 20 times faster (see BENCHMARKS.md).
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable, Optional

from .errors import InvalidPayloadError

__all__ = ["PING_TYPE", "Validator", "event_catalog", "no_validation", "ordering_value",
           "validate_event"]

#: A validator: ``(event_type, data) -> schema version``; raises :class:`InvalidPayloadError`.
Validator = Callable[[str, Any], int]

#: Built-in event types the sender itself sends (e.g. by ``endpoints ping``).
PING_TYPE = "test.ping"

_fast: dict[str, tuple[int, Optional[Any]]] = {}
_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def event_catalog() -> Any:
    """The event catalog the sender validates against (loaded once).

    Returns:
        The :class:`hookseal_catalog.Catalog`.
    """
    from hookseal_catalog import load_catalog

    return load_catalog()


#: The former name of :func:`event_catalog`, kept for existing imports.
_catalog = event_catalog


def _compiled(event_type: str) -> tuple[int, Optional[Any]]:
    """The current version of a type and a fast validator for it (None if unavailable)."""
    hit = _fast.get(event_type)
    if hit is not None:
        return hit
    catalog = event_catalog()
    version = int(catalog.get(event_type).version)  # raises for unknown types
    fast: Optional[Any] = None
    try:
        import jsonschema_rs

        schema = dict(catalog.resolved_schema(event_type, version))
        for key in ("x-hookseal", "examples", "$id"):
            schema.pop(key, None)
        fast = jsonschema_rs.validator_for(schema, validate_formats=False)
    except Exception:  # no fast path: the catalog's validator does all
        fast = None
    with _lock:
        _fast[event_type] = (version, fast)
    return version, fast


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
        version, fast = _compiled(event_type)
        if fast is not None and fast.is_valid(data):
            return version
        event_catalog().validate(event_type, data, version)
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


_ordering_keys: dict[str, Optional[str]] = {}


def ordering_value(event_type: str, data: Any) -> Optional[str]:
    """The value of ``event_type``'s ordering key in ``data`` (contract 4.5), or ``None``
    when the catalog declares no key for the type (or does not know the type).

    The key's pointer is looked up once per type; the value is read from the validated
    data (a required scalar, so it is there).

    Args:
        event_type: The event type.
        data: The event's current-version data.

    Returns:
        The value as text (strings as they are, other scalars as JSON), or ``None``.
    """
    if event_type not in _ordering_keys:
        from hookseal_catalog.errors import CatalogError
        from hookseal_catalog.ordering import ordering_key

        try:
            _ordering_keys[event_type] = ordering_key(event_catalog(), event_type)
        except CatalogError:  # a type outside the catalog (sent with no_validation)
            _ordering_keys[event_type] = None
    if _ordering_keys[event_type] is None or not isinstance(data, dict):
        return None
    from hookseal_catalog.ordering import ordering_value as catalog_value

    try:
        return catalog_value(event_catalog(), event_type, data)
    except Exception:  # data the catalog's validator did not check (no_validation)
        return None
