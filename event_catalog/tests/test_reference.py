"""hookseal_catalog.reference: the data the docs' event reference renders."""

from __future__ import annotations

import dataclasses
import json

from hookseal_catalog import Catalog
from hookseal_catalog.reference import catalog_reference, envelope_fields, event_reference, to_markdown


def test_every_event_is_referenced_in_resource_order(catalog: Catalog) -> None:
    refs = catalog_reference(catalog)
    assert {r.type for r in refs} == set(catalog.events)
    resources = [r.resource for r in refs]
    assert resources == sorted(resources)
    for ref in refs:
        assert ref.description and ref.fires_when and ref.frequency and ref.criticality
        assert [v.version for v in ref.versions] == sorted(catalog.events[ref.type].versions)
        assert sum(v.is_current for v in ref.versions) == 1
        for version in ref.versions:
            assert version.fields and version.example is not None
            catalog.validate_envelope(version.example_envelope)
    json.dumps([dataclasses.asdict(r) for r in refs])  # JSON-ready


def test_field_rows(catalog: Catalog) -> None:
    ref = event_reference(catalog, "invoice.paid")
    rows = {row.name: row for row in ref.versions[0].fields}
    invoice = rows["invoice"]
    assert (invoice.type, invoice.required, invoice.depth, invoice.pointer) == ("Invoice", True, 0, "/invoice")
    amount = rows["invoice.total.amount"]
    assert amount.type == "integer" and amount.depth == 2 and amount.pointer == "/invoice/total/amount"
    assert "minimum 0" in amount.constraints and "minor unit" in amount.description
    number = rows["invoice.number"]
    assert number.type == "string" and number.nullable and number.required
    status = rows["invoice.status"]
    assert status.enum == ("draft", "open", "paid", "uncollectible", "void")
    lines = rows["invoice.lines"]
    assert lines.type == "array of InvoiceLineItem" and "max items 250" in lines.constraints
    assert rows["invoice.lines[].amount.currency"].pointer == "/invoice/lines/*/amount/currency"
    assert rows["invoice.metadata"].type == "map of string"
    assert rows["payment_id"].nullable and not rows["payment_id"].deprecated
    customer = {row.name: row for row in event_reference(catalog, "customer.created").versions[0].fields}
    assert customer["customer.address"].type == "Address" and customer["customer.address"].nullable
    assert customer["customer.address.country"].constraints == ("pattern ^[A-Z]{2}$",)
    brand = {row.name: row for row in event_reference(catalog, "payment.succeeded").versions[0].fields}
    assert None not in brand["payment.payment_method.brand"].enum


def test_versions_and_lifecycle(catalog: Catalog) -> None:
    ref = event_reference(catalog, "payment.failed")
    assert ref.current_version == 2
    v1, v2 = ref.versions
    assert (v1.status, v1.sunset, v1.is_current) == ("deprecated", "2027-05-31", False)
    assert v2.is_current and v2.schema_id.endswith("/events/payment.failed/v2.json")
    assert len(v1.changelog) == 2


def test_envelope_fields(catalog: Catalog) -> None:
    names = [row.name for row in envelope_fields(catalog)]
    assert names == ["id", "type", "version", "created", "livemode", "sequence", "data"]
    assert not next(r for r in envelope_fields(catalog) if r.name == "sequence").required


def test_markdown(catalog: Catalog) -> None:
    text = to_markdown(event_reference(catalog, "payment.failed"))
    assert text.startswith("## `payment.failed`")
    assert "### payment.failed v1 (deprecated, released 2026-03-02, sunset 2027-05-31)" in text
    assert "| `payment` | Payment | yes |" in text
    assert "one of `card_declined`" in text and '"type": "payment.failed"' in text
