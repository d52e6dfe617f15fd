"""Property tests: instances generated from every event schema validate against the catalog
and round-trip unchanged through the SDK's generated pydantic models."""

from __future__ import annotations

from typing import Any

import pytest
from hookseal.models import EVENT_MODELS, UnknownEvent, parse_event
from hookseal_catalog import load_catalog
from hookseal_catalog.strategies import data as data_strategy
from hookseal_catalog.strategies import envelopes
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

_CATALOG = load_catalog()
_VERSIONS = [(ev.type, ev.version) for ev in _CATALOG.versions()]
_ENVELOPES = {key: envelopes(_CATALOG, *key) for key in _VERSIONS}


def test_every_catalog_event_has_a_generated_model() -> None:
    assert sorted(EVENT_MODELS) == sorted(_VERSIONS)


@pytest.mark.parametrize(("event_type", "version"), _VERSIONS, ids=[f"{t}.v{v}" for t, v in _VERSIONS])
@settings(settings.get_profile("catalog"))
@given(data=st.data())
def test_generated_instances_validate_and_round_trip(event_type: str, version: int, data: st.DataObject) -> None:
    envelope = data.draw(_ENVELOPES[(event_type, version)])
    # the catalog accepts what its own schema generates (envelope and data)
    assert _CATALOG.validate_envelope(envelope).version == version
    model = parse_event(envelope)
    assert type(model) is EVENT_MODELS[(event_type, version)]
    assert model.model_dump(mode="json", exclude_unset=True) == envelope


def _bare(event_type: str, version: int) -> dict[str, Any]:
    schema = _CATALOG.resolved_schema(event_type, version)
    for key in ("$schema", "$id", "x-hookseal", "examples"):
        schema.pop(key, None)
    return schema


def test_the_composed_strategies_match_plain_hypothesis_jsonschema() -> None:
    """hookseal_catalog.strategies is a speed-up: hypothesis-jsonschema on a whole schema
    (the smallest events, plus payment.failed v2) gives instances that validate too."""
    strategy = st.one_of(
        *(
            st.tuples(st.just((event_type, version)), from_schema(_bare(event_type, version)))
            for event_type, version in [("test.ping", 1), ("payment.failed", 2)]
        )
    )

    @settings(settings.get_profile("catalog"), max_examples=10)
    @given(strategy)
    def check(drawn: tuple[tuple[str, int], dict[str, Any]]) -> None:
        (event_type, version), payload = drawn
        _CATALOG.validate(event_type, payload, version)

    check()


@settings(settings.get_profile("catalog"), max_examples=10)
@given(envelopes(_CATALOG))
def test_envelopes_of_any_event(envelope: dict[str, Any]) -> None:
    ev = _CATALOG.validate_envelope(envelope)
    assert (ev.type, ev.version) in EVENT_MODELS


@settings(settings.get_profile("catalog"), max_examples=10)
@given(data_strategy(_CATALOG, "payment.failed"))
def test_data_defaults_to_the_current_version(payload: dict[str, Any]) -> None:
    _CATALOG.validate("payment.failed", payload, 2)


@settings(settings.get_profile("catalog"))
@given(data=st.data())
def test_unknown_types_round_trip_as_generic_envelopes(data: st.DataObject) -> None:
    envelope = data.draw(_ENVELOPES[("test.ping", 1)])
    envelope["type"] = "widget.frobbed"
    envelope["data"] = data.draw(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=4))
    model = parse_event(envelope)
    assert isinstance(model, UnknownEvent)
    assert model.model_dump(mode="json", exclude_unset=True) == envelope
