"""hookseal_catalog.openapi: the export is valid OpenAPI 3.1 with one webhook per event version."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hookseal_catalog import Catalog
from hookseal_catalog.openapi import export_openapi, operation_id, webhook_name
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError


@pytest.mark.parametrize("profile", ["hookseal-v1", "standard-webhooks"])
@pytest.mark.parametrize("strict", [False, True])
def test_the_export_validates(catalog: Catalog, profile: str, strict: bool) -> None:
    document = export_openapi(catalog, profile=profile, strict=strict)
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["jsonSchemaDialect"] == "https://json-schema.org/draft/2020-12/schema"


def test_one_webhook_per_event_version(catalog: Catalog) -> None:
    document = export_openapi(catalog)
    expected = {webhook_name(ev.type, ev.version) for ev in catalog.versions()}
    assert set(document["webhooks"]) == expected
    assert "invoice.paid.v1" in expected and "payment.failed.v2" in expected
    operation_ids = [w["post"]["operationId"] for w in document["webhooks"].values()]
    assert len(set(operation_ids)) == len(operation_ids)
    assert operation_id("invoice.payment_failed", 1) == "invoicePaymentFailedV1"


def test_operations_carry_headers_docs_and_lifecycle(catalog: Catalog) -> None:
    document = export_openapi(catalog, header_prefix="Acme")
    paid = document["webhooks"]["invoice.paid.v1"]["post"]
    headers = {p["name"]: p for p in paid["parameters"]}
    assert set(headers) == {"Acme-Signature", "Acme-Webhook-Id", "Acme-Event-Type"}
    assert headers["Acme-Event-Type"]["schema"]["const"] == "invoice.paid"
    assert "**When it fires:**" in paid["description"] and "**Criticality:** high" in paid["description"]
    assert paid["x-hookseal"]["criticality"] == "high" and paid["tags"] == ["invoice"]
    assert "2XX" in paid["responses"]
    old = document["webhooks"]["payment.failed.v1"]["post"]
    assert old["deprecated"] is True and "2027-05-31" in old["description"]
    standard = export_openapi(catalog, profile="standard-webhooks")["webhooks"]["test.ping.v1"]["post"]
    assert {p["name"] for p in standard["parameters"]} == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    with pytest.raises(ValueError, match="unknown profile"):
        export_openapi(catalog, profile="custom")


def _validator(document: dict[str, Any], schema_ref: str) -> jsonschema.Draft202012Validator:
    wrapper = {"components": document["components"], "$ref": schema_ref}
    return jsonschema.Draft202012Validator(wrapper)


def test_examples_are_complete_bodies_that_validate(catalog: Catalog) -> None:
    document = export_openapi(catalog, strict=True)
    for name, webhook in document["webhooks"].items():
        media = webhook["post"]["requestBody"]["content"]["application/json"]
        validator = _validator(document, media["schema"]["$ref"])
        assert media["examples"], name
        for example in media["examples"].values():
            body = example["value"]
            assert validator.is_valid(body), name
            catalog.validate_envelope(body)
            wrong = {**body, "type": "something.else"}
            assert not validator.is_valid(wrong)


def test_the_tolerant_view_accepts_unknown_fields(catalog: Catalog) -> None:
    body = catalog.example_envelope("test.ping")
    body["data"]["added_later"] = True
    body["new_envelope_field"] = 1
    tolerant = export_openapi(catalog)
    strict = export_openapi(catalog, strict=True)
    ref = "#/components/schemas/TestPingV1Event"
    assert _validator(tolerant, ref).is_valid(body)
    assert not _validator(strict, ref).is_valid(body)


def test_the_export_is_deterministic(catalog: Catalog) -> None:
    assert export_openapi(catalog) == export_openapi(catalog)


def test_the_validator_catches_a_broken_document(catalog: Catalog) -> None:
    document = export_openapi(catalog)
    del document["webhooks"]["test.ping.v1"]["post"]["responses"]
    document["webhooks"]["test.ping.v1"]["post"]["parameters"][0]["in"] = "body"
    with pytest.raises(OpenAPIValidationError):
        validate(document)
