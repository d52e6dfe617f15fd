"""The event reference: everything the docs site shows about each event, ready to render.

The docs generator (and ``hookseal-catalog show``) need per event: its name and
description, when it fires, how often, how critical, its versions and their lifecycle, a
table of fields and an example body. :func:`catalog_reference` returns exactly that as plain
frozen dataclasses (``dataclasses.asdict`` turns them into JSON)::

    from hookseal_catalog import load_catalog
    from hookseal_catalog.reference import catalog_reference, envelope_fields

    for event in catalog_reference(load_catalog()):
        print(event.type, event.criticality)
        for version in event.versions:
            for row in version.fields:          # one row per field, depth-first
                print(row.name, row.type, row.required, row.description)

:func:`to_markdown` renders one event as Markdown, as a worked example of the API.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from ._schema import unwrap_nullable
from .catalog import Catalog, ChangelogEntry, EventVersion

__all__ = [
    "EventReference",
    "FieldRow",
    "VersionReference",
    "catalog_reference",
    "envelope_fields",
    "event_reference",
    "field_rows",
    "to_markdown",
]


@dataclass(frozen=True)
class FieldRow:
    """One row of a field table.

    Attributes:
        name: Dotted field name from the payload's root: ``invoice.lines[].amount.currency``
            (``[]`` stands for any array item, ``{}`` for any map value).
        pointer: The same as a JSON-pointer template: ``/invoice/lines/*/amount/currency``.
        depth: Nesting depth (0 for top-level fields), for indentation.
        type: Human type: ``string``, ``integer``, ``boolean``, ``Money`` (a component's
            title for objects), ``array of InvoiceLineItem``, ``map of string``.
        nullable: Whether ``null`` is allowed.
        required: Whether the field is always present in its parent object.
        description: The field's description.
        enum: The allowed values, if restricted (``None`` excluded).
        constraints: Other constraints in words (``pattern ^[A-Z]{3}$``, ``max length 200``).
        deprecated: Whether the field is deprecated.
    """

    name: str
    pointer: str
    depth: int
    type: str
    nullable: bool
    required: bool
    description: str
    enum: tuple[Any, ...] = ()
    constraints: tuple[str, ...] = ()
    deprecated: bool = False


@dataclass(frozen=True)
class VersionReference:
    """One major version of an event, documented.

    Attributes:
        version: The major version.
        status: ``draft``, ``released`` or ``deprecated``.
        is_current: Whether it is the version sent by default.
        title, description, fires_when, frequency, criticality: Its documentation.
        released, deprecated, sunset: Lifecycle dates (ISO) or None.
        changelog: Dated changes.
        schema_id: The schema's ``$id`` (a stable link target).
        fields: The ``data`` field table, depth-first in schema order.
        example: The first example ``data``.
        example_envelope: That example as a complete webhook body.
    """

    version: int
    status: str
    is_current: bool
    title: str
    description: str
    fires_when: str
    frequency: str
    criticality: str
    released: Optional[str]
    deprecated: Optional[str]
    sunset: Optional[str]
    changelog: tuple[ChangelogEntry, ...]
    schema_id: str
    fields: tuple[FieldRow, ...]
    example: Any
    example_envelope: dict[str, Any]


@dataclass(frozen=True)
class EventReference:
    """An event type, documented (top-level fields are those of its current version).

    Attributes:
        type: ``invoice.paid``.
        resource: ``invoice``.
        action: ``paid``.
        title, description, fires_when, frequency, criticality: From the current version.
        current_version: The version sent by default.
        versions: Every version, ascending.
    """

    type: str
    resource: str
    action: str
    title: str
    description: str
    fires_when: str
    frequency: str
    criticality: str
    current_version: int
    versions: tuple[VersionReference, ...]


def _types(schema: Mapping[str, Any]) -> list[str]:
    t = schema.get("type")
    if isinstance(t, str):
        return [t]
    if isinstance(t, list):
        return [x for x in t if isinstance(x, str)]
    return []


def _type_name(schema: Mapping[str, Any]) -> str:
    schema, _ = unwrap_nullable(schema)
    names = [t for t in _types(schema) if t != "null"]
    if names == ["object"]:
        if "properties" in schema and isinstance(schema.get("title"), str):
            return "".join(word[:1].upper() + word[1:] for word in str(schema["title"]).split())
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping) and "properties" not in schema:
            return f"map of {_type_name(extra)}"
        return "object"
    if names == ["array"]:
        items = schema.get("items")
        return f"array of {_type_name(items)}" if isinstance(items, Mapping) else "array"
    if not names and "const" in schema:
        return "constant"
    return " | ".join(names) or "any"


def _constraints(schema: Mapping[str, Any]) -> tuple[str, ...]:
    words: list[str] = []
    if "const" in schema:
        words.append(f"always {json.dumps(schema['const'])}")
    if "pattern" in schema:
        words.append(f"pattern {schema['pattern']}")
    if "format" in schema:
        words.append(f"format {schema['format']}")
    labels = (
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minimum", "minimum"),
        ("exclusiveMinimum", "greater than"),
        ("maximum", "maximum"),
        ("exclusiveMaximum", "less than"),
        ("multipleOf", "multiple of"),
        ("minItems", "min items"),
        ("maxItems", "max items"),
        ("minProperties", "min entries"),
        ("maxProperties", "max entries"),
    )
    for key, label in labels:
        if key in schema:
            words.append(f"{label} {schema[key]}")
    if schema.get("uniqueItems"):
        words.append("unique items")
    return tuple(words)


def field_rows(schema: Mapping[str, Any], *, prefix: str = "", pointer: str = "", depth: int = 0) -> list[FieldRow]:
    """The field table of an *inlined* object schema (see :meth:`Catalog.resolved_schema`)."""
    schema, _ = unwrap_nullable(schema)
    rows: list[FieldRow] = []
    props = schema.get("properties")
    if isinstance(props, Mapping):
        required = set(schema.get("required") or [])
        for name, sub in props.items():
            if not isinstance(sub, Mapping):
                continue
            field_schema, nullable = unwrap_nullable(sub)
            full = f"{prefix}.{name}" if prefix else name
            here = f"{pointer}/{name.replace('~', '~0').replace('/', '~1')}"
            enum = tuple(v for v in field_schema.get("enum", []) if v is not None)
            rows.append(
                FieldRow(
                    name=full,
                    pointer=here,
                    depth=depth,
                    type=_type_name(sub),
                    nullable=nullable,
                    required=name in required,
                    description=str(sub.get("description") or field_schema.get("description") or ""),
                    enum=enum,
                    constraints=_constraints(field_schema),
                    deprecated=bool(sub.get("deprecated")),
                )
            )
            rows += _children(field_schema, full, here, depth + 1)
    return rows


def _children(schema: Mapping[str, Any], prefix: str, pointer: str, depth: int) -> list[FieldRow]:
    if "properties" in schema:
        return field_rows(schema, prefix=prefix, pointer=pointer, depth=depth)
    items = schema.get("items")
    if isinstance(items, Mapping):
        inner, _ = unwrap_nullable(items)
        return (
            _children(inner, prefix + "[]", pointer + "/*", depth) if "properties" in inner or "items" in inner else []
        )
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        inner, _ = unwrap_nullable(extra)
        return (
            field_rows(inner, prefix=prefix + "{}", pointer=pointer + "/*", depth=depth)
            if "properties" in inner
            else []
        )
    return []


def envelope_fields(catalog: Catalog) -> list[FieldRow]:
    """The field table of the envelope (``id``, ``type``, ``version``, ``created``, ...)."""
    return field_rows(catalog.inline(catalog.envelope_schema, catalog.base_uri + "envelope.json"))


def _version_reference(catalog: Catalog, ev: EventVersion, is_current: bool) -> VersionReference:
    return VersionReference(
        version=ev.version,
        status=ev.status,
        is_current=is_current,
        title=ev.title,
        description=ev.description,
        fires_when=ev.fires_when,
        frequency=ev.frequency,
        criticality=ev.criticality,
        released=ev.released,
        deprecated=ev.deprecated,
        sunset=ev.sunset,
        changelog=ev.changelog,
        schema_id=ev.schema_id,
        fields=tuple(field_rows(catalog.resolved_schema(ev.type, ev.version))),
        example=catalog.example(ev.type, ev.version) if ev.examples else None,
        example_envelope=catalog.example_envelope(ev.type, ev.version) if ev.examples else {},
    )


def event_reference(catalog: Catalog, event_type: str) -> EventReference:
    """The reference of one event type.

    Raises:
        UnknownEventError: no such event type.
    """
    etype = catalog.event(event_type)
    current = etype.current
    return EventReference(
        type=etype.type,
        resource=current.resource,
        action=current.action,
        title=current.title,
        description=current.description,
        fires_when=current.fires_when,
        frequency=current.frequency,
        criticality=current.criticality,
        current_version=current.version,
        versions=tuple(_version_reference(catalog, ev, ev.version == current.version) for ev in etype),
    )


def catalog_reference(catalog: Catalog) -> list[EventReference]:
    """The reference of every event type, ordered by resource then type."""
    return [event_reference(catalog, t) for t in sorted(catalog.events, key=lambda t: (t.rsplit(".", 1)[0], t))]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(event: EventReference) -> str:
    """Render one event's reference as Markdown (a heading, its facts, then each version)."""
    out = [f"## `{event.type}`", "", event.description, ""]
    out += [
        f"- **When it fires:** {event.fires_when}",
        f"- **Frequency:** {event.frequency}",
        f"- **Criticality:** {event.criticality}",
        f"- **Current version:** {event.current_version}",
        "",
    ]
    for version in event.versions:
        lifecycle = version.status
        if version.released:
            lifecycle += f", released {version.released}"
        if version.sunset:
            lifecycle += f", sunset {version.sunset}"
        out += [f"### {event.type} v{version.version} ({lifecycle})", "", version.description, ""]
        out += ["| Field | Type | Required | Description |", "|---|---|---|---|"]
        for row in version.fields:
            kind = row.type + (" or null" if row.nullable else "")
            extra = []
            if row.enum:
                extra.append("one of " + ", ".join(f"`{v}`" for v in row.enum))
            extra += [f"{c}" for c in row.constraints]
            description = row.description + (f" ({'; '.join(extra)})" if extra else "")
            name = "&nbsp;&nbsp;" * row.depth + f"`{row.name}`"
            out.append(f"| {name} | {_cell(kind)} | {'yes' if row.required else 'no'} | {_cell(description)} |")
        out += ["", "Example:", "", "```json", json.dumps(version.example_envelope, indent=2), "```", ""]
        if version.changelog:
            out += ["Changes:", ""] + [f"- {entry.date}: {entry.change}" for entry in version.changelog] + [""]
    return "\n".join(out)
