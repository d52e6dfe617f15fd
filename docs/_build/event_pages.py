"""Render the event reference pages from a loaded ``hookseal_catalog.Catalog``.

Used by ``gen_events.py`` at build time and by the docs tests. Schemas are read with
``Catalog.resolved_schema`` (every ``$ref`` inlined) and flattened into one table row per
field, nested fields as dotted paths (``invoice.lines[].amount``).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator, Mapping
from typing import Any

CRITICALITY_LABEL = {
    "high": "**high**: money or access depends on it",
    "medium": "medium: keeps your copy of the data in sync",
    "low": "low: informational",
}


def _cell(text: str) -> str:
    """Make text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _types(schema: Mapping[str, Any]) -> tuple[list[str], bool]:
    """The non-null types a schema allows and whether it allows null."""
    declared = schema.get("type")
    types = declared if isinstance(declared, list) else ([declared] if declared else [])
    nullable = "null" in types
    types = [t for t in types if t != "null"]
    for key in ("anyOf", "oneOf"):
        for branch in schema.get(key, []) or []:
            if isinstance(branch, Mapping):
                sub, sub_null = _types(branch)
                nullable = nullable or sub_null or branch.get("type") == "null"
                types.extend(t for t in sub if t not in types)
    if not types and "const" in schema:
        types = [type(schema["const"]).__name__.replace("str", "string")]
    if not types and "enum" in schema:
        types = ["string"]
    return types, nullable


