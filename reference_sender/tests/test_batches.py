"""Batches (contract 4.4): thresholds, the array body, retries and dead letters as one,
crash safety, replay alone and with the batch. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import hookseal
import pytest
from hookseal_sender import BackgroundWorker, Notice, Sender, SenderConfig
from hookseal_sender.batches import batch_body
from hookseal_sender.catalog import _catalog
from hookseal_sender.errors import ConflictError, NotFoundError

from ._receiver import Received, Receiver
from .conftest import reopen, wait_for

Start = Callable[..., BackgroundWorker]


def data() -> dict[str, Any]:
    return _catalog().example("invoice.paid")  # type: ignore[no-any-return]


def send(sender: Sender, n: int, tenant: str = "t1") -> list[tuple[str, str]]:
    """Send ``n`` events; ``(event_id, delivery_id)`` of each, in enqueue order."""
    out = []
    for _ in range(n):
        r = sender.send(tenant, "invoice.paid", data())
        out.append((r.event_id, r.deliveries[0][0]))
    return out


def ids_in(r: Received) -> list[str]:
    body = json.loads(r.body)
    assert isinstance(body, list), body
    return [e["id"] for e in body]


def finished(sender: Sender, dids: list[str], timeout: float = 15.0) -> None:
    wait_for(lambda: all(sender.get_delivery("t1", d).status not in ("pending", "delivering")
                         for d in dids), timeout)


def test_max_events_sends_signed_arrays_in_enqueue_order(sender: Sender, receiver: Receiver,
                                                        worker: Start) -> None:
    created = sender.create_endpoint("t1", receiver.route("/b"), allow_local=True,
                                     batch={"max_events": 3, "max_wait": 30})
    sent = send(sender, 6)
    worker()
    got = wait_for(lambda: len(receiver.requests("/b")) >= 2 and receiver.requests("/b"))
    assert [ids_in(r) for r in got] == [[e for e, _ in sent[:3]], [e for e, _ in sent[3:]]]
    wh = hookseal.Webhook(created.secret)
    for r in got:
        assert r.headers["Hookseal-Event-Type"] == "batch"
        assert r.headers["Hookseal-Webhook-Id"].startswith("bat_")
        assert r.headers["Content-Type"] == "application/json"
        events = wh.construct_events(r.body, r.headers)  # the signature covers the array
        assert len(events) == 3
    assert got[0].headers["Hookseal-Webhook-Id"] != got[1].headers["Hookseal-Webhook-Id"]
    finished(sender, [d for _, d in sent])
    for n, (_, did) in enumerate(sent):
        d = sender.get_delivery("t1", did)
        assert d.status == "delivered" and len(d.attempts) == 1
        assert d.batch_id == got[n // 3].headers["Hookseal-Webhook-Id"]
        b = sender.get_batch("t1", did)  # found through a member too
        assert b.id == d.batch_id and b.status == "delivered" and b.size == 3
        assert did in b.delivery_ids


def test_max_bytes_is_never_passed(sender: Sender, receiver: Receiver, worker: Start) -> None:
    size = len(json.dumps(_catalog().example_envelope("invoice.paid")))
    max_bytes = int(size * 2.5)
    sender.create_endpoint("t1", receiver.route("/bytes"), allow_local=True,
                           batch={"max_events": 100, "max_bytes": max_bytes, "max_wait": 0.3})
    sent = send(sender, 5)
    worker()
    finished(sender, [d for _, d in sent])
    got = receiver.requests("/bytes")
    assert [e for r in got for e in ids_in(r)] == [e for e, _ in sent]
    assert all(len(r.body) <= max_bytes for r in got), [len(r.body) for r in got]
    assert [len(ids_in(r)) for r in got] == [2, 2, 1]


def test_max_wait_sends_a_partial_batch_after_its_first_event(
        sender: Sender, receiver: Receiver, worker: Start) -> None:
    sender.create_endpoint("t1", receiver.route("/wait"), allow_local=True,
                           batch={"max_events": 100, "max_wait": 1.0})
    worker()
    t0 = time.time()
    sent = send(sender, 2)
    got = wait_for(lambda: receiver.requests("/wait"), timeout=10.0)
    assert ids_in(got[0]) == [e for e, _ in sent]
    # Not before max_wait: the batch stays open for more events until then.
    assert got[0].at - t0 >= 1.0 - 0.05


def test_retried_as_one_with_the_same_id_then_dead_lettered_as_one(
        sender: Sender, receiver: Receiver, worker: Start) -> None:
    notices: list[Notice] = []
    sender.notifier = type("N", (), {"notify": lambda self, n: notices.append(n)})()
    sender.create_endpoint("t1", receiver.route("/down", statuses=[503]), allow_local=True,
                           batch={"max_events": 2, "max_wait": 30})
    first = send(sender, 2)
    worker()
    wait_for(lambda: receiver.requests("/down"))
    later = send(sender, 2)  # enqueued while the first batch is retried
    finished(sender, [d for _, d in first + later])
    got = receiver.requests("/down")
    by_id: dict[str, list[list[str]]] = {}
    for r in got:
        by_id.setdefault(r.headers["Hookseal-Webhook-Id"], []).append(ids_in(r))
    assert len(by_id) == 2
    # The config's schedule has three delays: four attempts of each batch, same events.
    assert sorted(by_id.values()) == sorted([[[e for e, _ in first]] * 4,
                                             [[e for e, _ in later]] * 4])
    for _, did in first + later:
        d = sender.get_delivery("t1", did)
        assert d.status == "dead_lettered"
        assert [a.number for a in d.attempts] == [1, 2, 3, 4]
        assert [a.status_code for a in d.attempts] == [503] * 4
    wait_for(lambda: len([n for n in notices if n.kind == "dead_letter"]) == 2)
    assert sorted(n.delivery_id for n in notices if n.kind == "dead_letter") == sorted(by_id)


def test_replay_alone_and_with_its_batch(sender: Sender, receiver: Receiver,
                                         worker: Start) -> None:
    sender.create_endpoint("t1", receiver.route("/r"), allow_local=True,
                           batch={"max_events": 2, "max_wait": 30})
    sent = send(sender, 2)
    worker()
    finished(sender, [d for _, d in sent])
    batch_id = sender.get_delivery("t1", sent[0][1]).batch_id
    assert batch_id is not None
    sender.replay("t1", sent[0][1])
    # Alone: a single event, its own id as webhook id, not an array.
    wait_for(lambda: len(receiver.requests("/r")) == 2)
    alone = receiver.requests("/r")[1]
    assert json.loads(alone.body)["id"] == sent[0][0]
    assert alone.headers["Hookseal-Webhook-Id"] == sent[0][0]
    assert alone.headers["Hookseal-Event-Type"] == "invoice.paid"
    finished(sender, [sent[0][1]])
    d = sender.get_delivery("t1", sent[0][1])
    assert d.status == "delivered" and len(d.attempts) == 2 and d.batch_id == batch_id
    # With its batch: the same batch id and events, one request.
    b = sender.replay_batch("t1", batch_id, reason="customer lost them")
    assert b.status == "pending" and b.delivery_ids == [did for _, did in sent]
    wait_for(lambda: len(receiver.requests("/r")) == 3)
    again = receiver.requests("/r")[2]
    assert again.headers["Hookseal-Webhook-Id"] == batch_id
    assert ids_in(again) == [e for e, _ in sent]
    finished(sender, [d for _, d in sent])
    assert [len(sender.get_delivery("t1", did).attempts) for _, did in sent] == [3, 2]
    assert sender.get_batch("t1", batch_id).status == "delivered"
    assert sender.store.list_audit("t1")[0].action == "replay_batch"


def test_replay_batch_refuses_a_live_or_unknown_batch(sender: Sender, receiver: Receiver) -> None:
    sender.create_endpoint("t1", receiver.route("/live"), allow_local=True,
                           batch={"max_events": 1, "max_wait": 30})
    [(_, did)] = send(sender, 1)
    with pytest.raises(NotFoundError):  # not gathered yet: in no batch
        sender.replay_batch("t1", did)
    with pytest.raises(NotFoundError):
        sender.replay_batch("t1", "bat_0000000000000000")
    got = sender.store.gather("w1", "t1", sender.get_delivery("t1", did).endpoint_id,
                              [(did, "{}")], {"max_events": 5, "max_bytes": 1 << 20,
                                              "max_wait": 30}, time.time(), time.time() + 30)
    assert got.taken == []  # not leased by w1: gathering leaves it in the queue
    claimed = sender.store.claim("w1", 10, time.time(), time.time() + 30)
    got = sender.store.gather("w1", "t1", claimed[0].endpoint_id, [(did, claimed[0].payload)],
                              {"max_events": 5, "max_bytes": 1 << 20, "max_wait": 30},
                              time.time(), time.time() + 30)
    assert got.taken == [did] and got.sealed == [] and got.open_due is not None
    with pytest.raises(ConflictError):  # gathering: live
        sender.replay_batch("t1", did)
    assert sender.store.queue_depth() == 0


def test_batch_body_is_the_envelopes_byte_for_byte() -> None:
    assert batch_body(['{"id":"a"}', '{"id":"é"}']) == '[{"id":"a"},{"id":"é"}]'.encode()


WORKER = """
import asyncio, pathlib, sys
from hookseal_sender import Sender, SenderConfig, Worker
from hookseal_sender import batches

