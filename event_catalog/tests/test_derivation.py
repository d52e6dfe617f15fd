"""hookseal_catalog.derivation: older versions' data derived from newer data, or a typed error."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from catalog_testing import mini_catalog
from hookseal_catalog import Catalog, load_catalog
from hookseal_catalog.derivation import DerivationRegistry, derivation_problems, derive, parse_steps
from hookseal_catalog.errors import (
    CatalogError,
    DerivationError,
    DerivedDataInvalidError,
    MissingDerivationError,
    UnknownEventError,
)
from hookseal_catalog.lifecycle import is_served
from hookseal_catalog.strategies import data as data_strategy
from hypothesis import given, settings
from hypothesis import strategies as st

_CATALOG = load_catalog()
TODAY = dt.date(2026, 11, 23)

STR = {"type": "string", "description": "s"}
INT = {"type": "integer", "description": "i"}


def _three_versions(v1_steps: list[dict[str, Any]], v2_steps: list[dict[str, Any]]) -> Catalog:
    """widget.moved v3 {id, place: {x, y}, note?}; v2 {id, x, y}; v1 {id, x, label}."""
    point = {
        "type": "object",
        "description": "p",
        "properties": {"x": INT, "y": INT},
        "required": ["x", "y"],
        "additionalProperties": False,
    }
    deprecated = {"status": "deprecated", "deprecated": "2026-06-01", "sunset": "2027-01-01"}
    return mini_catalog(
        {
            ("widget.moved", 3): {
                "properties": {"id": STR, "place": point, "note": STR},
                "required": ["id", "place"],
            },
            ("widget.moved", 2): {"properties": {"id": STR, "x": INT, "y": INT}, "required": ["id", "x", "y"]},
            ("widget.moved", 1): {"properties": {"id": STR, "x": INT, "label": STR}, "required": ["id", "x", "label"]},
        },
        statuses={
            ("widget.moved", 2): {**deprecated, "derivation": {"from_version": 3, "steps": v2_steps}},
            ("widget.moved", 1): {**deprecated, "derivation": {"from_version": 2, "steps": v1_steps}},
        },
    )


V2_STEPS = [
    {"op": "move", "from": "/place/x", "path": "/x"},
    {"op": "move", "from": "/place/y", "path": "/y"},
    {"op": "remove", "path": "/place"},
    {"op": "remove", "path": "/note"},
]
V1_STEPS = [{"op": "remove", "path": "/y"}, {"op": "default", "path": "/label", "value": "unnamed"}]
V3_DATA = {"id": "w_1", "place": {"x": 3, "y": 4}, "note": "hello"}


def test_the_sample_derives_payment_failed_v1_from_v2_by_declared_steps() -> None:
    v2 = _CATALOG.example("payment.failed", 2)
    v1 = derive(_CATALOG, "payment.failed", v2, 1)
    assert v1 == {"payment": v2["payment"], "failure_reason": v2["failure"]["message"]}
    _CATALOG.validate("payment.failed", v1, 1)
    assert v2 == _CATALOG.example("payment.failed", 2)  # the input is left alone
    ops = [s.op for s in parse_steps(_CATALOG.get("payment.failed", 1).derivation)[1]]
    assert ops == ["move", "remove", "remove"]  # declared steps, no function


def test_derivation_chains_through_intermediate_versions() -> None:
    catalog = _three_versions(V1_STEPS, V2_STEPS)
    assert derive(catalog, "widget.moved", V3_DATA, 2) == {"id": "w_1", "x": 3, "y": 4}
    assert derive(catalog, "widget.moved", V3_DATA, 1) == {"id": "w_1", "x": 3, "label": "unnamed"}
    assert derive(catalog, "widget.moved", {"id": "w", "x": 1, "y": 2}, 1, from_version=2)["label"] == "unnamed"
    same = derive(catalog, "widget.moved", V3_DATA, 3)
    assert same == V3_DATA and same is not V3_DATA


def test_default_keeps_a_present_value_and_copy_keeps_its_source() -> None:
    steps = [{"op": "copy", "from": "/id", "path": "/label"}, {"op": "remove", "path": "/y"},
             {"op": "default", "path": "/label", "value": "unused"}]  # fmt: skip
    catalog = _three_versions(steps, V2_STEPS)
    derived = derive(catalog, "widget.moved", {"id": "w", "x": 1, "y": 2}, 1, from_version=2)
    assert derived == {"id": "w", "x": 1, "label": "w"}


def test_a_moved_value_of_the_wrong_type_is_refused() -> None:
    steps = [{"op": "move", "from": "/y", "path": "/label"}]  # label is a string in v1
    catalog = _three_versions(steps, V2_STEPS)
    with pytest.raises(DerivedDataInvalidError) as info:
        derive(catalog, "widget.moved", {"id": "w", "x": 1, "y": 2}, 1, from_version=2)
    assert info.value.code == "derived_data_invalid"
    assert info.value.issues[0].pointer == "/label"
    assert (info.value.from_version, info.value.to_version) == (2, 1)


def test_a_result_that_does_not_validate_is_never_returned() -> None:
    catalog = _three_versions([{"op": "remove", "path": "/y"}], V2_STEPS)  # forgets /label
    with pytest.raises(DerivedDataInvalidError, match="label") as info:
        derive(catalog, "widget.moved", V3_DATA, 1)
    assert isinstance(info.value, CatalogError) and info.value.code == "derived_data_invalid"


def test_a_step_writing_under_an_absent_parent_fails_with_its_index() -> None:
    catalog = _three_versions([{"op": "default", "path": "/meta/label", "value": "x"}], V2_STEPS)
    with pytest.raises(DerivationError) as info:
        derive(catalog, "widget.moved", V3_DATA, 1)
    assert info.value.code == "derivation_failed" and info.value.step == 0
    assert "parent is absent" in str(info.value)


def test_functions_come_from_a_registry() -> None:
    registry = DerivationRegistry()
    catalog = _three_versions([{"op": "function", "name": "label_from_y"}], V2_STEPS)
    with pytest.raises(MissingDerivationError, match="label_from_y") as info:
        derive(catalog, "widget.moved", V3_DATA, 1, registry=registry)
    assert info.value.code == "derivation_missing"

    @registry.register("label_from_y")
    def label(data: dict[str, Any]) -> dict[str, Any]:
        return {"id": data["id"], "x": data["x"], "label": f"y={data.pop('y')}"}

    assert derive(catalog, "widget.moved", V3_DATA, 1, registry=registry)["label"] == "y=4"
    assert registry.names() == ["label_from_y"] and "label_from_y" in registry
    with pytest.raises(ValueError, match="already registered"):
        registry.add("label_from_y", lambda d: d)


def test_a_function_that_raises_is_a_derivation_error() -> None:
    registry = DerivationRegistry()
    registry.add("boom", lambda data: data["missing"])
    catalog = _three_versions([{"op": "function", "name": "boom"}], V2_STEPS)
    with pytest.raises(DerivationError, match="KeyError") as info:
        derive(catalog, "widget.moved", V3_DATA, 1, registry=registry)
    assert info.value.code == "derivation_failed" and isinstance(info.value.__cause__, KeyError)
    registry.add("not_a_dict", lambda data: None)  # type: ignore[arg-type,return-value]
    catalog = _three_versions([{"op": "function", "name": "not_a_dict"}], V2_STEPS)
    with pytest.raises(DerivationError, match="returned NoneType"):
        derive(catalog, "widget.moved", V3_DATA, 1, registry=registry)


def test_missing_or_stale_derivations_are_typed_errors() -> None:
    catalog = _three_versions(V1_STEPS, V2_STEPS)
    with pytest.raises(MissingDerivationError, match="only older"):
        derive(catalog, "widget.moved", {"id": "w", "x": 1, "y": 2}, 3, from_version=2)
    with pytest.raises(UnknownEventError):
        derive(catalog, "widget.moved", V3_DATA, 7)
    stale = mini_catalog(
        {
            ("widget.moved", 3): {"properties": {"id": STR}, "required": ["id"]},
            ("widget.moved", 1): {"properties": {"id": STR}, "required": ["id"]},
        },
        statuses={("widget.moved", 1): {"derivation": {"from_version": 2, "steps": []}}},
    )
    with pytest.raises(MissingDerivationError, match="next version in the catalog is v3"):
        derive(stale, "widget.moved", {"id": "w"}, 1)
    none = mini_catalog(
        {
            ("widget.moved", 2): {"properties": {"id": STR}, "required": ["id"]},
            ("widget.moved", 1): {"properties": {"id": STR}, "required": ["id"]},
        }
    )
    with pytest.raises(MissingDerivationError, match="declares no derivation"):
        derive(none, "widget.moved", {"id": "w"}, 1)
    assert [p[0] for p in derivation_problems(none, none.get("widget.moved", 1))] == ["derivation-missing"]


@pytest.mark.parametrize(
    ("derivation", "message"),
    [
        ([], "a derivation is an object"),
        ({"steps": []}, "from_version must be"),
        ({"from_version": 2, "steps": [{"op": "rename", "path": "/a"}]}, "unknown op 'rename'"),
        ({"from_version": 2, "steps": [{"op": "remove", "path": "a"}]}, "starts with '/'"),
        ({"from_version": 2, "steps": [{"op": "move", "from": "/a", "path": "/a/b"}]}, "inside it"),
        ({"from_version": 2, "steps": [{"op": "default", "path": "/a"}]}, "exactly the fields"),
        ({"from_version": 2, "steps": {}}, "steps must be a list"),
        ({"from_version": 2, "steps": [], "extra": 1}, "unknown derivation field"),
    ],
)
def test_malformed_derivations_are_reported(derivation: Any, message: str) -> None:
    _, _, problems = parse_steps(derivation)
    assert any(message in text for _, text in problems), problems


# --------------------------------------------------------------------------- property test

_SUPERSEDED = [
    (ev.type, ev.version)
    for ev in _CATALOG.versions()
    if ev.version < _CATALOG.event(ev.type).current.version and is_served(_CATALOG, ev.type, ev.version, TODAY)
]


_TOTAL = {("payment.failed", 1)}


def test_the_sample_has_a_served_superseded_version() -> None:
    assert ("payment.failed", 1) in _SUPERSEDED


@pytest.mark.parametrize(("event_type", "version"), _SUPERSEDED, ids=[f"{t}.v{v}" for t, v in _SUPERSEDED])
@settings(settings.get_profile("catalog"))
@given(data=st.data())
def test_current_data_derives_to_valid_old_data_or_a_documented_error(
    event_type: str, version: int, data: st.DataObject
) -> None:
    current = data.draw(data_strategy(_CATALOG, event_type))
    try:
        derived = derive(_CATALOG, event_type, current, version)
    except DerivationError as exc:
        assert exc.code in ("derivation_failed", "derivation_missing", "derived_data_invalid")
        assert exc.to_version == version
        # The sample's derivations are total (declared steps that fit every valid input):
        # for them even a documented error is a bug.
        assert (event_type, version) not in _TOTAL, str(exc)
        return
    _CATALOG.validate(event_type, derived, version)  # never silently invalid