def _object_branch(schema: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The object schema inside ``schema`` (itself, or its non-null anyOf/oneOf branch)."""
    if isinstance(schema.get("properties"), Mapping):
        return schema
    for key in ("anyOf", "oneOf"):
        for branch in schema.get(key, []) or []:
            if isinstance(branch, Mapping) and isinstance(branch.get("properties"), Mapping):
                return branch
    return None


def _items(schema: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for candidate in [schema, *(schema.get("anyOf", []) or []), *(schema.get("oneOf", []) or [])]:
        if isinstance(candidate, Mapping) and isinstance(candidate.get("items"), Mapping):
            items: Mapping[str, Any] = candidate["items"]
            return items
    return None


def type_label(schema: Mapping[str, Any]) -> str:
    """A short human label: ``string``, ``integer or null``, ``array of object``."""
    types, nullable = _types(schema)
    labels = []
    for t in types:
        if t == "array":
            items = _items(schema)
            inner = _types(items)[0] if items else []
            labels.append("array of " + (" or ".join(inner) if inner else "any"))
        elif t == "object" and not _object_branch(schema):
            extra = schema.get("additionalProperties")
            if isinstance(extra, Mapping) and extra.get("type"):
                labels.append(f"map of {' or '.join(_types(extra)[0])}")
            else:
                labels.append("object")
        else:
            labels.append(t)
    label = " or ".join(labels) or "any"
    return label + (" or null" if nullable else "")


def _details(schema: Mapping[str, Any]) -> str:
    """Description plus the constraints a reader needs (enum, const, format, pattern)."""
    parts = [schema.get("description", "") or ""]
    source = schema
    for key in ("anyOf", "oneOf"):
        for branch in schema.get(key, []) or []:
            if isinstance(branch, Mapping) and branch.get("type") != "null":
                source = {**branch, **{k: v for k, v in schema.items() if k not in (key,)}}
    if "const" in source:
        parts.append(f"Always `{json.dumps(source['const'])}`.")
    enum = source.get("enum")
    if isinstance(enum, list):
        parts.append("One of " + ", ".join(f"`{json.dumps(v) if not isinstance(v, str) else v}`"
                                           for v in enum if v is not None) + ".")
    if isinstance(source.get("format"), str):
        parts.append(f"Format `{source['format']}`.")
    if isinstance(source.get("pattern"), str):
        parts.append(f"Matches `{source['pattern']}`.")
    return " ".join(p.strip() for p in parts if p and p.strip())


def field_rows(schema: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str, bool, str]]:
    """``(path, type, required, details)`` for every field of an object schema, depth first."""
    obj = _object_branch(schema)
    if obj is None:
        return
    required = set(obj.get("required", []) or [])
    for name, sub in obj["properties"].items():
        if not isinstance(sub, Mapping):
            continue
        path = prefix + name
        yield path, type_label(sub), name in required, _details(sub)
        if _object_branch(sub):
            yield from field_rows(sub, path + ".")
        items = _items(sub)
        if items is not None and _object_branch(items):
            yield from field_rows(items, path + "[].")


def field_table(schema: Mapping[str, Any], prefix: str = "") -> str:
    """The Markdown table of :func:`field_rows`."""
    lines = ["| field | type | required | description |", "|---|---|:---:|---|"]
    for path, label, required, details in field_rows(schema, prefix):
        # <wbr> lets a long dotted path wrap between its parts instead of mid-name.
        shown = "<code>" + html.escape(path).replace(".", ".<wbr>") + "</code>"
        lines.append(f"| {shown} | {_cell(label)} | {'yes' if required else 'no'} | {_cell(details)} |")
    return "\n".join(lines)


def _link(event_type: str) -> str:
    return f"[`{event_type}`]({event_type}.md)"


def index_page(catalog: Any) -> str:
    """``events/index.md``: every event type in one table, then the envelope."""
    out = [
        "# Event reference",
        "",
        "Every webhook Hookseal's sample billing catalog sends. This section is generated from",
        "the event catalog (`event_catalog/`) when the site is built, so it always matches the",
        "schemas the sender validates against. Names are `resource.action`, lowercase and",
        "dot-separated; each event has its own major versions (see [Versioning](#versioning)).",
        "",
        "| event | when it fires | frequency | criticality | versions |",
        "|---|---|---|---|---|",
    ]
    for etype in catalog.events.values():
        cur = etype.current
        versions = ", ".join(
            f"v{v.version}" + ("" if v.status == "released" else f" ({v.status})") for v in etype
        )
        out.append(
            f"| {_link(etype.type)} | {_cell(cur.fires_when)} | {_cell(cur.frequency)} | "
            f"{_cell(cur.criticality)} | {versions} |"
        )
    uri = catalog.envelope_schema.get("$id") or catalog.base_uri + "envelope.json"
    envelope = catalog.inline(catalog.envelope_schema, uri)
    out += [
        "",
        "Criticality: **high** means money or access depends on the event (act on it, and",
        "alert when it stops arriving); **medium** keeps your copy of the provider's data in",
        "sync; **low** is informational.",
        "",
        "## The envelope",
        "",
        _cell(envelope.get("description", "")) or "Every webhook body is this JSON object:",
        "",
        field_table(envelope),
        "",
        "The `id` is the event's id and the `type` equals the event-type header. Trust the",
        "values in the verified body, not the unsigned headers.",
        "",
        "## Versioning",
        "",
        "Each event type has its own major versions. Inside a version only additive changes",
        "happen (a new optional field, a new enum value), so write receivers that ignore",
        "fields they do not know. A breaking change (a field removed, renamed or retyped) means",
        "a new major version; the old one keeps being served until its published sunset date.",
        "The envelope's `version` tells you which one you received.",
        "",
    ]
    return "\n".join(out)


def _history(version: Any) -> list[str]:
    lines = []
    facts = [f"status **{version.status}**"]
    if version.released:
        facts.append(f"released {version.released}")
    if version.deprecated:
        facts.append(f"deprecated {version.deprecated}")
    if version.sunset:
        facts.append(f"sunset {version.sunset}")
    lines.append("Version " + str(version.version) + ": " + ", ".join(facts) + ".")
    lines.append("")
    for entry in version.changelog:
        lines.append(f"- **{entry.date}**: {_cell(entry.change)}")
    return lines


def event_page(catalog: Any, etype: Any) -> str:
    """``events/<type>.md``: summary, then per version its fields, example and history."""
    cur = etype.current
    out = [
        f"# {etype.type}",
        "",
        _cell(cur.description),
        "",
        f"- **When it fires:** {_cell(cur.fires_when)}",
        f"- **Frequency:** {_cell(cur.frequency)}",
        f"- **Criticality:** {CRITICALITY_LABEL.get(cur.criticality, _cell(cur.criticality))}",
        f"- **Current version:** {cur.version} (the envelope's `version`)",
        "",
    ]
    for version in sorted(etype, key=lambda v: -v.version):
        tag = "current" if version.version == cur.version else version.status
        out += [
            f"## Version {version.version} ({tag}) {{ #v{version.version} }}",
            "",
        ]
        if version.version != cur.version:
            out += [_cell(version.description), ""]
        out += [
            f"### Fields of `data` (v{version.version}) {{ #v{version.version}-fields }}",
            "",
            field_table(catalog.resolved_schema(version.type, version.version)),
            "",
            f"### Example (v{version.version}) {{ #v{version.version}-example }}",
            "",
            "A complete webhook body, envelope included:",
            "",
            "```json",
            json.dumps(catalog.example_envelope(version.type, version.version), indent=2,
                       ensure_ascii=False),
            "```",
            "",
            f"### History (v{version.version}) {{ #v{version.version}-history }}",
            "",
            *_history(version),
            "",
        ]
    return "\n".join(out)


def summary(catalog: Any) -> str:
    """``events/SUMMARY.md``: the literate-nav navigation of the section."""
    lines = ["* [All events](index.md)"]
    lines += [f"* [{t}]({t}.md)" for t in catalog.events]
    return "\n".join(lines) + "\n"
