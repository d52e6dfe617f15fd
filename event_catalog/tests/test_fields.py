"""hookseal_catalog.fields: what a JSON Pointer into data names, for redaction and ordering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hookseal_catalog import Catalog, load_catalog
from hookseal_catalog.errors import UnknownEventError, UnknownFieldError
from hookseal_catalog.fields import field_info, is_required_field, parse_pointer, pointer_value


def test_required_and_optional_fields(catalog: Catalog) -> None:
    assert is_required_field(catalog, "invoice.paid", "/invoice")
    assert is_required_field(catalog, "invoice.paid", "/invoice/id")
    assert not is_required_field(catalog, "test.ping", "/endpoint_id")
    # a field required inside an array item: dropping it breaks the item
    assert is_required_field(catalog, "invoice.paid", "/invoice/lines/*/amount")


def test_versions_differ(catalog: Catalog) -> None:
    assert is_required_field(catalog, "payment.failed", "/failure_reason", 1)
    with pytest.raises(UnknownFieldError) as info:
        is_required_field(catalog, "payment.failed", "/failure_reason")  # not in v2
    assert info.value.code == "unknown_field" and info.value.version == 2


def test_field_info_describes_presence_and_type(catalog: Catalog) -> None:
    key = field_info(catalog, "invoice.paid", "/invoice/id")
    assert key.required and key.always_present and key.scalar and not key.nullable and key.types == ("string",)
    nullable = field_info(catalog, "invoice.paid", "/payment_id")
    assert nullable.required and nullable.nullable and nullable.scalar
    item = field_info(catalog, "invoice.paid", "/invoice/lines/0/amount")
    assert item.required and not item.always_present and not item.scalar


@pytest.mark.parametrize("pointer", ["invoice", "/invoice/nope", "/invoice/id/x", "/invoice/~2", ""])
def test_unknown_or_malformed_pointers_are_refused(catalog: Catalog, pointer: str) -> None:
    with pytest.raises(UnknownFieldError):
        field_info(catalog, "invoice.paid", pointer)


def test_unknown_event(catalog: Catalog) -> None:
    with pytest.raises(UnknownEventError):
        field_info(catalog, "nope.nope", "/a")


def test_pointer_helpers() -> None:
    assert parse_pointer("/a~1b/c~0d/") == ["a/b", "c~d", ""]
    doc = {"a": [{"b": 1}], "c/d": 2}
    assert pointer_value(doc, "/a/0/b") == 1
    assert pointer_value(doc, "/c~1d") == 2
    assert pointer_value(doc, "/a/1/b", None) is None
    with pytest.raises(KeyError):
        pointer_value(doc, "/x")


def test_a_null_only_field_is_nullable(catalog_dir: Path, edit: Any) -> None:
    # `type: "null"` allows null as surely as ["string", "null"] does (the reference pages
    # and field_info share one reading of the nullable forms).
    edit("events/test.ping/v1.json", lambda doc: doc["properties"].update(nothing={"type": "null"}))
    info = field_info(load_catalog(catalog_dir), "test.ping", "/nothing")
    assert info.nullable and info.types == () and not info.scalar
