"""Tests of versioning.py (pins checked against the sender's catalog, the version each
endpoint gets, what the portal says of a pin) and of pinned delivery, on both backends."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import hookseal
import pytest
from hookseal_catalog.derivation import derive
from hookseal_sender import InvalidRequestError, InvalidVersionError, Sender
from hookseal_sender.catalog import sender_catalog
from hookseal_sender.versioning import check_pins, pin_info, version_for

from ._receiver import Receiver
from .conftest import wait_for

CATALOG = sender_catalog()
SUNSET = dt.date(2027, 5, 31)  # payment.failed v1's, in the sample catalog
BEFORE, AFTER = dt.date(2027, 1, 1), dt.date(2027, 6, 1)


def test_the_sample_catalog_is_as_these_tests_assume() -> None:
    v1 = CATALOG.catalog.get("payment.failed", 1)
    assert (v1.status, v1.sunset, CATALOG.catalog.event("payment.failed").current.version) == (
        "deprecated", SUNSET.isoformat(), 2)


def test_a_served_pin_is_kept() -> None:
    assert check_pins(CATALOG, {"payment.failed": 1, "invoice.paid": 1}, BEFORE) == {
        "payment.failed": 1, "invoice.paid": 1}


@pytest.mark.parametrize(("pins", "on", "words"), [
    ({"payment.failed": 3}, BEFORE, "version 3 is not served; the versions served are 1, 2"),
    ({"payment.failed": 0}, BEFORE, "version 0 is not served"),
    ({"payment.failed": 1}, AFTER, "version 1 is not served; the versions served are 2"),
    ({"no_such.event": 1}, BEFORE, "no event type 'no_such.event'"),
])
def test_a_pin_the_catalog_does_not_serve_is_refused_naming_what_it_serves(
        pins: dict[str, Any], on: dt.date, words: str) -> None:
    with pytest.raises(InvalidVersionError, match=words) as info:
        check_pins(CATALOG, pins, on)
    assert info.value.code == "invalid_version"


@pytest.mark.parametrize("version", ["1", True, 1.0, None])
def test_a_version_that_is_not_an_integer_is_a_plain_bad_request(version: Any) -> None:
    with pytest.raises(InvalidRequestError) as info:
        check_pins(CATALOG, {"payment.failed": version}, BEFORE)
    assert info.value.code == "invalid_request"


def test_version_for_follows_the_pin_until_its_sunset() -> None:
    pins = {"payment.failed": 1}
    assert version_for(CATALOG, "payment.failed", pins, SUNSET) == 1  # the last day served
    assert version_for(CATALOG, "payment.failed", pins, AFTER) == 2
    assert version_for(CATALOG, "invoice.paid", pins, BEFORE) is None  # not pinned
    assert version_for(CATALOG, "payment.failed", None, BEFORE) is None


def test_pin_info_says_the_sunset_and_what_changes_on_upgrade() -> None:
    [info] = pin_info(CATALOG, {"payment.failed": 1}, BEFORE)
    assert (info.version, info.current, info.status, info.sunset, info.days_left) == (
        1, 2, "deprecated", "2027-05-31", (SUNSET - BEFORE).days)
    # v1 is derived from v2 by: move /failure/message -> /failure_reason, remove /failure,
    # remove /next_retry_at; read backwards, that is what v2 changes.
    assert "v2 moves /failure_reason to /failure/message" in info.changes
    assert "v2 adds /next_retry_at" in info.changes
    assert any(c.startswith("v2: ") for c in info.changes)  # the changelog's line


def test_an_endpoint_pin_is_checked_on_create_and_update(sender: Sender) -> None:
    url = "http://127.0.0.1:9/hook"
    with pytest.raises(InvalidVersionError, match="versions served are 1, 2"):
        sender.create_endpoint("t1", url, allow_local=True, versions={"payment.failed": 7})
    ep = sender.create_endpoint("t1", url, allow_local=True).endpoint
    with pytest.raises(InvalidVersionError, match="no event type"):
        sender.update_endpoint("t1", ep.id, versions={"payment.fail": 1})
    assert sender.get_endpoint("t1", ep.id).versions is None
    assert sender.update_endpoint("t1", ep.id, versions={"payment.failed": 1}).versions == {
        "payment.failed": 1}


def test_each_endpoint_gets_its_version_of_one_event(sender: Sender, receiver: Receiver,
                                                     worker: Any) -> None:
    catalog = CATALOG.catalog
    eps = {}
    for name, pins in (("v1", {"payment.failed": 1}), ("v2", {"payment.failed": 2}),
                       ("unpinned", None)):
        eps[name] = sender.create_endpoint(
            "t1", receiver.route(f"/{name}"), allow_local=True, versions=pins)
    data = catalog.example("payment.failed")
    result = sender.send("t1", "payment.failed", data)
    worker()
    got = {name: wait_for(lambda n=name: receiver.requests(f"/{n}"))[0] for name in eps}
    bodies = {name: json.loads(r.body) for name, r in got.items()}
    for name, body in bodies.items():
        # Verified with the endpoint's own secret: what was signed is what was sent.
        hookseal.Webhook(eps[name].secret).verify(got[name].body, got[name].headers)
        assert body["id"] == result.event_id
        catalog.validate("payment.failed", body["data"], body["version"])
    assert bodies["v1"]["version"] == 1
    assert bodies["v1"]["data"] == derive(catalog, "payment.failed", data, 1)
    assert got["v2"].body == got["unpinned"].body == result.payload.encode()
    assert bodies["unpinned"]["version"] == 2
    assert {b["created"] for b in bodies.values()} == {bodies["v2"]["created"]}
