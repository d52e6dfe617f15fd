"""Leases kept alive while a worker holds its deliveries (``_leases.py``)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Callable

import pytest
from hookseal_sender import BackgroundWorker, Sender, SenderConfig
from hookseal_sender.catalog import _catalog

from ._receiver import Receiver
from .conftest import wait_for

LEASE = 1.0  # visibility_timeout: shorter than the endpoint takes to answer


@pytest.fixture
def config(db_url: str, master_key: str) -> SenderConfig:
    return SenderConfig(database=db_url, master_key=master_key, allow_local=True,
                        poll_interval=0.02, visibility_timeout=LEASE)


def test_an_attempt_longer_than_the_lease_is_not_sent_twice(
        sender: Sender, receiver: Receiver, worker: Callable[..., BackgroundWorker]) -> None:
    # Each request takes 2.5 leases. Without renewal the lease runs out while the request
    # is out, and the other worker claims and sends the same delivery again.
    url = receiver.route("/slow", delay=2.5 * LEASE)
    sender.create_endpoint("t1", url, allow_local=True)
    data = _catalog().example("invoice.paid")
    sent = {sender.send("t1", "invoice.paid", data).event_id for _ in range(4)}
    worker(per_endpoint=2)
    worker(per_endpoint=2)
    wait_for(lambda: all(d.status == "delivered"
                         for d in sender.list_deliveries("t1", limit=10)), 30)
    received = Counter(r.headers["Hookseal-Webhook-Id"] for r in receiver.requests("/slow"))
    assert set(received) == sent and max(received.values()) == 1, received


def test_a_batch_waiting_behind_a_slow_one_is_not_sent_twice(
        sender: Sender, receiver: Receiver, worker: Callable[..., BackgroundWorker]) -> None:
    # A worker sends an endpoint's batches one at a time: the later ones wait longer
    # than their leases while the first is out, and the other worker took them.
    url = receiver.route("/batches", delay=2.5 * LEASE)
    sender.create_endpoint("t1", url, allow_local=True,
                           batch={"max_events": 1, "max_wait": 0.01})
    data = _catalog().example("invoice.paid")
    sent = {sender.send("t1", "invoice.paid", data).event_id for _ in range(3)}
    worker()
    worker()
    wait_for(lambda: all(d.status == "delivered"
                         for d in sender.list_deliveries("t1", limit=10)), 30)
    received = Counter(e["id"] for r in receiver.requests("/batches")
                       for e in json.loads(r.body))
    assert set(received) == sent and max(received.values()) == 1, received
