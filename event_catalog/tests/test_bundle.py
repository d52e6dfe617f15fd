"""hookseal_catalog.bundle: names and $ref rewriting."""

from __future__ import annotations

import json

import pytest
from catalog_testing import mini_catalog
from hookseal_catalog import Catalog
from hookseal_catalog.bundle import bundle, component_name, data_model_name, event_model_name, relax


def test_names() -> None:
    assert component_name("invoice_line_item") == "InvoiceLineItem"
    assert data_model_name("invoice.payment_failed", 1) == "InvoicePaymentFailedV1Data"
    assert event_model_name("test.ping", 2) == "TestPingV2Event"


def test_bundle_rewrites_every_ref(catalog: Catalog) -> None:
    schemas = bundle(catalog, "#/components/schemas/")
    assert next(iter(schemas)) == "Envelope"
    text = json.dumps(schemas)
    refs = {value for value in _refs(schemas)}
    assert refs and all(ref.startswith("#/components/schemas/") and ref.split("/")[-1] in schemas for ref in refs)
    assert "x-hookseal" not in text and '"$id"' not in text
    assert schemas["InvoicePaidV1Data"]["examples"]
    assert "examples" not in bundle(catalog, examples=False)["InvoicePaidV1Data"]


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_relax_drops_only_closed_additional_properties() -> None:
    schema = {
        "additionalProperties": False,
        "properties": {"m": {"additionalProperties": {"type": "string"}}},
        "enum": [{"additionalProperties": False}],
    }
    assert relax(schema) == {
        "properties": {"m": {"additionalProperties": {"type": "string"}}},
        "enum": [{"additionalProperties": False}],
    }


def test_fragment_refs_cannot_be_bundled() -> None:
    money = {"properties": {"amount": {"type": "integer", "description": "a"}}, "additionalProperties": False}
    event = {"properties": {"a": {"$ref": "../../components/money.json#/properties/amount", "description": "a"}}}
    with pytest.raises(LookupError, match="whole catalog document"):
        bundle(mini_catalog({("x.y", 1): event}, components={"money": money}))
