"""Idempotent sends: a key per tenant sends an event once, across threads and processes,
on SQLite and PostgreSQL; other data under the key is refused; keys expire and are purged."""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hookseal_sender import IdempotencyConflictError, Sender, SenderConfig
from hookseal_sender._idempotency import fingerprint
from hookseal_sender.catalog import _catalog
from hookseal_sender.outbox import EnqueueResult
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import fake_resolve, wait_for

T0 = 1_800_000_000.0


def invoice(variant: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(_catalog().example("invoice.paid"))
    data["invoice"]["metadata"] = {"variant": str(variant)}
    return data


def _keys(sender: Sender) -> list[tuple[str, str]]:
    store: Any = sender.store
    return sorted(tuple(r) for r in store._read("SELECT tenant_id, key FROM idempotency_keys"))


def _events(sender: Sender) -> int:
    store: Any = sender.store
    return int(store._read("SELECT COUNT(*) FROM events")[0][0])


def test_a_repeated_key_answers_the_first_send_and_enqueues_nothing(sender: Sender) -> None:
    a = sender.create_endpoint("t1", "https://hooks.example.com/a")
    first = sender.send("t1", "invoice.paid", invoice(), idempotency_key="order-1842")
    # An endpoint added since does not change the answer: the first send's deliveries.
    sender.create_endpoint("t1", "https://hooks.example.com/b")
    again = sender.send("t1", "invoice.paid", invoice(), idempotency_key="order-1842")
    assert not first.replayed and again.replayed
    assert (again.event_id, again.deliveries) == (first.event_id, first.deliveries)
    assert [e for _, e in first.deliveries] == [a.endpoint.id]
    assert again.payload == first.payload
    assert _events(sender) == 1 and sender.store.queue_depth() == 1
    assert len(sender.list_deliveries("t1")) == 1


def test_the_same_key_with_other_data_or_type_is_refused(sender: Sender) -> None:
    sender.create_endpoint("t1", "https://hooks.example.com/a")
    first = sender.send("t1", "invoice.paid", invoice(1), idempotency_key="k")
    with pytest.raises(IdempotencyConflictError) as info:
        sender.send("t1", "invoice.paid", invoice(2), idempotency_key="k")
    assert info.value.code == "idempotency_conflict"
    assert first.event_id in info.value.detail and "'k'" in info.value.detail
    other_type = _catalog().example("customer.created")
    with pytest.raises(IdempotencyConflictError):
        sender.send("t1", "customer.created", other_type, idempotency_key="k")
    assert _events(sender) == 1 and sender.store.queue_depth() == 1


def test_keys_are_per_tenant_and_sends_without_one_are_never_deduplicated(
        sender: Sender) -> None:
    sender.create_endpoint("t1", "https://hooks.example.com/a")
    sender.create_endpoint("t2", "https://hooks.example.com/b")
    one = sender.send("t1", "invoice.paid", invoice(), idempotency_key="k")
    two = sender.send("t2", "invoice.paid", invoice(), idempotency_key="k")
    assert one.event_id != two.event_id and not two.replayed
    plain = [sender.send("t1", "invoice.paid", invoice()) for _ in range(2)]
    assert plain[0].event_id != plain[1].event_id
    assert _events(sender) == 4


@pytest.mark.parametrize("key", ["", "x" * 256, "a\nb", "tab\there", "\u200b", 42, "\udc80"])
def test_a_malformed_key_is_refused_before_anything_is_written(sender: Sender, key: Any) -> None:
    sender.create_endpoint("t1", "https://hooks.example.com/a")
    with pytest.raises(Exception) as info:
        sender.send("t1", "invoice.paid", invoice(), idempotency_key=key)
    assert getattr(info.value, "code", None) == "invalid_request", info.value
    assert "idempotency_key" in str(info.value)
    assert _events(sender) == 0


def test_the_longest_key_and_unicode_keys_are_taken(sender: Sender) -> None:
    for key in ("x" * 255, "commande-été-№7", "a b"):
        first = sender.send("t1", "invoice.paid", invoice(), idempotency_key=key)
        assert sender.send("t1", "invoice.paid", invoice(),
                           idempotency_key=key).event_id == first.event_id
    assert len(_keys(sender)) == 3


def test_a_conflict_in_the_callers_transaction_leaves_it_to_the_caller(sender: Sender) -> None:
    sender.create_endpoint("t1", "https://hooks.example.com/a")
    conn = _caller_conn(sender)
    first = sender.send("t1", "invoice.paid", invoice(), conn=conn, idempotency_key="k")
    again = sender.send("t1", "invoice.paid", invoice(), conn=conn, idempotency_key="k")
    assert again.replayed and again.event_id == first.event_id
    conn.rollback()  # the key goes with the event: a retry after the rollback sends anew
    assert _keys(sender) == [] and _events(sender) == 0
    fresh = sender.send("t1", "invoice.paid", invoice(), idempotency_key="k")
    assert not fresh.replayed and fresh.event_id != first.event_id
    conn.close()


def _caller_conn(sender: Sender) -> Any:
    store: Any = sender.store
    if store.dialect == "sqlite":
        return sqlite3.connect(store.path)
    import psycopg

    return psycopg.connect(store.dsn)


def _waiting_on_a_lock(sender: Sender) -> bool:
    store: Any = sender.store
    rows = store._read("SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                       " AND datname = current_database()")
    return int(rows[0][0]) >= 1


def test_a_second_send_waits_for_the_first_transaction_then_answers_its_event(
        sender: Sender) -> None:
    """No read-then-write: while the first send's transaction is open, a second send with
    the key waits for it, and then answers the first event (it never enqueues its own)."""
    sender.create_endpoint("t1", "https://hooks.example.com/a")
    conn = _caller_conn(sender)
    first = sender.send("t1", "invoice.paid", invoice(), conn=conn, idempotency_key="k")
    got: list[Any] = []
    second = threading.Thread(target=lambda: got.append(
        sender.send("t1", "invoice.paid", invoice(), idempotency_key="k")))
    second.start()
    if sender.store.dialect == "postgresql":
        wait_for(lambda: _waiting_on_a_lock(sender))  # blocked on the key's row
    else:
        second.join(0.3)  # SQLite: waiting for the write lock (busy timeout 30 s)
    assert second.is_alive() and got == []
    conn.commit()
    second.join(30)
    assert not second.is_alive()
    assert isinstance(got[0], EnqueueResult) and got[0].replayed
    assert got[0].event_id == first.event_id and _events(sender) == 1
    conn.close()


def test_concurrent_sends_of_one_key_from_threads_enqueue_once(sender: Sender) -> None:
    eps = [sender.create_endpoint("t1", f"https://hooks.example.com/{i}") for i in range(3)]
    threads, start = 8, threading.Barrier(8)
    results: list[Any] = []
    lock = threading.Lock()

    def send() -> None:
        start.wait(10)
        try:
            r: Any = sender.send("t1", "invoice.paid", invoice(), idempotency_key="burst")
        except Exception as exc:  # reported below, with the others' results
            r = exc
        with lock:
            results.append(r)

    pool = [threading.Thread(target=send) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    assert all(isinstance(r, EnqueueResult) for r in results), results
    assert len(results) == threads
    assert sum(not r.replayed for r in results) == 1
    assert len({(r.event_id, tuple(r.deliveries)) for r in results}) == 1
    assert _events(sender) == 1 and sender.store.queue_depth() == len(eps)


_CHILD = """
import json, sys
from hookseal_sender import Sender, SenderConfig
from hookseal_catalog import load_catalog
sender = Sender(SenderConfig(database=sys.argv[1], master_key=sys.argv[2]))
data = load_catalog().example("invoice.paid")
print("ready", flush=True)
sys.stdin.readline()
r = sender.send("t1", "invoice.paid", data, idempotency_key="from-processes")
print(json.dumps({"event_id": r.event_id, "replayed": r.replayed,
                  "deliveries": r.deliveries}), flush=True)
"""


def test_concurrent_sends_of_one_key_from_processes_enqueue_once(
        sender: Sender, config: SenderConfig) -> None:
    sender.create_endpoint("t1", "https://hooks.example.com/a")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, config.database,
                               config.master_key or ""], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env) for _ in range(4)]
    try:
        for p in procs:  # every process has its store open before any sends
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        answers = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert all(p.returncode == 0 for p in procs)
    assert sum(not a["replayed"] for a in answers) == 1
    assert len({a["event_id"] for a in answers}) == 1
    assert len({json.dumps(a["deliveries"]) for a in answers}) == 1
    assert _events(sender) == 1 and sender.store.queue_depth() == 1


