"""hookseal_catalog.catalog: loading, lookup, validation with JSON pointers, examples."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import hookseal_catalog
import pytest
from hookseal_catalog import (
    Catalog,
    CatalogError,
    CatalogLoadError,
    EnvelopeValidationError,
    PayloadValidationError,
    UnknownEventError,
    load_catalog,
)
from hookseal_catalog.catalog import EXAMPLE_CREATED, json_pointer, read_tree

SAMPLE_TYPES = {
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_failed",
    "payment.succeeded",
    "payment.failed",
    "refund.created",
    "subscription.created",
    "subscription.updated",
    "subscription.cancelled",
    "test.ping",
}


def test_the_shipped_catalog_has_the_sample_billing_events(catalog: Catalog) -> None:
    assert set(catalog.events) == SAMPLE_TYPES
    assert list(catalog.events) == sorted(catalog.events)
    assert catalog.name == "hookseal-sample-billing"
    assert catalog.base_uri == "https://schemas.hookseal.dev/"
    assert "invoice.paid" in catalog and "invoice.voided" not in catalog


def test_the_schemas_ship_inside_the_package() -> None:
    root = Path(hookseal_catalog.__file__).parent / "schemas"
    assert (root / "envelope.json").is_file()
    assert (root / "events" / "invoice.paid" / "v1.json").is_file()
    assert load_catalog(root).events.keys() == load_catalog().events.keys()


def test_every_version_is_documented_with_examples(catalog: Catalog) -> None:
    for ev in catalog.versions():
        assert ev.fires_when and ev.frequency and ev.criticality in ("high", "medium", "low"), ev
        assert ev.examples, ev
        assert ev.changelog and ev.released, ev
        assert ev.schema_id == f"https://schemas.hookseal.dev/events/{ev.type}/v{ev.version}.json"


def test_current_version_prefers_released_over_deprecated(catalog: Catalog) -> None:
    failed = catalog.event("payment.failed")
    assert sorted(failed.versions) == [1, 2]
    assert failed.current.version == 2
    assert failed.versions[1].status == "deprecated" and failed.versions[1].sunset == "2027-05-31"
    assert catalog.get("payment.failed").version == 2
    assert catalog.get("payment.failed", 1).version == 1


def test_lookup_errors_are_typed(catalog: Catalog) -> None:
    with pytest.raises(UnknownEventError, match=r"unknown event type 'invoice\.voided'") as exc:
        catalog.get("invoice.voided")
    assert exc.value.code == "unknown_event" and isinstance(exc.value, LookupError)
    with pytest.raises(UnknownEventError, match=r"unknown version 3 .* \(the catalog has v1, v2\)"):
        catalog.get("payment.failed", 3)
    with pytest.raises(UnknownEventError):
        catalog.get("invoice.paid", True)  # a bool is not a version
    with pytest.raises(UnknownEventError):
        catalog.validate("nope.nope", {})


def test_examples_validate_and_are_copies(catalog: Catalog) -> None:
    for ev in catalog.versions():
        for index in range(len(ev.examples)):
            catalog.validate(ev.type, catalog.example(ev.type, ev.version, index), ev.version)
    example = catalog.example("invoice.paid")
    example["invoice"]["id"] = "mutated"
    assert catalog.example("invoice.paid")["invoice"]["id"] != "mutated"
    with pytest.raises(IndexError):
        catalog.example("invoice.paid", index=5)


def test_validate_reports_json_pointers(catalog: Catalog) -> None:
    data = catalog.example("invoice.paid")
    data["invoice"]["total"]["amount"] = -1
    data["invoice"]["lines"][0]["price_id"] = 5
    with pytest.raises(PayloadValidationError) as exc:
        catalog.validate("invoice.paid", data, 1)
    err = exc.value
    assert err.code == "invalid_event_data" and isinstance(err, ValueError)
    pointers = {issue.pointer for issue in err.issues}
    assert pointers == {"/invoice/total/amount", "/invoice/lines/0/price_id"}
    assert err.pointer in pointers
    assert str(err).startswith("invoice.paid v1: /invoice/")
    assert "(and 1 more)" in str(err)
    keywords = {issue.keyword for issue in err.issues}
    assert keywords == {"minimum", "type"}


def test_validate_descends_into_nullable_refs(catalog: Catalog) -> None:
    data = catalog.example("customer.created")
    data["customer"]["address"]["country"] = "de"
    with pytest.raises(PayloadValidationError) as exc:
        catalog.validate("customer.created", data)
    assert [i.pointer for i in exc.value.issues] == ["/customer/address/country"]
    data["customer"]["address"] = None
    catalog.validate("customer.created", data)


def test_validate_rejects_unknown_and_missing_fields(catalog: Catalog) -> None:
    data = catalog.example("test.ping")
    data["internal_note"] = "leaked"
    with pytest.raises(PayloadValidationError, match="'internal_note' was unexpected"):
        catalog.validate("test.ping", data)
    with pytest.raises(PayloadValidationError, match="'message' is a required property"):
        catalog.validate("test.ping", {"endpoint_id": None})
    with pytest.raises(PayloadValidationError):
        catalog.validate("test.ping", ["not", "an", "object"])


def test_envelopes_are_built_and_validated(catalog: Catalog) -> None:
    data = catalog.example("invoice.paid")
    envelope = catalog.build_envelope("invoice.paid", data, version=1, livemode=True)
    assert envelope["id"].startswith("evt_") and envelope["type"] == "invoice.paid" and envelope["version"] == 1
    assert abs(envelope["created"] - time.time()) < 5 and envelope["livemode"] is True
    assert catalog.validate_envelope(envelope).type == "invoice.paid"
    assert catalog.build_envelope("invoice.paid", data)["id"] != envelope["id"]


def test_example_envelopes_are_deterministic(catalog: Catalog) -> None:
    first = catalog.example_envelope("payment.failed", 1)
    assert first == catalog.example_envelope("payment.failed", 1)
    assert first["created"] == EXAMPLE_CREATED and first["livemode"] is False
    assert first["id"] != catalog.example_envelope("payment.failed", 2)["id"]
    for ev in catalog.versions():
        catalog.validate_envelope(catalog.example_envelope(ev.type, ev.version))


@pytest.mark.parametrize(
    ("mutate", "pointer"),
    [
        (lambda e: e.pop("id"), ""),
        (lambda e: e.update(id="evt_no spaces allowed"), "/id"),
        (lambda e: e.update(created="yesterday"), "/created"),
        (lambda e: e.update(livemode="false"), "/livemode"),
        (lambda e: e.update(extra=1), ""),
        (lambda e: e["data"]["invoice"].update(status="refunded"), "/data/invoice/status"),
    ],
)
def test_envelope_errors_point_into_the_envelope(catalog: Catalog, mutate: Any, pointer: str) -> None:
    envelope = catalog.example_envelope("invoice.paid")
    mutate(envelope)
    with pytest.raises(EnvelopeValidationError) as exc:
        catalog.validate_envelope(envelope)
    assert exc.value.pointer == pointer
    assert exc.value.code == "invalid_envelope"


def test_envelope_of_unknown_type_or_version(catalog: Catalog) -> None:
    envelope = catalog.example_envelope("invoice.paid")
    with pytest.raises(UnknownEventError):
        catalog.validate_envelope({**envelope, "type": "invoice.voided"})
    with pytest.raises(UnknownEventError):
        catalog.validate_envelope({**envelope, "version": 7})
    with pytest.raises(EnvelopeValidationError):
        catalog.validate_envelope("not an object")


def test_validators_are_built_once(catalog: Catalog) -> None:
    assert catalog.validator_for("invoice.paid", 1) is catalog.validator_for("invoice.paid")
    assert catalog.envelope_validator is catalog.envelope_validator


def test_validation_is_fast_enough_for_enqueue(catalog: Catalog) -> None:
    data = catalog.example("invoice.paid")
    catalog.validate("invoice.paid", data, 1)
    start = time.perf_counter()
    for _ in range(200):
        catalog.validate("invoice.paid", data, 1)
    per_call = (time.perf_counter() - start) / 200
    assert per_call < 0.01  # about 0.4 ms here for the largest payload; generous for busy CI


def test_resolved_schema_inlines_every_ref(catalog: Catalog) -> None:
    for ev in catalog.versions():
        text = json.dumps(catalog.resolved_schema(ev.type, ev.version))
        assert "$ref" not in text
    schema = catalog.resolved_schema("invoice.paid")
    total = schema["properties"]["invoice"]["properties"]["total"]
    assert total["title"] == "Money" and total["description"] == "`subtotal` plus `tax`."
    assert catalog.events["invoice.paid"].data_schema == schema


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(CatalogLoadError, match="not a directory"):
        load_catalog(tmp_path / "missing")
    with pytest.raises(CatalogLoadError, match="is not a catalog directory"):
        load_catalog(tmp_path)  # fails fast: no manifest
    (tmp_path / "catalog.json").write_text("{}", encoding="utf-8")
    (tmp_path / "envelope.json").write_text("{nope", encoding="utf-8")
    with pytest.raises(CatalogLoadError) as exc:
        load_catalog(tmp_path)
    assert exc.value.problems[0].file == "envelope.json"
    assert isinstance(exc.value, CatalogError) and exc.value.code == "catalog_load_error"
    (tmp_path / "envelope.json").write_text("[]", encoding="utf-8")
    with pytest.raises(CatalogLoadError, match=r"envelope\.json: missing"):
        load_catalog(tmp_path)


def test_read_tree_ignores_hidden_files_and_lists_stray_ones(catalog_dir: Path) -> None:
    (catalog_dir / ".DS_Store").write_text("x", encoding="utf-8")
    (catalog_dir / "events" / "notes.txt").write_text("x", encoding="utf-8")
    tree = read_tree(catalog_dir)
    assert tree.stray == ["events/notes.txt"]
    assert not tree.problems


def test_json_pointer_escapes() -> None:
    assert json_pointer(["a", 0, "b/c", "d~e"]) == "/a/0/b~1c/d~0e"
    assert json_pointer([]) == ""
