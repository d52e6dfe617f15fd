"""The event reference of any catalog as Markdown pages, for a docs site.

:func:`reference_pages` returns every page of the section, ``{path: Markdown}``::

    index.md              every event type in one table, the envelope, versioning
    <type>.md             per event: summary, then per version its fields, example, history
    SUMMARY.md            the section's navigation, for mkdocs-literate-nav
    events.json           the event types, sorted (for scripts and tests)

The MkDocs plugin (:mod:`hookseal_catalog.mkdocs_plugin`) writes them into a site; any
other generator can call this module. Everything shown comes from
:mod:`hookseal_catalog.reference`; this module only lays it out.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any, Optional

from .catalog import Catalog
from .lifecycle import lifecycle
from .ordering import ordering_key
from .reference import (
    EventReference,
    FieldRow,
    VersionReference,
    catalog_reference,
    envelope_fields,
)

__all__ = ["ABOUT_PAGE", "event_page", "field_table", "index_page", "reference_pages", "summary"]

ABOUT_PAGE = "about-the-catalog.md"
"""The page the ``about`` file (the catalog's conventions) becomes, when there is one."""

CRITICALITY_LABEL = {
    "high": "**high**: money or access depends on it",
    "medium": "medium: keeps your copy of the data in sync",
    "low": "low: informational",
}


def _cell(text: str) -> str:
    """Make text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _constraint(text: str) -> str:
    """``pattern ^a$`` -> ``Matches `^a$`.``; ``max length 200`` -> ``Max length 200.``"""
    word, _, rest = text.partition(" ")
    if word in ("pattern", "format") and rest:
        return ("Matches" if word == "pattern" else "Format") + f" `{rest}`."
    return text[:1].upper() + text[1:] + "."


def field_table(rows: Sequence[FieldRow]) -> str:
    """A Markdown table with one row per field (dotted paths, depth first)."""
    lines = ["| field | type | required | description |", "|---|---|:---:|---|"]
    for row in rows:
        kind = row.type + (" or null" if row.nullable else "")
        details = [row.description.strip()] if row.description.strip() else []
        if row.deprecated:
            details.insert(0, "**Deprecated.**")
        if row.enum:
            details.append("One of " + ", ".join(f"`{_value(v)}`" for v in row.enum) + ".")
        details += [_constraint(c) for c in row.constraints]
        # <wbr> lets a long dotted path wrap between its parts instead of mid-name.
        shown = "<code>" + html.escape(row.name).replace(".", ".<wbr>") + "</code>"
        lines.append(f"| {shown} | {_cell(kind)} | {'yes' if row.required else 'no'} | {_cell(' '.join(details))} |")
    return "\n".join(lines)


def _link(event_type: str) -> str:
    return f"[`{event_type}`]({event_type}.md)"


def index_page(catalog: Catalog, *, about: bool = False) -> str:
    """``index.md``: every event type in one table, then the envelope and versioning.

    ``about``: link the catalog's conventions page (:data:`ABOUT_PAGE`).
    """
    out = [
        "# Event reference",
        "",
        _cell(catalog.description),
        "",
        f"This section is generated from the event catalog ({_cell(catalog.title)}) when the site is built, so it",
        "always matches the schemas the sender validates against. Names are",
        "`resource.action`, lowercase and dot-separated; each event has its own major",
        "versions (see [Versioning](#versioning)).",
        "",
        "| event | when it fires | frequency | criticality | versions |",
        "|---|---|---|---|---|",
    ]
    for event in catalog_reference(catalog):
        versions = ", ".join(
            f"v{v.version}" + ("" if v.status == "released" else f" ({v.status})") for v in event.versions
        )
        out.append(
            f"| {_link(event.type)} | {_cell(event.fires_when)} | {_cell(event.frequency)} | "
            f"{_cell(event.criticality)} | {versions} |"
        )
    out += [
        "",
        "Criticality: **high** means money or access depends on the event (act on it, and",
        "alert when it stops arriving); **medium** keeps your copy of the provider's data in",
        "sync; **low** is informational.",
        "",
        "## The envelope",
        "",
        "Every webhook body is the same JSON object around the event's `data`:",
        "",
        field_table(envelope_fields(catalog)),
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
    ]
    if about:
        out += [
            "The catalog's naming and versioning rules, and the tools that enforce them, are in",
            f"[About the catalog]({ABOUT_PAGE}).",
        ]
    return "\n".join([*out, ""])


def _history(version: VersionReference) -> list[str]:
    facts = [f"status **{version.status}**"]
    if version.released:
        facts.append(f"released {version.released}")
    if version.deprecated:
        facts.append(f"deprecated {version.deprecated}")
    if version.sunset:
        facts.append(f"sunset {version.sunset}")
    lines = [f"Version {version.version}: " + ", ".join(facts) + ".", ""]
    lines += [f"- **{entry.date}**: {_cell(entry.change)}" for entry in version.changelog]
    return lines


def event_page(event: EventReference, catalog: Optional[Catalog] = None) -> str:
    """``<type>.md``: summary, then per version (newest first) fields, example, history.

    With the ``catalog``, the summary also gives the ordering key and the versions served.
    """
    out = [
        f"# {event.type}",
        "",
        _cell(event.description),
        "",
        f"- **When it fires:** {_cell(event.fires_when)}",
        f"- **Frequency:** {_cell(event.frequency)}",
        f"- **Criticality:** {CRITICALITY_LABEL.get(event.criticality, _cell(event.criticality))}",
        f"- **Current version:** {event.current_version} (the envelope's `version`)",
    ]
    if catalog is not None:
        key = ordering_key(catalog, event.type)
        if key is not None:
            out.append(f"- **Ordering key:** `{key}` in `data` (events with the same value concern the same resource)")
        for v in lifecycle(catalog, event.type):
            if v.status != "deprecated" or v.sunset is None:
                continue
            out.append(f"- **Version {v.version}** is deprecated; its sunset is {v.sunset.isoformat()}.")
    out.append("")
    for version in sorted(event.versions, key=lambda v: -v.version):
        n = version.version
        out += [f"## Version {n} ({'current' if version.is_current else version.status}) {{ #v{n} }}", ""]
        if not version.is_current:
            out += [_cell(version.description), ""]
        out += [
            f"### Fields of `data` (v{n}) {{ #v{n}-fields }}",
            "",
            field_table(version.fields),
            "",
            f"### Example (v{n}) {{ #v{n}-example }}",
            "",
            "A complete webhook body, envelope included:",
            "",
            "```json",
            json.dumps(version.example_envelope, indent=2, ensure_ascii=False),
            "```",
            "",
            f"### History (v{n}) {{ #v{n}-history }}",
            "",
            *_history(version),
            "",
        ]
    return "\n".join(out)


def summary(events: Sequence[EventReference], *, about: bool = False) -> str:
    """``SUMMARY.md``: the literate-nav navigation of the section."""
    lines = ["* [All events](index.md)"]
    if about:
        lines.append(f"* [About the catalog]({ABOUT_PAGE})")
    lines += [f"* [{e.type}]({e.type}.md)" for e in sorted(events, key=lambda e: e.type)]
    return "\n".join(lines) + "\n"


def reference_pages(catalog: Catalog, *, about: Optional[str] = None) -> dict[str, str]:
    """Every page of the event reference section: ``{relative path: content}``.

    ``about`` is the Markdown of a page about the catalog's conventions (for example its
    ``README.md``), published as :data:`ABOUT_PAGE` and linked from the index.
    """
    events = catalog_reference(catalog)
    pages = {"index.md": index_page(catalog, about=about is not None)}
    for event in events:
        pages[f"{event.type}.md"] = event_page(event, catalog)
    if about is not None:
        pages[ABOUT_PAGE] = about
    pages["SUMMARY.md"] = summary(events, about=about is not None)
    pages["events.json"] = json.dumps(sorted(catalog.events))
    return pages
