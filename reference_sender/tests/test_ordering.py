"""Ordered delivery (contract 4.5): sequence numbers given at enqueue (storage/_queue.py
``order_event``), claims that hold a key's next event until the one before it is finished,
and the envelope's ``sequence``; on both backends, over loopback."""

from __future__ import annotations

import copy
import json
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from typing import Any

import pytest
from hookseal_sender import Sender
from hookseal_sender.catalog import _catalog
from hookseal_sender.models import Attempt, AttemptResult

from ._receiver import Received, Receiver
from .conftest import wait_for


def K(name: str) -> str:
    """An invoice id (the ordering key) the catalog's pattern accepts."""
    return f"in_{name:x>8}"


def invoice(name: str, n: int = 0) -> dict[str, Any]:
    data = copy.deepcopy(_catalog().example("invoice.paid"))
    data["invoice"]["id"] = K(name)
    data["invoice"]["number"] = f"{name}-{n}"
    return data  # type: ignore[no-any-return]


def test_sequences_count_per_endpoint_and_key(sender: Sender) -> None:
    ordered = sender.create_endpoint("t1", "http://127.0.0.1:9/o", allow_local=True,
                                     ordering="per_key").endpoint
    plain = sender.create_endpoint("t1", "http://127.0.0.1:9/p", allow_local=True).endpoint
    later = None
    events = []
    for key, n in [("a", 0), ("b", 0), ("a", 1), ("a", 2), ("b", 1)]:
        events.append(sender.send("t1", "invoice.paid", invoice(key, n)).event_id)
        if later is None:  # an ordered endpoint added after the first event starts at 1
            later = sender.create_endpoint("t1", "http://127.0.0.1:9/l", allow_local=True,
                                           ordering="per_key").endpoint
    events.append(sender.send("t1", "test.ping", {"message": "no ordering key"}).event_id)
    got: dict[str, list[tuple[Any, Any]]] = defaultdict(list)
    for event_id in events:  # in send order (ids made in one millisecond do not sort so)
        rows = sender.store._read(  # type: ignore[attr-defined]
            "SELECT d.endpoint_id, d.order_key, d.sequence, q.order_key, q.seq FROM deliveries"
            " d JOIN queue q ON q.delivery_id = d.id WHERE d.event_id = ?", [event_id])
        for endpoint_id, key, seq, qkey, qseq in rows:
            assert (key, seq) == (qkey, qseq)
            got[endpoint_id].append((key, seq))
    a, b = K("a"), K("b")
    assert got[ordered.id] == [(a, 1), (b, 1), (a, 2), (a, 3), (b, 2), (None, None)]
    assert got[plain.id] == [(None, None)] * 6
    assert later is not None and got[later.id] == [(b, 1), (a, 1), (a, 2), (b, 2), (None, None)]


def _result(c: Any, status: str, outcome: str, next_at: Any = None) -> AttemptResult:
    attempt = Attempt(c.attempt_count + 1, time.time(), 200 if status == "delivered" else 503,
                      None, 1.0, {}, "", outcome)
    return AttemptResult(c.id, c.endpoint_id, attempt, status, next_at, c.round_attempts + 1)


def test_a_keys_next_event_waits_until_the_one_before_is_finished(sender: Sender) -> None:
    sender.create_endpoint("t1", "http://127.0.0.1:9/o", allow_local=True, ordering="per_key")
    for key, n in [("a", 0), ("a", 1), ("a", 2), ("b", 0)]:
        sender.send("t1", "invoice.paid", invoice(key, n))
    store = sender.store
    now = time.time()
    first = store.claim("w", 100, now, now + 30)
    assert sorted((c.sequence, json.loads(c.payload)["data"]["invoice"]["id"]) for c in first) \
        == sorted([(1, K("a")), (1, K("b"))])
    assert store.claim("w2", 100, now, now + 30) == []  # in flight: the next ones wait
    head = next(c for c in first if K("a") in c.payload)
    # A retry keeps the key's place: in_a's second event still waits.
    store.complete("w", [_result(head, "pending", "retry", now + 0.5)], now)
    assert store.claim("w2", 100, now + 1, now + 30)[0].id == head.id
    store.complete("w2", [_result(head, "delivered", "delivered")], now + 1)
    (second,) = store.claim("w3", 100, now + 1, now + 30)
    assert (second.sequence, json.loads(second.payload)["data"]["invoice"]["number"]) == (
        2, "a-1")
    # A failed or dead-lettered event lets the next one go too.
    store.complete("w3", [_result(second, "dead_lettered", "retry")], now + 1)
    (third,) = store.claim("w4", 100, now + 1, now + 30)
    assert third.sequence == 3


