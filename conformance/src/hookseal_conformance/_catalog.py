"""Event schemas for generated payloads, read through ``hookseal_catalog``'s loader.

Until the catalog package offers its loader, a small built-in stand-in keeps the suite
usable; :func:`from_catalog` says which one is in use.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

_FALLBACK: dict[str, dict[str, Any]] = {
    "invoice.paid": {
        "type": "object",
        "required": ["invoice_id", "amount", "currency"],
        "properties": {
            "invoice_id": {"type": "string", "minLength": 1, "maxLength": 40},
            "amount": {"type": "integer", "minimum": 0},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "note": {"type": "string", "maxLength": 80},
        },
        "additionalProperties": False,
    },
}


def _schemas_from(catalog: Any) -> dict[str, dict[str, Any]]:
    events = getattr(catalog, "events", catalog)
    if isinstance(events, Mapping):
        items = list(events.items())
    else:
        items = [(getattr(e, "type", None) or getattr(e, "name", None), e) for e in events]
    out: dict[str, dict[str, Any]] = {}
    for name, event in items:
        schema = None
        for attr in ("data_schema", "schema", "json_schema"):
            schema = getattr(event, attr, None)
            if schema is None and isinstance(event, Mapping):
                schema = event.get(attr)
            if schema is not None:
                break
        if callable(schema):
            schema = schema()
        if isinstance(name, str) and isinstance(schema, Mapping):
            out[name] = dict(schema)
    return out


@functools.lru_cache(maxsize=1)
def event_schemas() -> tuple[tuple[str, dict[str, Any]], ...]:
    """Return ``(event type, JSON Schema of its data)`` pairs, sorted by type."""
    try:
        import hookseal_catalog

        schemas = _schemas_from(hookseal_catalog.load_catalog())  # type: ignore[attr-defined,unused-ignore]
    except (ImportError, AttributeError, TypeError, ValueError, OSError):
        schemas = {}
    if not schemas:
        schemas = dict(_FALLBACK)
    return tuple(sorted(schemas.items()))


def from_catalog() -> bool:
    """Whether :func:`event_schemas` comes from ``hookseal_catalog`` (not the stand-in)."""
    return event_schemas() != tuple(sorted(_FALLBACK.items()))