@pytest.fixture
def clocked(config: SenderConfig) -> Iterator[tuple[Sender, list[float]]]:
    now = [T0]
    s = Sender(config.replace(idempotency_retention=3600.0), resolve=fake_resolve,
               clock=lambda: now[0])
    yield s, now
    s.close()


def test_a_key_expires_after_the_retention(clocked: tuple[Sender, list[float]]) -> None:
    sender, now = clocked
    sender.create_endpoint("t1", "https://hooks.example.com/a")
    first = sender.send("t1", "invoice.paid", invoice(1), idempotency_key="k")
    now[0] = T0 + 3599
    assert sender.send("t1", "invoice.paid", invoice(1), idempotency_key="k").replayed
    now[0] = T0 + 3601  # expired but not yet purged: taken over, other data allowed now
    fresh = sender.send("t1", "invoice.paid", invoice(2), idempotency_key="k")
    assert not fresh.replayed and fresh.event_id != first.event_id
    now[0] = T0 + 3602
    again = sender.send("t1", "invoice.paid", invoice(2), idempotency_key="k")
    assert again.replayed and again.event_id == fresh.event_id
    assert _events(sender) == 2


def test_the_retention_purge_deletes_expired_keys_only(
        clocked: tuple[Sender, list[float]]) -> None:
    sender, now = clocked
    sender.send("t1", "invoice.paid", invoice(), idempotency_key="old")
    sender.send("t2", "invoice.paid", invoice(), idempotency_key="old")
    now[0] = T0 + 1800
    sender.send("t1", "invoice.paid", invoice(), idempotency_key="young")
    now[0] = T0 + 3601
    sender.purge()
    assert _keys(sender) == [("t1", "young")]
    now[0] = T0 + 1800 + 3601
    sender.purge()
    assert _keys(sender) == []


