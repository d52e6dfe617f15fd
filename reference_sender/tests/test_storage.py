"""The store on both backends: leases, concurrent claims, purge, the claim index."""

from __future__ import annotations

import threading
import time
from typing import Any

from hookseal_sender import Sender
from hookseal_sender.catalog import no_validation
from hookseal_sender.models import Attempt, AttemptResult, new_id
from hookseal_sender.outbox import enqueue


def make(sender: Sender, n: int, tenant: str = "t1") -> list[str]:
    ep = sender.create_endpoint(tenant, "https://hooks.example.com/x")
    ids = []
    for i in range(n):
        r = enqueue(sender.store, tenant, "x.y", {"i": i}, validator=no_validation,
                    endpoint_ids=[ep.endpoint.id])
        ids.append(r.deliveries[0][0])
    return ids


def test_claim_lease_and_visibility(sender: Sender) -> None:
    ids = make(sender, 5)
    now = time.time()
    first = sender.store.claim("w1", 3, now, now + 60)
    assert len(first) == 3 and all(c.payload for c in first)
    second = sender.store.claim("w2", 10, now, now + 60)
    assert {c.id for c in first} | {c.id for c in second} == set(ids)
    assert sender.store.claim("w3", 10, now, now + 60) == []
    assert sender.get_delivery("t1", first[0].id).status == "delivering"
    later = sender.store.claim("w3", 10, now + 61, now + 120)  # leases expired
    assert len(later) == 5


def test_excluded_endpoints_and_release(sender: Sender) -> None:
    ids = make(sender, 2)
    d = sender.get_delivery("t1", ids[0])
    now = time.time()
    assert sender.store.claim("w1", 10, now, now + 60, [d.endpoint_id]) == []
    got = sender.store.claim("w1", 10, now, now + 60)
    sender.store.release("w1", [c.id for c in got], now)
    assert len(sender.store.claim("w2", 10, now, now + 60)) == 2


def test_complete_with_lost_lease(sender: Sender) -> None:
    (did,) = make(sender, 1)
    now = time.time()
    (c,) = sender.store.claim("w1", 1, now, now + 1)
    (c2,) = sender.store.claim("w2", 1, now + 2, now + 60)  # w1's lease expired
    attempt = Attempt(1, now, 200, None, 1.0, {}, "", "delivered")
    lost = sender.store.complete("w1", [AttemptResult(did, c.endpoint_id, attempt,
                                                      "delivered", None, 1)], now)
    assert lost == [did]
    d = sender.get_delivery("t1", did)
    assert d.status == "delivering" and len(d.attempts) == 1  # recorded, state kept
    assert sender.store.complete("w2", [AttemptResult(did, c2.endpoint_id, attempt,
                                                      "delivered", None, 1)], now) == []
    assert sender.get_delivery("t1", did).status == "delivered"


def test_concurrent_claims_are_disjoint(sender: Sender) -> None:
    ids = make(sender, 200)
    got: list[list[str]] = [[] for _ in range(4)]

    def claim(i: int) -> None:
        while True:
            now = time.time()
            batch = sender.store.claim(f"w{i}", 7, now, now + 60)
            if not batch:
                return
            got[i].extend(c.id for c in batch)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [x for g in got for x in g]
    assert sorted(flat) == sorted(ids)  # every delivery exactly once
    sender.store.close()


def test_purge_keeps_live_and_recent(sender: Sender) -> None:
    ids = make(sender, 3)
    now = time.time()
    claimed = sender.store.claim("w", 2, now, now + 60)
    results = [AttemptResult(c.id, c.endpoint_id, Attempt(1, now, 200, None, 1.0),
                             "delivered", None, 1) for c in claimed]
    sender.store.complete("w", results, now)
    assert sender.store.purge(now - 10) == 0  # too recent
    assert sender.store.purge(now + 10) == 2
    remaining = {d.id for d in sender.list_deliveries("t1")}
    assert remaining == set(ids) - {c.id for c in claimed}
    assert sender.store.queue_depth() == 1


def _plan(sender: Sender) -> str:
    store: Any = sender.store
    conn = store.conn()
    now = time.time()
    if store.dialect == "sqlite":
        rows = conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM deliveries WHERE status IN "
            "('pending','delivering') AND next_attempt_at <= ? ORDER BY next_attempt_at "
            "LIMIT 100", (now,)).fetchall()
        return " ".join(str(r) for r in rows)
    conn.execute("ANALYZE deliveries")
    rows = conn.execute(
        "EXPLAIN SELECT id FROM deliveries WHERE status IN ('pending','delivering') AND "
        "next_attempt_at <= %s ORDER BY next_attempt_at LIMIT 100 FOR UPDATE SKIP LOCKED",
        (now,)).fetchall()
    return " ".join(r[0] for r in rows)


def test_claim_query_uses_the_claim_index(sender: Sender) -> None:
    """With many finished deliveries and a few live ones, claims read the partial index."""
    ep = sender.create_endpoint("t1", "https://hooks.example.com/x")
    store: Any = sender.store
    now = time.time()
    rows = [(new_id("dlv"), "t1", "evt_x", ep.endpoint.id, "x.y",
             "delivered" if i % 100 else "pending", now, now, now) for i in range(20000)]
    with store.transaction() as conn:
        store._many(conn, "INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id,"
                    " event_type, status, next_attempt_at, created_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?)", rows)
    plan = _plan(sender)
    assert "deliveries_claim" in plan, plan


def test_sqlite_wal_checkpoints_happen_in_maintenance(sender: Sender) -> None:
    store: Any = sender.store
    if store.dialect != "sqlite":
        store.maintenance()  # a no-op elsewhere
        return
    conn = store.conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 10_000
    make(sender, 50)
    store.maintenance()
    busy, log, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0 and log == done  # everything in the WAL is in the database
