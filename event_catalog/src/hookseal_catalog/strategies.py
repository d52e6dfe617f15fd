"""Hypothesis strategies drawing valid event payloads and envelopes from the catalog.

Needs the ``testing`` extra (``pip install 'hookseal-catalog[testing]'``: hypothesis and
hypothesis-jsonschema); the rest of the package does not import this module.

``hypothesis_jsonschema.from_schema`` on a whole event schema rebuilds its nested object
strategies on every draw (about 0.8 s per ``invoice.*`` payload); these strategies compose
objects and arrays once and let hypothesis-jsonschema draw only the leaves, which is about
ten times faster and draws the same instances::

    from hookseal_catalog import load_catalog
    from hookseal_catalog.strategies import envelopes

    @given(envelopes(load_catalog()))
    def test_receiver(body): ...
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from .catalog import Catalog, EventVersion

__all__ = ["data", "envelopes", "schema_strategy"]


def schema_strategy(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Instances of an *inlined* catalog schema (no ``$ref``; see ``Catalog.resolved_schema``)."""
    any_of = schema.get("anyOf")
    if isinstance(any_of, list) and {"type": "null"} in any_of and len(any_of) == 2:
        inner = next(s for s in any_of if s != {"type": "null"})
        return st.none() | schema_strategy(inner)
    props = schema.get("properties")
    if schema.get("type") == "object" and isinstance(props, Mapping) and schema.get("additionalProperties") is False:
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: schema_strategy(v) for k, v in props.items() if k in required},
            optional={k: schema_strategy(v) for k, v in props.items() if k not in required},
        )
    items = schema.get("items")
    if schema.get("type") == "array" and isinstance(items, Mapping) and "properties" in items:
        low = int(schema.get("minItems", 0))
        return st.lists(schema_strategy(items), min_size=low, max_size=max(low, min(int(schema.get("maxItems", 5)), 5)))
    leaf = {
        k: v for k, v in schema.items() if k not in ("title", "description", "examples", "$schema", "$id", "x-hookseal")
    }
    return from_schema(leaf)


def _version(catalog: Catalog, event_type: str, version: Optional[int]) -> EventVersion:
    return catalog.get(event_type, version)


def data(catalog: Catalog, event_type: str, version: Optional[int] = None) -> st.SearchStrategy[dict[str, Any]]:
    """Valid ``data`` payloads of one event version (default: its current version)."""
    ev = _version(catalog, event_type, version)
    return schema_strategy(catalog.resolved_schema(ev.type, ev.version))


def envelopes(
    catalog: Catalog, event_type: Optional[str] = None, version: Optional[int] = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid whole webhook bodies: of one event version, or (``event_type=None``) of any
    version of any event in the catalog."""
    envelope = catalog.inline(catalog.envelope_schema, catalog.base_uri + "envelope.json")
    props = envelope["properties"]
    targets = [_version(catalog, event_type, version)] if event_type is not None else list(catalog.versions())
    return st.one_of(
        [
            st.fixed_dictionaries(
                {
                    "id": from_schema(props["id"]),
                    "type": st.just(ev.type),
                    "version": st.just(ev.version),
                    "created": from_schema(props["created"]),
                    "livemode": st.booleans(),
                    "data": data(catalog, ev.type, ev.version),
                }
            )
            for ev in targets
        ]
    )