def test_the_key_purge_works_in_batches(sender: Sender) -> None:
    for i in range(7):
        sender.send("t1", "invoice.paid", invoice(), idempotency_key=f"k{i}")
    keep = sender.send("t1", "invoice.paid", invoice(), idempotency_key="later")
    store: Any = sender.store
    conn = store.conn()
    store._exec(conn, "UPDATE idempotency_keys SET created_at = ? WHERE key <> ?",
                [1000.0, "later"])
    assert sender.store.purge_idempotency_keys(2000.0, batch_size=3) == 7
    assert _keys(sender) == [("t1", "later")] and not keep.replayed


def test_fingerprints_ignore_key_order_and_tell_types_and_data_apart() -> None:
    data = invoice()
    shuffled = dict(reversed(list(data.items())))
    shuffled["invoice"] = dict(reversed(list(data["invoice"].items())))
    assert fingerprint("invoice.paid", data) == fingerprint("invoice.paid", shuffled)
    assert fingerprint("invoice.paid", data) != fingerprint("invoice.created", data)
    assert fingerprint("invoice.paid", data) != fingerprint("invoice.paid", invoice(1))
    assert fingerprint("a", {"n": 2**70}) != fingerprint("a", {"n": 2**70 + 1})


_tenants = iter(range(10**9))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 2)),
                min_size=1, max_size=8))
def test_sends_follow_the_model_of_one_event_per_key(
        sender: Sender, sends: list[tuple[str, int]]) -> None:
    """Whatever the order of sends: the first send of a key enqueues, a repeat with the same
    data answers its event, with other data is refused; one event per key in the end."""
    tenant = f"prop{next(_tenants)}"
    sender.create_endpoint(tenant, "https://hooks.example.com/a")
    model: dict[str, tuple[int, EnqueueResult]] = {}
    for key, variant in sends:
        if key in model and model[key][0] != variant:
            with pytest.raises(IdempotencyConflictError):
                sender.send(tenant, "invoice.paid", invoice(variant), idempotency_key=key)
            continue
        r = sender.send(tenant, "invoice.paid", invoice(variant), idempotency_key=key)
        if key in model:
            first = model[key][1]
            assert r.replayed and (r.event_id, r.deliveries) == (first.event_id,
                                                                first.deliveries)
        else:
            assert not r.replayed
            model[key] = (variant, r)
    assert len(sender.list_deliveries(tenant)) == len(model)
