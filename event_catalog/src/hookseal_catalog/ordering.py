"""Ordering keys: which events a per-key ordered endpoint must deliver in order (contract 4.5).

An event type may declare, in every version's ``x-hookseal``, an ``ordering_key``: a JSON
Pointer into ``data`` naming a required scalar field, typically the resource id
(``"/invoice/id"``). A sender with an ordered endpoint delivers events that share a key's
value in enqueue order. ``hookseal-catalog lint`` checks that the pointer names a required,
never-null scalar in every served version and that all versions declare the same one::

    from hookseal_catalog import load_catalog
    from hookseal_catalog.ordering import ordering_key, ordering_value

    catalog = load_catalog()
    ordering_key(catalog, "invoice.paid")               # "/invoice/id"
    ordering_value(catalog, "invoice.paid", data)       # "in_7Hh2kPz9Qa"
    ordering_key(catalog, "test.ping")                  # None: not ordered
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Optional

from .catalog import Catalog
from .errors import UnknownFieldError
from .fields import pointer_value

__all__ = ["ordering_key", "ordering_keys", "ordering_value"]


def ordering_key(catalog: Catalog, event_type: str) -> Optional[str]:
    """The ordering key (a JSON Pointer into ``data``) of ``event_type``, or None.

    Read from the current version (the data a sender enqueues is the current version's).

    Raises:
        UnknownEventError: no such event type.
    """
    return catalog.event(event_type).current.ordering_key


def ordering_keys(catalog: Catalog) -> dict[str, str]:
    """Every event type that declares an ordering key, with its pointer."""
    out: dict[str, str] = {}
    for name in catalog.events:
        key = ordering_key(catalog, name)
        if key is not None:
            out[name] = key
    return out


def ordering_value(catalog: Catalog, event_type: str, data: Mapping[str, Any]) -> Optional[str]:
    """The ordering key's value in current-version ``data``, as text, or None when the
    type declares no key.

    Strings are returned as they are; other scalars as their JSON text (``42``, ``true``),
    so the value can be stored in one text column.

    Raises:
        UnknownEventError: no such event type.
        UnknownFieldError: ``data`` has no scalar at the key (it does not validate, since
            lint ensures the key is a required scalar).
    """
    pointer = ordering_key(catalog, event_type)
    if pointer is None:
        return None
    current = catalog.event(event_type).current
    value = pointer_value(data, pointer, None)
    if value is None or isinstance(value, (Mapping, list)):
        raise UnknownFieldError(current.type, current.version, pointer, "the data has no scalar value there")
    return value if isinstance(value, str) else json.dumps(value)
