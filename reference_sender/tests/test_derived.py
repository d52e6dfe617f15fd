"""Tests of _derived.py: the body each endpoint gets, and a failed derivation failing the
delivery for good, unsent, on both backends."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
from hookseal_catalog.derivation import derive
from hookseal_catalog.lifecycle import is_served
from hookseal_catalog.strategies import data as data_strategy
from hookseal_sender import Sender
from hookseal_sender._derived import DERIVATION_FAILED, DerivationFailedError, VersionedBodies
from hookseal_sender.catalog import no_validation, sender_catalog
from hookseal_sender.models import Claimed, Endpoint
from hookseal_sender.notify import Notice
from hookseal_sender.outbox import envelope
from hypothesis import given, settings
from hypothesis import strategies as st

from ._receiver import Receiver
from .conftest import wait_for

CATALOG = sender_catalog()
NOW = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc).timestamp()


def _claimed(data: Any, version: int = 2, event_type: str = "payment.failed") -> Claimed:
    payload = envelope("evt_1", event_type, data, 1700000000, version=version)
    return Claimed("dlv_1", "t1", "ep_1", event_type, 0, 0, payload, 1, "evt_1")


def _endpoint(versions: Any) -> Endpoint:
    return Endpoint(id="ep_1", tenant_id="t1", url="http://127.0.0.1:9/", versions=versions)


def test_an_unpinned_endpoint_gets_the_stored_body_untouched() -> None:
    c = _claimed(CATALOG.catalog.example("payment.failed"))
    bodies = VersionedBodies(CATALOG)
    assert bodies.body(c, _endpoint(None), NOW) == c.payload.encode()
    assert bodies.body(c, _endpoint({"invoice.paid": 1}), NOW) == c.payload.encode()


def test_a_pinned_endpoint_gets_the_derived_data_in_the_same_envelope() -> None:
    data = CATALOG.catalog.example("payment.failed")
    c = _claimed(data)
    body = json.loads(VersionedBodies(CATALOG).body(c, _endpoint({"payment.failed": 1}), NOW))
    assert body == {"id": "evt_1", "type": "payment.failed", "version": 1,
                    "created": 1700000000, "livemode": True,
                    "data": derive(CATALOG.catalog, "payment.failed", data, 1)}


def test_after_the_sunset_the_pinned_endpoint_gets_the_version_it_moves_to() -> None:
    c = _claimed(CATALOG.catalog.example("payment.failed"))
    after = dt.datetime(2027, 6, 1, tzinfo=dt.timezone.utc).timestamp()
    assert VersionedBodies(CATALOG).body(c, _endpoint({"payment.failed": 1}), after) == \
        c.payload.encode()


def test_data_the_derivation_cannot_make_valid_is_refused_with_the_reason() -> None:
    data = CATALOG.catalog.example("payment.failed")
    del data["failure"]  # the v1 field failure_reason is moved from /failure/message
    bodies = VersionedBodies(CATALOG)
    for _ in range(2):  # the second time from the cache: the same refusal
        try:
            bodies.body(_claimed(data), _endpoint({"payment.failed": 1}), NOW)
        except DerivationFailedError as exc:
            assert exc.code == DERIVATION_FAILED
            assert exc.detail.startswith("derivation_failed: payment.failed v2 to v1:")
            assert "failure_reason" in exc.detail
        else:
            raise AssertionError("an invalid v1 body was produced")


class _Notices:
    def __init__(self) -> None:
        self.got: list[Notice] = []

    def notify(self, notice: Notice) -> None:
        self.got.append(notice)


def test_a_failed_derivation_fails_that_delivery_unsent_and_tells_the_owner(
        sender: Sender, receiver: Receiver, worker: Any) -> None:
    # Enqueued as v2 without validation, so data the derivation cannot handle reaches the
    # worker.
    sender.validator = lambda event_type, data: no_validation(event_type, data) + 1
    notices = _Notices()
    sender.notifier = notices
    pinned = sender.create_endpoint("t1", receiver.route("/v1"), allow_local=True,
                                    versions={"payment.failed": 1}).endpoint
    plain = sender.create_endpoint("t1", receiver.route("/v2"), allow_local=True).endpoint
    data = CATALOG.catalog.example("payment.failed")
    del data["failure"]
    result = sender.send("t1", "payment.failed", data)
    worker()
    by_endpoint = {ep: d for d, ep in result.deliveries}
    failed = wait_for(lambda: (d := sender.get_delivery("t1", by_endpoint[pinned.id])).status
                      == "failed" and d)
    assert failed.last_error == DERIVATION_FAILED
    assert failed.attempts[0].status_code is None
    assert failed.attempts[0].response_body.startswith("derivation_failed: payment.failed v2")
    wait_for(lambda: sender.get_delivery("t1", by_endpoint[plain.id]).status == "delivered")
    assert [r.path for r in receiver.requests()] == ["/v2"]  # nothing invalid was sent
    notice = wait_for(lambda: notices.got and notices.got[0])
    assert (notice.kind, notice.endpoint_id) == ("delivery_failed", pinned.id)
    assert dataclasses.asdict(notice)["message"].endswith(failed.attempts[0].response_body)


_SUPERSEDED = [(ev.type, ev.version) for ev in CATALOG.catalog.versions()
               if ev.version < CATALOG.catalog.event(ev.type).current.version
               and is_served(CATALOG.catalog, ev.type, ev.version, dt.date(2027, 1, 1))]


def test_the_sample_has_a_superseded_version_to_derive() -> None:
    assert ("payment.failed", 1) in _SUPERSEDED


# The catalog's own property (event_catalog/tests/test_derivation.py,
# test_current_data_derives_to_valid_old_data_or_a_documented_error) covers derive();
# this one covers the sender's path to it: the body a pinned endpoint gets.
@pytest.mark.parametrize(("event_type", "version"), _SUPERSEDED)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_pinned_body_is_valid_for_its_version_or_refused_never_invalid(
        event_type: str, version: int, data: st.DataObject) -> None:
    current = data.draw(data_strategy(CATALOG.catalog, event_type))
    c = _claimed(current, CATALOG.catalog.event(event_type).current.version, event_type)
    try:
        body = json.loads(VersionedBodies(CATALOG).body(c, _endpoint({event_type: version}), NOW))
    except DerivationFailedError as exc:
        assert exc.detail.startswith(f"derivation_failed: {event_type} v")
        return
    assert (body["id"], body["version"]) == ("evt_1", version)
    CATALOG.catalog.validate(event_type, body["data"], version)
