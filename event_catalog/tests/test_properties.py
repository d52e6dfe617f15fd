"""Property tests: instances generated from every event schema validate against the catalog
and round-trip unchanged through the SDK's generated pydantic models."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from hookseal.models import EVENT_MODELS, UnknownEvent, parse_event
from hookseal_catalog import Catalog, load_catalog
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

_CATALOG = load_catalog()
_VERSIONS = [(ev.type, ev.version) for ev in _CATALOG.versions()]


def _generation_schema(catalog: Catalog, event_type: str, version: int) -> dict[str, Any]:
    schema = catalog.resolved_schema(event_type, version)
    for key in ("$schema", "$id", "x-hookseal", "examples"):
        schema.pop(key, None)
    return schema


def _strategy(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """hypothesis-jsonschema for every leaf; objects and arrays composed here, once.

    hypothesis-jsonschema rebuilds nested object strategies on every draw (about 0.8 s per
    invoice); composing the structure once keeps the whole run fast. Leaves (strings with
    patterns, bounded integers, enums, maps) are drawn by ``from_schema`` itself.
    """
    any_of = schema.get("anyOf")
    if isinstance(any_of, list) and {"type": "null"} in any_of and len(any_of) == 2:
        inner = next(s for s in any_of if s != {"type": "null"})
        return st.none() | _strategy(inner)
    if schema.get("type") == "object" and isinstance(schema.get("properties"), dict):
        assert schema.get("additionalProperties") is False, "open objects are drawn by from_schema"
        required = set(schema.get("required", []))
        props = schema["properties"]
        return st.fixed_dictionaries(
            {k: _strategy(v) for k, v in props.items() if k in required},
            optional={k: _strategy(v) for k, v in props.items() if k not in required},
        )
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict) and "properties" in schema["items"]:
        return st.lists(
            _strategy(schema["items"]), min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 5), 5)
        )
    leaf = {k: v for k, v in schema.items() if k not in ("title", "description")}
    return from_schema(leaf)


@functools.cache
def _envelopes(event_type: str, version: int) -> st.SearchStrategy[dict[str, Any]]:
    envelope = _CATALOG.inline(_CATALOG.envelope_schema, _CATALOG.base_uri + "envelope.json")
    props = envelope["properties"]
    return st.fixed_dictionaries(
        {
            "id": from_schema(props["id"]),
            "type": st.just(event_type),
            "version": st.just(version),
            "created": from_schema(props["created"]),
            "livemode": st.booleans(),
            "data": _strategy(_generation_schema(_CATALOG, event_type, version)),
        }
    )


def test_pure_hypothesis_jsonschema_instances_validate() -> None:
    """The composed strategies above are a speed-up: hypothesis-jsonschema on a whole
    schema (here the smallest events, plus payment.failed v2) gives valid instances too."""
    strategy = st.one_of(
        *(
            st.tuples(st.just((event_type, version)), from_schema(_generation_schema(_CATALOG, event_type, version)))
            for event_type, version in [("test.ping", 1), ("payment.failed", 2)]
        )
    )

    @settings(settings.get_profile("catalog"), max_examples=10)
    @given(strategy)
    def check(drawn: tuple[tuple[str, int], dict[str, Any]]) -> None:
        (event_type, version), data = drawn
        _CATALOG.validate(event_type, data, version)

    check()


def test_every_catalog_event_has_a_generated_model() -> None:
    assert sorted(EVENT_MODELS) == sorted(_VERSIONS)


@pytest.mark.parametrize(("event_type", "version"), _VERSIONS, ids=[f"{t}.v{v}" for t, v in _VERSIONS])
@settings(settings.get_profile("catalog"))
@given(data=st.data())
def test_generated_instances_validate_and_round_trip(event_type: str, version: int, data: st.DataObject) -> None:
    envelope = data.draw(_envelopes(event_type, version))
    # the catalog accepts what its own schema generates (envelope and data)
    assert _CATALOG.validate_envelope(envelope).version == version
    model = parse_event(envelope)
    assert type(model) is EVENT_MODELS[(event_type, version)]
    assert model.model_dump(mode="json", exclude_unset=True) == envelope


@settings(settings.get_profile("catalog"))
@given(data=st.data())
def test_unknown_types_round_trip_as_generic_envelopes(data: st.DataObject) -> None:
    envelope = data.draw(_envelopes("test.ping", 1))
    envelope["type"] = "widget.frobbed"
    envelope["data"] = data.draw(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=4))
    model = parse_event(envelope)
    assert isinstance(model, UnknownEvent)
    assert model.model_dump(mode="json", exclude_unset=True) == envelope
