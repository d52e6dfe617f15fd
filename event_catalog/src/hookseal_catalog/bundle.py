"""Turning the multi-file catalog into one set of named schemas.

OpenAPI's ``components/schemas`` and datamodel-code-generator's ``$defs`` both want every
schema in one document, referenced by name. :func:`bundle` gives each catalog document a
name (:func:`component_name`, :func:`data_model_name`) and rewrites every ``$ref`` to
``<prefix><Name>``::

    bundle(catalog, "#/components/schemas/")
    # {"Envelope": {...}, "Money": {...}, ..., "InvoicePaidV1Data": {...}}

With ``tolerant=True`` every ``additionalProperties: false`` is dropped: the *consumer's*
view of the catalog, where unknown fields must be ignored because additive changes are
allowed within a version (the catalog itself stays closed so the sender rejects typos and
internal-only fields at enqueue).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any
from urllib.parse import urldefrag, urljoin

from .catalog import ENVELOPE, Catalog

__all__ = ["bundle", "component_name", "data_model_name", "event_model_name", "relax"]

_DROP = ("$schema", "$id", "x-hookseal")


def _pascal(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in text.replace(".", "_").split("_") if part)


def component_name(name: str) -> str:
    """The bundled name of ``components/<name>.json``: ``invoice_line_item`` -> ``InvoiceLineItem``."""
    return _pascal(name)


def data_model_name(event_type: str, version: int) -> str:
    """The bundled name of an event's ``data`` schema: ``invoice.paid`` v1 -> ``InvoicePaidV1Data``."""
    return f"{_pascal(event_type)}V{version}Data"


def event_model_name(event_type: str, version: int) -> str:
    """The name of a whole typed event (envelope plus data): ``InvoicePaidV1Event``."""
    return f"{_pascal(event_type)}V{version}Event"


def relax(schema: Any) -> Any:
    """A copy of ``schema`` without any ``additionalProperties: false`` (the tolerant view)."""
    if isinstance(schema, list):
        return [relax(item) for item in schema]
    if not isinstance(schema, Mapping):
        return copy.deepcopy(schema)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "additionalProperties" and value is False:
            continue
        if key in ("enum", "const", "examples"):
            out[key] = copy.deepcopy(value)
        else:
            out[key] = relax(value)
    return out


def bundle(
    catalog: Catalog,
    ref_prefix: str = "#/$defs/",
    *,
    tolerant: bool = False,
    examples: bool = True,
) -> dict[str, dict[str, Any]]:
    """Every catalog schema under a name, with ``$ref``s rewritten to ``ref_prefix + name``.

    Order: ``Envelope``, the components (by name), then each event version's data schema.
    ``$schema``, ``$id`` and ``x-hookseal`` are dropped; ``examples`` too unless
    ``examples`` is true. Raises ``LookupError`` for a ``$ref`` that points at no catalog
    document, or that carries a fragment (lint forbids both).
    """
    names: dict[str, str] = {}
    sources: list[tuple[str, Mapping[str, Any], str]] = []
    envelope_uri = str(catalog.envelope_schema.get("$id") or catalog.base_uri + ENVELOPE)
    sources.append(("Envelope", catalog.envelope_schema, envelope_uri))
    for name, doc in sorted(catalog.components.items()):
        uri = str(doc.get("$id") or f"{catalog.base_uri}components/{name}.json")
        sources.append((component_name(name), doc, uri))
    for ev in catalog.versions():
        sources.append((data_model_name(ev.type, ev.version), ev.schema, ev.schema_id))
    for name, doc, uri in sources:
        names[uri] = name
        names[catalog.base_uri + _relpath(catalog, doc)] = name

    def rewrite(node: Any, base: str) -> Any:
        if isinstance(node, list):
            return [rewrite(item, base) for item in node]
        if not isinstance(node, Mapping):
            return copy.deepcopy(node)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                uri, fragment = urldefrag(urljoin(base, value))
                if fragment or uri not in names:
                    raise LookupError(f"$ref {value!r} does not name a whole catalog document")
                out[key] = ref_prefix + names[uri]
            elif key in ("enum", "const", "examples", "x-hookseal"):
                out[key] = copy.deepcopy(value)
            else:
                out[key] = rewrite(value, base)
        return out

    result: dict[str, dict[str, Any]] = {}
    for name, doc, uri in sources:
        schema = rewrite(doc, uri)
        for key in _DROP:
            schema.pop(key, None)
        if not examples:
            schema.pop("examples", None)
        result[name] = relax(schema) if tolerant else schema
    return result


def _relpath(catalog: Catalog, doc: Mapping[str, Any]) -> str:
    for rel, candidate in catalog.documents.items():
        if candidate is doc:
            return rel
    return ""
