"""hookseal_catalog.ordering: each resource event declares its id as the ordering key."""

from __future__ import annotations

import pytest
from hookseal_catalog import Catalog
from hookseal_catalog.errors import UnknownEventError, UnknownFieldError
from hookseal_catalog.ordering import ordering_key, ordering_keys, ordering_value


def test_the_sample_orders_by_resource_id(catalog: Catalog) -> None:
    keys = ordering_keys(catalog)
    for name in catalog.events:
        resource = name.split(".")[0]
        if resource in ("customer", "invoice", "payment", "refund", "subscription"):
            assert keys[name] == f"/{resource}/id", name
        else:
            assert name not in keys
    assert ordering_key(catalog, "test.ping") is None


def test_ordering_value(catalog: Catalog) -> None:
    data = catalog.example("invoice.paid")
    assert ordering_value(catalog, "invoice.paid", data) == data["invoice"]["id"]
    assert ordering_value(catalog, "test.ping", catalog.example("test.ping")) is None
    with pytest.raises(UnknownFieldError):
        ordering_value(catalog, "invoice.paid", {"invoice": {}})
    with pytest.raises(UnknownEventError):
        ordering_value(catalog, "nope.nope", {})
