"""hookseal_catalog.lifecycle: which versions are served on a day, and where a pin moves."""

from __future__ import annotations

import datetime as dt

import pytest
from catalog_testing import mini_catalog
from hookseal_catalog import Catalog
from hookseal_catalog.errors import UnknownEventError
from hookseal_catalog.lifecycle import (
    is_served,
    lifecycle,
    oldest_served_version,
    served_versions,
    version_to_send,
)

BEFORE, SUNSET, AFTER = dt.date(2027, 1, 1), dt.date(2027, 5, 31), dt.date(2027, 6, 1)


def test_the_sample_serves_payment_failed_v1_until_its_sunset(catalog: Catalog) -> None:
    v1, v2 = lifecycle(catalog, "payment.failed")
    assert (v1.status, v1.sunset, v1.is_current) == ("deprecated", SUNSET, False)
    assert v2.is_current and v2.sunset is None
    assert served_versions(catalog, "payment.failed", BEFORE) == [1, 2]
    assert served_versions(catalog, "payment.failed", SUNSET) == [1, 2]  # the sunset day is served
    assert served_versions(catalog, "payment.failed", AFTER) == [2]
    assert oldest_served_version(catalog, "payment.failed", BEFORE) == 1
    assert oldest_served_version(catalog, "payment.failed", AFTER) == 2
    assert v1.days_to_sunset(dt.date(2027, 5, 1)) == 30 and v1.days_to_sunset(AFTER) == -1
    assert is_served(catalog, "payment.failed", 1, SUNSET) and not is_served(catalog, "payment.failed", 1, AFTER)


def test_version_to_send(catalog: Catalog) -> None:
    assert version_to_send(catalog, "payment.failed", None, BEFORE) == 2
    assert version_to_send(catalog, "payment.failed", 1, BEFORE) == 1
    assert version_to_send(catalog, "payment.failed", 1, AFTER) == 2
    assert version_to_send(catalog, "payment.failed", 2, AFTER) == 2
    with pytest.raises(UnknownEventError):
        version_to_send(catalog, "payment.failed", 9, BEFORE)


def test_drafts_are_not_served_and_a_removed_pin_moves_to_the_oldest_newer_version() -> None:
    body = {"properties": {}, "required": []}
    catalog = mini_catalog(
        {("a.b", 2): body, ("a.b", 3): body, ("a.b", 4): body},
        statuses={
            ("a.b", 2): {"status": "deprecated", "deprecated": "2026-06-01", "sunset": "2026-12-01"},
            ("a.b", 4): {"status": "draft"},
        },
    )
    assert catalog.event("a.b").current.version == 3
    assert served_versions(catalog, "a.b", BEFORE) == [3]
    assert version_to_send(catalog, "a.b", 1, BEFORE) == 3  # v1 was removed from the catalog
    assert version_to_send(catalog, "a.b", 2, dt.date(2026, 11, 1)) == 2