def test_events_of_a_key_arrive_in_order_one_at_a_time(sender: Sender, receiver: Receiver,
                                                        worker: Any) -> None:
    lock = threading.Lock()
    in_flight: dict[str, int] = defaultdict(int)
    overlaps: list[str] = []
    seen: dict[str, list[int]] = defaultdict(list)
    tries: dict[str, int] = defaultdict(int)

    def answer(r: Received) -> int:
        body = json.loads(r.body)
        key = body["data"]["invoice"]["id"]
        with lock:
            in_flight[key] += 1
            if in_flight[key] > 1:
                overlaps.append(key)
            seen[key].append(body["sequence"])
            tries[body["id"]] += 1
            first_try = tries[body["id"]] == 1
        time.sleep(0.002)
        with lock:
            in_flight[key] -= 1
        return 503 if first_try and body["sequence"] % 3 == 0 else 200  # some retried

    url = receiver.route("/o", fn=answer)
    sender.create_endpoint("t1", url, allow_local=True, ordering="per_key",
                           retry_schedule=[0.05, 0.05], event_types=["invoice.paid"])
    keys = [str(k) for k in range(12)]
    for n in range(6):
        for key in keys:
            sender.send("t1", "invoice.paid", invoice(key, n))
    worker(per_endpoint=10, concurrency=20)
    wait_for(lambda: sum(len(v) for v in seen.values()) >= 12 * 6 + 12 * 2, timeout=60)
    assert overlaps == []
    for key in map(K, keys):
        # Every number in order, a retried one repeated: never a later one before it.
        assert [s for i, s in enumerate(seen[key]) if i == 0 or s != seen[key][i - 1]] \
            == [1, 2, 3, 4, 5, 6], seen[key]


def test_one_stuck_key_does_not_hold_back_the_others(sender: Sender, receiver: Receiver,
                                                     worker: Any) -> None:
    stuck = {"on": True}
    delivered: list[str] = []
    lock = threading.Lock()

    def answer(r: Received) -> int:
        key = json.loads(r.body)["data"]["invoice"]["id"]
        if key == K("stuck") and stuck["on"]:
            return 503
        with lock:
            delivered.append(key)
        return 200

    url = receiver.route("/o", fn=answer)
    sender.create_endpoint("t1", url, allow_local=True, ordering="per_key",
                           retry_schedule=[0.2] * 50, event_types=["invoice.paid"])
    for n in range(3):
        sender.send("t1", "invoice.paid", invoice("stuck", n))
    for k in range(1000):
        sender.send("t1", "invoice.paid", invoice(str(k)))
    worker()
    wait_for(lambda: len(delivered) >= 1000, timeout=90)
    assert K("stuck") not in delivered
    stuck["on"] = False
    wait_for(lambda: delivered.count(K("stuck")) == 3, timeout=30)


def test_a_replayed_ordered_delivery_keeps_its_number(sender: Sender, receiver: Receiver,
                                                      worker: Any) -> None:
    url = receiver.route("/o")
    sender.create_endpoint("t1", url, allow_local=True, ordering="per_key",
                           event_types=["invoice.paid"])
    sent = [sender.send("t1", "invoice.paid", invoice("r", n)) for n in range(2)]
    worker()
    wait_for(lambda: len(receiver.requests("/o")) == 2)
    sender.replay("t1", sent[0].deliveries[0][0])
    wait_for(lambda: len(receiver.requests("/o")) == 3)
    assert [json.loads(r.body)["sequence"] for r in receiver.requests("/o")] == [1, 2, 1]


_WORKER = """
import asyncio, sys
from hookseal_sender import Sender, SenderConfig, Worker
cfg = SenderConfig(database=sys.argv[1], master_key=sys.argv[2], allow_local=True,
                   visibility_timeout=1.0, poll_interval=0.02, global_concurrency=40,
                   per_endpoint_concurrency=20)
asyncio.run(Worker(Sender(cfg)).run())
"""


@pytest.mark.postgres
def test_two_worker_processes_and_a_kill_keep_each_key_in_order(
        pg_server: Any, receiver: Receiver) -> None:
    """No two events of one key in flight at once anywhere, with two worker processes on
    one PostgreSQL queue and one of them killed with SIGKILL while it delivers."""
    from hookseal_sender import SenderConfig, generate_master_key

    db = pg_server.create_db(f"ord{int(time.time() * 1000) % 10**8}")
    key = generate_master_key()
    sender = Sender(SenderConfig(database=db, master_key=key, allow_local=True))
    lock = threading.Lock()
    in_flight: dict[str, int] = defaultdict(int)
    overlaps: list[str] = []
    seen: dict[str, list[int]] = defaultdict(list)

    def answer(r: Received) -> int:
        body = json.loads(r.body)
        k = body["data"]["invoice"]["id"]
        with lock:
            in_flight[k] += 1
            if in_flight[k] > 1:
                overlaps.append(k)
            seen[k].append(body["sequence"])
        time.sleep(0.01)
        with lock:
            in_flight[k] -= 1
        return 200

    url = receiver.route("/o", fn=answer)
    try:
        sender.create_endpoint("t1", url, allow_local=True, ordering="per_key",
                               event_types=["invoice.paid"])
        keys = [str(k) for k in range(20)]
        for n in range(10):
            for k in keys:
                sender.send("t1", "invoice.paid", invoice(k, n))
        procs = [subprocess.Popen([sys.executable, "-c", _WORKER, db, key]) for _ in range(2)]
        try:
            wait_for(lambda: sum(map(len, seen.values())) >= 40, timeout=60)
            procs[0].send_signal(signal.SIGKILL)
            procs[0].wait(10)
            wait_for(lambda: all(set(seen[K(k)]) == set(range(1, 11)) for k in keys),
                     timeout=120)
        finally:
            for p in procs:
                p.kill()
                p.wait(10)
        # A killed worker's attempt may come again (at least once): never out of order.
        assert overlaps == []
        for k in keys:
            firsts = [s for i, s in enumerate(seen[K(k)]) if i == 0 or s != seen[K(k)][i - 1]]
            assert firsts == list(range(1, 11)), (k, seen[K(k)])
    finally:
        sender.close()