async def stall(self, b):  # gathered and sealed, never sent: the process dies here
    pathlib.Path(sys.argv[3]).write_text(json.dumps([b.id, [d for d, _ in b.members]]))
    await asyncio.sleep(3600)

import json
batches.Batcher._attempt = stall
cfg = SenderConfig(database=sys.argv[1], master_key=sys.argv[2], allow_local=True,
                   visibility_timeout=1.0, poll_interval=0.02)
asyncio.run(Worker(Sender(cfg)).run())
"""


def test_a_worker_killed_between_gathering_and_sending_loses_nothing(
        config: SenderConfig, sender: Sender, receiver: Receiver, worker: Start,
        tmp_path: Path) -> None:
    sender.create_endpoint("t1", receiver.route("/kill"), allow_local=True,
                           batch={"max_events": 5, "max_wait": 1})
    sent = send(sender, 5)
    marker = tmp_path / "sealed.json"
    proc = subprocess.Popen([sys.executable, "-c", WORKER, config.database,
                             config.master_key or "", str(marker)],
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        wait_for(lambda: marker.exists() and marker.read_text(), timeout=30.0)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    batch_id, members = json.loads(marker.read_text())
    assert members == [d for _, d in sent]
    store = reopen(config)
    try:
        assert store.queue_depth() == 0  # every event is in the sealed batch
        assert store.get_batch(None, batch_id).delivery_ids == members
    finally:
        store.close()
    later = send(sender, 3)  # after the kill: a later batch
    worker()
    finished(sender, [d for _, d in sent + later])
    got = wait_for(lambda: len(receiver.requests("/kill")) == 2 and receiver.requests("/kill"))
    first = [r for r in got if r.headers["Hookseal-Webhook-Id"] == batch_id]
    assert len(first) == 1 and ids_in(first[0]) == [e for e, _ in sent]
    delivered = [e for r in got for e in ids_in(r)]
    assert sorted(delivered) == sorted(e for e, _ in sent + later)  # each exactly once
    assert all(sender.get_delivery("t1", d).status == "delivered" for _, d in sent + later)


def test_purge_drops_purged_members_and_empty_batches(config: SenderConfig, sender: Sender,
                                                      receiver: Receiver, worker: Start) -> None:
    sender.create_endpoint("t1", receiver.route("/purge"), allow_local=True,
                           batch={"max_events": 2, "max_wait": 30})
    sent = send(sender, 2)
    w = worker()
    finished(sender, [d for _, d in sent])
    w.stop()
    batch_id = sender.get_delivery("t1", sent[0][1]).batch_id
    assert sender.store.purge(time.time() + 1) == 2
    assert sender.store.get_batch(None, batch_id) is None
    conn: Any = sender.store.conn()  # type: ignore[attr-defined]
    assert conn.execute("SELECT COUNT(*) FROM batch_members").fetchone()[0] == 0
