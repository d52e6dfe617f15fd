"""Replay with a corrected payload (CorrectionService through the Sender), on both stores."""

from __future__ import annotations

import copy
import json
from typing import Any

import hookseal
import pytest
from hookseal_sender import (
    InvalidPayloadError,
    InvalidRequestError,
    NotFoundError,
    Sender,
)
from hookseal_sender.catalog import _catalog
from hookseal_sender.models import DeliveryFilter

from ._receiver import Receiver
from .conftest import wait_for


def example() -> dict[str, Any]:
    return _catalog().example("invoice.paid")  # type: ignore[no-any-return]


def corrected() -> dict[str, Any]:
    data = copy.deepcopy(example())
    data["invoice"]["customer_name"] = "Northwind Traders Ltd"
    return data


def test_the_corrected_event_keeps_its_id_is_delivered_and_keeps_the_original(
        sender: Sender, receiver: Receiver, worker: Any) -> None:
    created = sender.create_endpoint("t1", receiver.route("/x"), allow_local=True)
    worker()
    sent = sender.send("t1", "invoice.paid", example())
    (did, _), = sent.deliveries
    wait_for(lambda: sender.get_delivery("t1", did).status == "delivered")
    first = json.loads(sender.get_delivery("t1", did).payload or "")

    done = sender.replay_corrected("t1", sent.event_id, corrected(), actor="ops:ann",
                                   reason="customer name was cut off")
    assert done.event_id == sent.event_id and done.delivery_ids == [did]
    assert done.replayed == 1  # a delivered delivery is sent again
    wait_for(lambda: len(receiver.requests("/x")) == 2)
    wait_for(lambda: sender.get_delivery("t1", did).status == "delivered")
    second = receiver.requests("/x")[1]
    body = json.loads(second.body)
    # Same id, type, created, livemode; only data changed; and it verifies.
    assert body["id"] == sent.event_id == second.headers["Hookseal-Webhook-Id"]
    assert {k: body[k] for k in ("type", "created", "livemode")} == \
        {k: first[k] for k in ("type", "created", "livemode")}
    assert body["data"]["invoice"]["customer_name"] == "Northwind Traders Ltd"
    hookseal.Webhook(created.secret).verify(second.body, second.headers)

    d = sender.get_delivery("t1", did)
    assert d.corrected and json.loads(d.original_payload or "") == first
    # Lists say so too; an uncorrected event's delivery does not.
    other = sender.send("t1", "invoice.paid", example()).deliveries[0][0]
    listed = {x.id: x.corrected for x in sender.list_deliveries("t1")}
    assert listed[did] and not listed[other]
    page = sender.store.page_deliveries("t1", DeliveryFilter(), limit=10).deliveries
    assert [x.corrected for x in page] == [False, True]
    assert json.loads(d.payload or "")["data"] == corrected()
    revisions = sender.corrections.revisions("t1", sent.event_id)
    assert [json.loads(r.payload) for r in revisions] == [first]
    assert revisions[0].actor == "ops:ann"
    entry = sender.store.list_audit("t1")[0]
    assert (entry.action, entry.actor, entry.reason) == \
        ("corrected_replay", "ops:ann", "customer name was cut off")
    assert entry.target["revision_id"] == done.revision_id == revisions[0].id
    assert entry.target["delivery_ids"] == [did]


def test_a_correction_is_validated_and_needs_a_reason_and_loses_nothing(
        sender: Sender) -> None:
    sender.create_endpoint("t1", "https://hooks.example.com/a")
    sent = sender.send("t1", "invoice.paid", example())
    before = sender.store.get_event("t1", sent.event_id)
    bad = corrected()
    del bad["invoice"]["id"]
    with pytest.raises(InvalidPayloadError):
        sender.replay_corrected("t1", sent.event_id, bad, reason="r")
    with pytest.raises(InvalidRequestError, match="reason"):
        sender.replay_corrected("t1", sent.event_id, corrected(), reason="  ")
    with pytest.raises(InvalidRequestError, match="same"):
        sender.replay_corrected("t1", sent.event_id, example(), reason="r")
    with pytest.raises(NotFoundError):  # another tenant's event is not found
        sender.replay_corrected("t2", sent.event_id, corrected(), reason="r")
    assert sender.store.get_event("t1", sent.event_id) == before
    assert sender.store.event_revisions("t1", sent.event_id) == []
    assert not sender.get_delivery("t1", sent.deliveries[0][0]).corrected
    assert sender.store.list_audit("t1") == []


def test_a_pending_delivery_sends_the_corrected_body_at_its_next_attempt(
        sender: Sender) -> None:
    ep = sender.create_endpoint("t1", "https://hooks.example.com/a").endpoint
    sender.pause_endpoint("t1", ep.id)  # its delivery stays pending
    sent = sender.send("t1", "invoice.paid", example())
    done = sender.replay_corrected("t1", sent.event_id, corrected(), reason="fix")
    assert done.replayed == 0 and done.delivery_ids == [sent.deliveries[0][0]]
    d = sender.get_delivery("t1", sent.deliveries[0][0])
    assert d.status == "pending" and d.corrected
    assert json.loads(d.payload or "")["data"] == corrected()
    # A second correction keeps both earlier bodies, oldest (the original) first.
    again = corrected()
    again["invoice"]["customer_name"] = "Northwind"
    sender.replay_corrected("t1", sent.event_id, again, reason="fix again")
    revs = sender.store.event_revisions("t1", sent.event_id)
    assert [json.loads(r.payload)["data"] for r in revs] == [example(), corrected()]
    assert json.loads(sender.get_delivery("t1", d.id).original_payload or "")["data"] == \
        example()


def test_the_purge_deletes_a_purged_events_revisions(sender: Sender) -> None:
    ep = sender.create_endpoint("t1", "https://hooks.example.com/a").endpoint
    sent = sender.send("t1", "invoice.paid", example())
    sender.replay_corrected("t1", sent.event_id, corrected(), reason="fix")
    sender.cancel("t1", endpoint_id=ep.id)  # finished: the purge may take it
    assert len(sender.store.event_revisions("t1", sent.event_id)) == 1
    assert sender.purge(older_than_days=-1) == 1
    assert sender.store.get_event("t1", sent.event_id) is None
    assert sender.store.event_revisions("t1", sent.event_id) == []
