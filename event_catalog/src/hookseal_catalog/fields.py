"""Fields of an event's ``data`` named by JSON Pointer: what the schema says about them.

A sender needs to ask the catalog about fields it is given as JSON Pointers (RFC 6901):
whether a redaction pointer names an optional field (contract 4.3: a required one is
refused), and whether an ordering key is always present and a scalar (contract 4.5)::

    from hookseal_catalog import load_catalog
    from hookseal_catalog.fields import field_info, is_required_field

    catalog = load_catalog()
    is_required_field(catalog, "payment.failed", "/payment/description")   # False
    info = field_info(catalog, "invoice.paid", "/invoice/id")
    info.required, info.always_present, info.scalar                         # True True True

A ``*`` segment stands for any item of an array or any value of a map
(``/invoice/lines/*/description``). Pointers never name the whole payload (``""``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from ._schema import unwrap_nullable
from .catalog import Catalog
from .errors import UnknownFieldError

__all__ = ["SCALAR_TYPES", "FieldInfo", "field_info", "is_required_field", "parse_pointer", "pointer_value"]

SCALAR_TYPES = frozenset({"string", "integer", "number", "boolean"})
"""JSON types that count as scalars (an ordering key must be one of them, never null)."""


@dataclass(frozen=True)
class FieldInfo:
    """What one version's schema says about the field a pointer names.

    Attributes:
        pointer: The pointer, as given.
        required: The last segment is required in its parent object: dropping the field
            makes a payload invalid whenever the parent is present.
        always_present: Every segment is required and no parent on the way is nullable or
            an array/map item: the field is in every valid payload.
        nullable: ``null`` is allowed.
        types: The JSON types allowed (``null`` excluded), sorted.
        scalar: Every allowed type is a scalar (string, integer, number, boolean).
    """

    pointer: str
    required: bool
    always_present: bool
    nullable: bool
    types: tuple[str, ...]
    scalar: bool


def parse_pointer(pointer: str) -> list[str]:
    """The unescaped segments of an RFC 6901 pointer (``/a~1b/c`` -> ``["a/b", "c"]``).

    Raises:
        ValueError: the pointer is not a string starting with ``/``, or has a bad escape.
    """
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise ValueError(f"a JSON Pointer into data starts with '/', not {pointer!r}")
    parts = pointer[1:].split("/")
    for part in parts:
        if "~" in part.replace("~0", "").replace("~1", ""):
            raise ValueError(f"bad escape in JSON Pointer {pointer!r} (only ~0 and ~1 are allowed)")
    return [p.replace("~1", "/").replace("~0", "~") for p in parts]


def _types(schema: Mapping[str, Any]) -> tuple[str, ...]:
    t = schema.get("type")
    if isinstance(t, str):
        return () if t == "null" else (t,)
    if isinstance(t, list):
        return tuple(sorted(x for x in t if isinstance(x, str) and x != "null"))
    if "enum" in schema and isinstance(schema["enum"], list):
        kinds = {"string" if isinstance(v, str) else "boolean" if isinstance(v, bool) else "number"
                 for v in schema["enum"] if v is not None}  # fmt: skip
        return tuple(sorted(kinds))
    return ()


def field_info(catalog: Catalog, event_type: str, pointer: str, version: Optional[int] = None) -> FieldInfo:
    """Describe the field ``pointer`` names in ``event_type``'s ``data`` (``version=None``: current).

    Raises:
        UnknownEventError: no such event type or version.
        UnknownFieldError: the pointer is malformed or names no field of that schema.
    """
    ev = catalog.get(event_type, version)
    try:
        parts = parse_pointer(pointer)
    except ValueError as exc:
        raise UnknownFieldError(ev.type, ev.version, pointer, str(exc)) from None
    schema: Mapping[str, Any] = catalog.resolved_schema(ev.type, ev.version)
    required = always = True
    nullable = False
    for index, part in enumerate(parts):
        node, parent_nullable = unwrap_nullable(schema)
        if index and parent_nullable:
            always = False
        props = node.get("properties")
        items = node.get("items")
        extra = node.get("additionalProperties")
        if isinstance(props, Mapping) and part in props:
            child = props[part]
            required = part in (node.get("required") or [])
        elif part == "*" or part.isdigit():
            container = items if isinstance(items, Mapping) else extra if isinstance(extra, Mapping) else None
            if container is None:
                raise UnknownFieldError(ev.type, ev.version, pointer, f"{part!r} is not in an array or a map")
            child, required = container, False
        elif isinstance(extra, Mapping) and not isinstance(props, Mapping):
            child, required = extra, False
        else:
            raise UnknownFieldError(ev.type, ev.version, pointer, f"no property {part!r} there")
        if not isinstance(child, Mapping):
            raise UnknownFieldError(ev.type, ev.version, pointer, f"{part!r} has no schema")
        always = always and required
        schema = child
    node, nullable = unwrap_nullable(schema)
    types = _types(node)
    return FieldInfo(
        pointer=pointer,
        required=required,
        always_present=always,
        nullable=nullable,
        types=types,
        scalar=bool(types) and set(types) <= SCALAR_TYPES,
    )


def is_required_field(catalog: Catalog, event_type: str, pointer: str, version: Optional[int] = None) -> bool:
    """Whether dropping the field ``pointer`` names would make ``data`` invalid.

    This is the check behind refusing a redaction of a required field (contract 4.3).
    Raises the same errors as :func:`field_info`, so an unknown field is refused too.
    """
    return field_info(catalog, event_type, pointer, version).required


_MISSING = object()


def pointer_value(data: Any, pointer: str, default: Any = _MISSING) -> Any:
    """The value at ``pointer`` in a JSON document (no ``*``).

    Raises:
        KeyError: nothing is there and no ``default`` was given.
        ValueError: the pointer is malformed.
    """
    node = data
    for part in parse_pointer(pointer):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            if default is not _MISSING:
                return default
            raise KeyError(pointer)
    return node
