"""Builders of small in-memory catalogs for the catalog tests (unique module name: pytest
puts every tests directory on the path)."""

from __future__ import annotations

from typing import Any, Optional

from hookseal_catalog import Catalog

BASE = "https://schemas.hookseal.dev/"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def mini_documents(
    events: dict[tuple[str, int], dict[str, Any]],
    *,
    statuses: Optional[dict[tuple[str, int], dict[str, Any]]] = None,
    components: Optional[dict[str, dict[str, Any]]] = None,
) -> dict[str, Any]:
    """Documents of a small catalog: ``events`` maps (type, version) to the data schema's
    ``properties``/``required``/... keywords; lifecycle overrides go in ``statuses``."""
    docs: dict[str, Any] = {
        "catalog.json": {
            "name": "mini",
            "title": "Mini",
            "description": "Test catalog.",
            "base_uri": BASE,
            "version": "1",
        },
        "envelope.json": {
            "$schema": DIALECT,
            "$id": BASE + "envelope.json",
            "title": "Envelope",
            "description": "Envelope.",
            "type": "object",
            "properties": {
                name: {"type": kind, "description": name}
                for name, kind in [
                    ("id", "string"),
                    ("type", "string"),
                    ("version", "integer"),
                    ("created", "integer"),
                    ("livemode", "boolean"),
                    ("data", "object"),
                ]
            },
            "required": ["id", "type", "version", "created", "livemode", "data"],
            "additionalProperties": False,
        },
    }
    for name, schema in (components or {}).items():
        docs[f"components/{name}.json"] = {
            "$schema": DIALECT,
            "$id": f"{BASE}components/{name}.json",
            "title": name,
            "description": name,
            "type": "object",
            **schema,
        }
    for (etype, version), schema in events.items():
        meta: dict[str, Any] = {
            "type": etype,
            "version": version,
            "status": "released",
            "fires_when": "When it happens.",
            "frequency": "Often.",
            "criticality": "low",
            "released": "2026-01-01",
            "changelog": [{"date": "2026-01-01", "change": "Released."}],
        }
        meta.update((statuses or {}).get((etype, version), {}))
        docs[f"events/{etype}/v{version}.json"] = {
            "$schema": DIALECT,
            "$id": f"{BASE}events/{etype}/v{version}.json",
            "title": f"{etype} v{version}",
            "description": "An event.",
            "x-hookseal": meta,
            "type": "object",
            "additionalProperties": False,
            **schema,
        }
    return docs


def mini_catalog(
    events: dict[tuple[str, int], dict[str, Any]],
    *,
    statuses: Optional[dict[tuple[str, int], dict[str, Any]]] = None,
    components: Optional[dict[str, dict[str, Any]]] = None,
) -> Catalog:
    """A small in-memory :class:`Catalog` (see :func:`mini_documents`)."""
    return Catalog(mini_documents(events, statuses=statuses, components=components))
