"""The store on both backends: leases, concurrent claims, purge, the claim index."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from typing import Any, Optional

import pytest
from hookseal_sender import Sender, SenderConfig
from hookseal_sender.catalog import no_validation
from hookseal_sender.models import Attempt, AttemptResult, DeliveryFilter, new_id
from hookseal_sender.outbox import enqueue
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import reopen


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


def test_claim_hands_over_every_field(sender: Sender) -> None:
    """Each field of a claimed delivery is what was enqueued (the rows become Claimed
    positionally: a swap of two fields of one type would go unnoticed otherwise)."""
    ep = sender.create_endpoint("t1", "https://hooks.example.com/x").endpoint
    r = enqueue(sender.store, "t1", "x.y", {"i": 7}, validator=no_validation,
                endpoint_ids=[ep.id])
    now = time.time()
    [c] = sender.store.claim("w1", 5, now, now + 60)
    assert (c.id, c.tenant_id, c.endpoint_id, c.event_type, c.event_id) == \
        (r.deliveries[0][0], "t1", ep.id, "x.y", r.event_id)
    assert (c.attempt_count, c.round_attempts, c.endpoint_version, c.sequence) == \
        (0, 0, ep.version, None)
    envelope = json.loads(c.payload)
    assert envelope["id"] == r.event_id and envelope["data"] == {"i": 7}


def test_per_endpoint_cap_counts_every_workers_leases(sender: Sender) -> None:
    """On a store shared by worker processes, an endpoint's leases are capped across
    all of them (each worker sends only what it leased); SQLite, one worker process per
    file, leaves the cap to the worker."""
    ids = make(sender, 8)
    other = make(sender, 2)  # another endpoint: not held back by the first one's cap
    store, now = sender.store, time.time()
    first = store.claim("w1", 3, now, now + 60, per_endpoint=3)
    assert len(first) == 3
    second = store.claim("w2", 10, now, now + 60, per_endpoint=3)
    if not store.concurrent_writers:
        assert len(second) == 7  # no cap: the rest
        return
    assert {c.id for c in second} == set(other)  # the first endpoint is full
    assert store.claim_probe("w2", first[0].endpoint_id, now, now + 60, per_endpoint=3) == []
    store.release("w1", [first[0].id], now)  # one lease ends: one more for anyone
    third = store.claim("w2", 10, now, now + 60, per_endpoint=3)
    assert len(third) == 1 and third[0].id in ids
    # An expired lease holds nothing (its worker died): the cap counts live leases only.
    later = store.claim("w3", 10, now + 61, now + 120, per_endpoint=3)
    assert sorted(Counter(c.endpoint_id for c in later).values()) == [2, 3]


@pytest.mark.parametrize("per_endpoint", [None, 3])
def test_a_claim_takes_at_most_each_of_one_endpoint(sender: Sender,
                                                   per_endpoint: Optional[int]) -> None:
    """With ``each``, a claim leases no endpoint more than that many deliveries (the worker
    keeps no more): it reads past an endpoint's other rows to the next endpoints', oldest
    first, and leaves the rest due for the next claim; the shared cap still applies."""
    a, b, c = make(sender, 5), make(sender, 5), make(sender, 1)
    store, now = sender.store, time.time()
    got = store.claim("w1", 10, now, now + 60, per_endpoint=per_endpoint, each=2)
    assert {x.id for x in got} == {*a[:2], *b[:2], *c}  # each endpoint's oldest
    more = store.claim("w2", 10, now, now + 60, per_endpoint=per_endpoint, each=1)
    assert {x.id for x in more} == {a[2], b[2]}
    rest = store.claim("w3", 10, now, now + 60, per_endpoint=per_endpoint, each=10)
    if per_endpoint is not None and store.concurrent_writers:
        assert rest == []  # a and b hold 3 leases each: their cap
    else:
        assert {x.id for x in rest} == {*a[3:], *b[3:]}


def test_a_capped_claim_leaves_out_excluded_endpoints_and_leases_to_the_exact_time(
        sender: Sender) -> None:
    """The capped claim (PostgreSQL: lock and claim sent as one query, values bound by
    the client) takes the excluded endpoints and the times as given."""
    ids = make(sender, 3)
    other = make(sender, 2, "t2")
    excluded = sender.get_delivery("t1", ids[0]).endpoint_id
    store, now = sender.store, time.time() + 0.123456789
    lease = now + 60.000001
    got = store.claim("w1", 10, now, lease, [excluded], per_endpoint=5)
    assert {c.id for c in got} == set(other)
    due = {row[0] for row in store._read(  # type: ignore[attr-defined]
        "SELECT due FROM queue WHERE lease_owner = ?", ["w1"])}
    assert due == {lease}  # not rounded on the way
    assert store.claim("w2", 10, now, lease, [], per_endpoint=5) != []  # the rest


def test_excluded_endpoints_and_release(sender: Sender) -> None:
    ids = make(sender, 2)
    d = sender.get_delivery("t1", ids[0])
    now = time.time()
    assert sender.store.claim("w1", 10, now, now + 60, [d.endpoint_id]) == []
    got = sender.store.claim("w1", 10, now, now + 60)
    sender.store.release("w1", [c.id for c in got], now)
    assert len(sender.store.claim("w2", 10, now, now + 60)) == 2


@pytest.mark.parametrize("capped", [False, True])
def test_a_claims_row_condition_is_composed_whole(sender: Sender, capped: bool) -> None:
    """The claim statement takes the whole condition of its rows (as the breaker's probe
    of a parked row gives its own), kept together: a condition with ``OR`` at its top
    still has the ordered-head rule applied to all of it. (The probe's condition was
    text appended after ``due <= ?``: a rewrite of that condition would have broken it.)"""
    store: Any = sender.store
    a = make(sender, 3)
    b = make(sender, 1, "t2")
    ep_a, ep_b = (sender.get_delivery(t, d[0]).endpoint_id for t, d in (("t1", a), ("t2", b)))
    now = time.time()
    # a's rows are one key's sequence: only the head may be leased, whatever the condition.
    with store.transaction() as conn:
        for seq, d in enumerate(a, 1):
            store._exec(conn, "UPDATE queue SET order_key = 'k', seq = ? WHERE"
                        " delivery_id = ?", [seq, d])
    rows = store._lease("w", 10, now, now + 60, "endpoint_id = ? OR endpoint_id = ?",
                        [ep_a, ep_b], "due", 5 if capped else None)
    assert sorted(r[0] for r in rows) == sorted([a[0], *b])


def test_a_breaker_probe_is_a_due_retry_when_there_is_one(sender: Sender) -> None:
    """First attempts due long before a retry still lose to it (issue 19 item 1: a probe
    that is a first attempt to an endpoint that refuses first attempts never closes the
    breaker); without a due retry, the oldest due delivery; nothing before its time."""
    store = sender.store
    first, second, third = make(sender, 3)
    ep = sender.get_delivery("t1", first).endpoint_id
    other = make(sender, 1, "t2")[0]  # another endpoint's delivery is never the probe
    now = time.time()
    (c,) = store.claim_probe("w", ep, now, now + 60)
    assert c.id == first and c.round_attempts == 0  # no retry yet: the oldest
    attempt = Attempt(1, now, 503, None, 1.0, {}, "", "retry")
    store.complete("w", [AttemptResult(first, ep, attempt, "pending", now + 5, 1)], now)
    assert store.claim_probe("w", ep, now + 1, now + 60)[0].id == second  # retry not due
    store.release("w", [second], now - 100)  # the first attempts are due far earlier
    (probe,) = store.claim_probe("w", ep, now + 6, now + 60)
    assert probe.id == first and probe.round_attempts == 1
    assert store.claim_probe("w", ep, now + 6, now + 60)[0].id == second
    assert store.claim_probe("w", ep, now + 6, now + 60)[0].id == third
    assert store.claim_probe("w", ep, now + 6, now + 60) == []  # all leased
    assert store.claim("w", 10, now + 6, now + 60)[0].id == other


def test_the_queue_holds_live_deliveries_only(sender: Sender) -> None:
    """A delivery is in the queue from enqueue until its last attempt; a retry waits
    there with its due time and attempt counts; a release gives the lease back."""
    store: Any = sender.store
    a, b, c = make(sender, 3)
    now = time.time()

    def queued() -> dict[str, tuple[Any, ...]]:
        return {r[0]: tuple(r[1:]) for r in store._read(
            "SELECT delivery_id, due, lease_owner, attempt_count, round_attempts FROM queue")}

    assert set(queued()) == {a, b, c} and store.queue_depth() == 3
    got = {x.id: x for x in store.claim("w", 3, now, now + 60)}
    assert {v[1] for v in queued().values()} == {"w"}
    attempt = Attempt(1, now, 503, None, 1.0, {}, "", "retry")
    store.complete("w", [AttemptResult(a, got[a].endpoint_id, attempt, "delivered", None, 1),
                         AttemptResult(b, got[b].endpoint_id, attempt, "pending", now + 30, 1)],
                   now)
    store.release("w", [c], now + 5)
    assert queued() == {b: (now + 30, None, 1, 1), c: (now + 5, None, 0, 0)}
    assert sender.get_delivery("t1", a).status == "delivered"
    retried = sender.get_delivery("t1", b)
    assert (retried.status, retried.next_attempt_at, retried.attempt_count) == ("pending", now + 30, 1)
    again = {x.id: x for x in store.claim("w", 3, now + 31, now + 90)}
    assert set(again) == {b, c}
    assert (again[b].attempt_count, again[b].round_attempts) == (1, 1)  # the retry's counts


def test_cancel_leaves_leased_deliveries_to_their_worker(sender: Sender) -> None:
    """Cancelling skips what a worker holds, unless that worker asks (its endpoint went
    away while it held them)."""
    store: Any = sender.store
    ids = make(sender, 3)
    now = time.time()
    (held,) = store.claim("w", 1, now, now + 60)
    assert store.cancel("t1", DeliveryFilter()) == 2
    assert sender.get_delivery("t1", held.id).status == "delivering"
    assert store.cancel(None, DeliveryFilter(), [held.id], owner="other") == 0
    assert store.cancel(None, DeliveryFilter(), [held.id], owner="w") == 1
    assert {sender.get_delivery("t1", d).status for d in ids} == {"cancelled"}
    assert store.queue_depth() == 0


def test_a_store_from_before_the_queue_is_brought_up_to_date(sender: Sender,
                                                             config: SenderConfig) -> None:
    """Until 5 Dec 2026 live deliveries were claimed in the deliveries table through the
    index deliveries_claim. Opening such a store moves them into the queue, leases kept."""
    store: Any = sender.store
    pending, leased, done = make(sender, 3)
    now = time.time()
    with store.transaction() as conn:  # the old shape
        store._exec(conn, "DELETE FROM queue")
        store._exec(conn, "CREATE INDEX deliveries_claim ON deliveries (next_attempt_at)"
                    " WHERE status IN ('pending','delivering')")
        store._exec(conn, "UPDATE deliveries SET status = 'delivering', lease_owner = 'w',"
                    " next_attempt_at = ? WHERE id = ?", [now + 60, leased])
        store._exec(conn, "UPDATE deliveries SET status = 'delivered', next_attempt_at = NULL"
                    " WHERE id = ?", [done])
    reopened: Any = reopen(config)
    try:
        rows = reopened._read("SELECT delivery_id, lease_owner, due FROM queue ORDER BY due")
        assert [tuple(r[:2]) for r in rows] == [(pending, None), (leased, "w")]
        assert rows[1][2] == now + 60
        assert not reopened._has_index(reopened.conn(), "deliveries_claim")
        assert [d.status for d in map(sender.get_delivery, ["t1"] * 3, [pending, leased, done])
                ] == ["pending", "delivering", "delivered"]
        assert [c.id for c in reopened.claim("w2", 10, now, now + 60)] == [pending]
        reopened.migrate()  # again: nothing changes
        assert reopened.queue_depth() == 2
    finally:
        reopened.close()


def test_columns_added_to_the_schema_are_added_to_an_older_store(
        sender: Sender, config: SenderConfig) -> None:
    """A store made before a column existed gets it when opened (here the endpoint options
    of contract 4.2-4.6, added on 7 Dec 2026); its rows read as unset."""
    store: Any = sender.store
    ep = sender.create_endpoint("t1", "http://127.0.0.1:9/hook", allow_local=True).endpoint
    added = ["versions", "filter", "headers", "redact", "rate_limit", "batch", "ordering",
             "auth"]
    with store.transaction() as conn:  # the old shape
        for col in added:
            store._exec(conn, f"ALTER TABLE endpoints DROP COLUMN {col}")
    assert not set(added) & store._column_names(store.conn(), "endpoints")
    reopened: Any = reopen(config)
    try:
        assert set(added) <= reopened._column_names(reopened.conn(), "endpoints")
        again = reopened.get_endpoint("t1", ep.id)
        assert (again.url, again.filter, again.rate_limit, again.batch) == (ep.url, None, None, None)
        reopened.update_endpoint("t1", ep.id, rate_limit=2.5, filter={"/type": {"$eq": "x"}})
        changed = reopened.get_endpoint("t1", ep.id)
        assert (changed.rate_limit, changed.filter) == (2.5, {"/type": {"$eq": "x"}})
        reopened.migrate()  # again: nothing changes
        assert reopened.get_endpoint("t1", ep.id) == changed
    finally:
        reopened.close()


def test_renew_extends_only_the_owners_live_leases(sender: Sender) -> None:
    ids = make(sender, 3)
    now = time.time()
    mine = [c.id for c in sender.store.claim("w1", 2, now, now + 1)]
    (theirs,) = [c.id for c in sender.store.claim("w2", 1, now, now + 1)]
    renewed = sender.store.renew("w1", [*mine, theirs, "dlv_unknown"], now + 60)
    assert sorted(renewed) == sorted(mine)
    # After the first leases' end: w1's rows are still leased, w2's came due again.
    assert [c.id for c in sender.store.claim("w3", 10, now + 2, now + 60)] == [theirs]
    assert set(ids) == {*mine, theirs}
    assert sender.store.renew("w1", [], now + 60) == []


@pytest.mark.postgres
def test_renew_skips_a_row_another_transaction_holds(pg_server: Any) -> None:
    """A renewal never waits for a locked row: one that waited, holding the rows it had
    locked, deadlocked with its own worker's write-back of the same rows."""
    import psycopg
    from hookseal_sender import generate_master_key

    from .conftest import fake_resolve

    db = pg_server.create_db(f"renew_{int(time.time() * 1000) % 10**8}")
    sender = Sender(SenderConfig(database=db, master_key=generate_master_key()),
                    resolve=fake_resolve)
    try:
        ids = make(sender, 2)
        now = time.time()
        assert len(sender.store.claim("w1", 2, now, now + 1)) == 2
        writer = psycopg.connect(db)  # a write-back of the first row, in progress
        writer.execute("UPDATE queue SET attempt_count = 1 WHERE delivery_id = %s", [ids[0]])
        done: list[list[str]] = []
        thread = threading.Thread(
            target=lambda: done.append(sender.store.renew("w1", ids, now + 60)), daemon=True)
        thread.start()
        thread.join(10)
        writer.rollback()
        writer.close()
        thread.join(10)
        assert done == [[ids[1]]], "the renewal waited for the locked row"
    finally:
        sender.close()


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


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_operations_keep_the_queue_and_the_log_in_step(sender: Sender,
                                                              seed: int) -> None:
    """Claims, write-backs, releases, cancels and replays in random order, checked after
    each step against a model: a delivery is in the queue exactly while it is live, it
    reads "delivering" exactly while leased, and only its lease holder records it."""
    rng = random.Random(seed)
    store: Any = sender.store
    ids = make(sender, 8)
    endpoint = sender.get_delivery("t1", ids[0]).endpoint_id
    t = time.time()
    status = dict.fromkeys(ids, "pending")
    lease: dict[str, Optional[tuple[str, float]]] = dict.fromkeys(ids)  # owner, until
    due = dict.fromkeys(ids, t)
    for _ in range(150):
        op, owner = rng.choice(["claim", "complete", "release", "cancel", "replay", "wait"]), \
            rng.choice(["w1", "w2"])
        some = rng.sample(ids, rng.randint(1, 3))
        if op == "claim":
            limit = rng.randint(1, 3)
            ready = {d for d in ids if status[d] == "pending" and due[d] <= t}
            got = [c.id for c in store.claim(owner, limit, t, t + 5)]
            assert set(got) <= ready and len(got) == min(limit, len(ready)), (got, ready)
            for d in got:
                lease[d], due[d] = (owner, t + 5), t + 5
        elif op == "complete":
            outcome = rng.choice(["delivered", "failed", "pending"])
            results = [AttemptResult(d, endpoint, Attempt(1, t, 200, None, 1.0, {}, "", "x"),
                                     outcome, t + 3 if outcome == "pending" else None, 1)
                       for d in some]
            mine = [d for d in some if status[d] == "pending" and (lease[d] or ("",))[0] == owner]
            assert sorted(store.complete(owner, results, t)) == sorted(set(some) - set(mine))
            for d in mine:
                status[d], lease[d], due[d] = outcome, None, t + 3
        elif op == "release":
            store.release(owner, some, t + 1)
            for d in some:
                if status[d] == "pending" and (lease[d] or ("",))[0] == owner:
                    lease[d], due[d] = None, t + 1
        elif op == "cancel":
            by = rng.choice([None, owner])
            gone = [d for d in some if status[d] == "pending"
                    and (lease[d] is None or (lease[d] or ("",))[0] == by)]
            assert store.cancel("t1", DeliveryFilter(), some, owner=by) == len(gone)
            for d in gone:
                status[d], lease[d] = "cancelled", None
        elif op == "replay":
            back = [d for d in some if status[d] != "pending"]
            assert store.replay("t1", some, t, 0.0) == len(back)
            for d in back:
                status[d], due[d] = "pending", t
        else:
            t += rng.choice([1.0, 3.0, 6.0])
        queued = {r[0] for r in store._read("SELECT delivery_id FROM queue")}
        assert queued == {d for d in ids if status[d] == "pending"}, op
        shown = {d: "delivering" if status[d] == "pending" and lease[d] else status[d]
                 for d in ids}
        assert {d: sender.get_delivery("t1", d).status for d in ids} == shown, op


def test_complete_writes_every_field_of_a_large_batch(sender: Sender) -> None:
    # More results than one multi-row statement holds (SQLite writes 100 a statement),
    # each outcome kind, and one delivery whose lease another worker took meanwhile.
    ids = make(sender, 150)
    now = time.time()
    claimed = sender.store.claim("w1", 149, now, now + 60)
    claimed += sender.store.claim("w1", 1, now, now + 1)
    (stolen,) = sender.store.claim("w2", 10, now + 2, now + 60)  # only that lease expired
    assert stolen.id == claimed[-1].id
    kinds = [("delivered", 200, None, None), ("pending", 503, None, now + 30.5),
             ("failed", None, "destination_refused", None), ("dead_lettered", 500, None, None)]
    results = []
    for i, c in enumerate(claimed):
        status, code, error, next_at = kinds[i % len(kinds)]
        attempt = Attempt(c.attempt_count + 1, now + i, code, error, 1.5 + i, {"X-I": str(i)},
                          f"body {i}", "delivered" if status == "delivered" else "retry")
        results.append(AttemptResult(c.id, c.endpoint_id, attempt, status, next_at, 1 + i % 3))
    assert sender.store.complete("w1", results, now) == [stolen.id]
    for i, c in enumerate(claimed[:-1]):
        status, code, error, next_at = kinds[i % len(kinds)]
        d = sender.get_delivery("t1", c.id)
        assert (d.status, d.attempt_count, d.round_attempts) == (status, 1, 1 + i % 3)
        assert (d.last_status_code, d.last_error, d.next_attempt_at) == (code, error, next_at)
        (a,) = d.attempts
        assert (a.at, a.latency_ms, a.status_code, a.error) == (now + i, 1.5 + i, code, error)
        assert (a.response_headers, a.response_body) == ({"X-I": str(i)}, f"body {i}")
    kept = sender.get_delivery("t1", stolen.id)
    assert kept.status == "delivering" and len(kept.attempts) == 1  # recorded, state kept
    assert sorted(ids) == sorted(c.id for c in claimed)


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


def _insert_deliveries(store: Any, rows: list[tuple[Any, ...]]) -> None:
    """Insert deliveries ``(id, tenant, event, endpoint, type, status, due, created,
    updated)`` directly, with queue rows for the live ones, as enqueue writes them."""
    with store.transaction() as conn:
        store._many(conn, "INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id,"
                    " event_type, status, next_attempt_at, created_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?)", rows)
        store._many(conn, store._INSERT_QUEUE,
                    [(r[0], r[1], r[3], r[2], r[4], r[6]) for r in rows if r[5] == "pending"])


def _plan(sender: Sender) -> str:
    store: Any = sender.store
    conn = store.conn()
    now = time.time()
    if store.dialect == "sqlite":
        rows = conn.execute(
            "EXPLAIN QUERY PLAN SELECT delivery_id FROM queue WHERE due <= ? ORDER BY due"
            " LIMIT 100", (now,)).fetchall()
        return " ".join(str(r) for r in rows)
    conn.execute("ANALYZE queue")
    rows = conn.execute(
        "EXPLAIN SELECT delivery_id FROM queue WHERE due <= %s ORDER BY due LIMIT 100"
        " FOR UPDATE SKIP LOCKED", (now,)).fetchall()
    return " ".join(r[0] for r in rows)


def test_claim_query_uses_the_claim_index(sender: Sender) -> None:
    """With many finished deliveries and some live ones, claims read the queue's index
    of due times; finished deliveries are not in the queue at all."""
    ep = sender.create_endpoint("t1", "https://hooks.example.com/x")
    store: Any = sender.store
    now = time.time()
    _insert_deliveries(store, [
        (new_id("dlv"), "t1", "evt_x", ep.endpoint.id, "x.y",
         "delivered" if i % 10 else "pending", now + (i % 7), now, now) for i in range(20000)])
    assert store.queue_depth() == 2000
    plan = _plan(sender)
    assert "queue_due" in plan, plan


def test_claim_statement_reads_the_index_not_the_table(sender: Sender) -> None:
    """The claim itself (not only its subquery) finds its rows through indexes.

    On PostgreSQL, ``id IN (subquery)`` was planned as a hash join against a scan of the
    whole table while the table was small; the claim now looks the ids up.
    """
    (did,) = make(sender, 1)
    store: Any = sender.store
    now = time.time()
    _insert_deliveries(store, [
        (new_id("dlv"), "t1", "evt_x", sender.get_delivery("t1", did).endpoint_id, "x.y",
         "pending", now, now, now) for _ in range(10_000)])
    if store.dialect == "postgresql":
        store.conn().execute("ANALYZE queue")  # as autovacuum would have by now
    explain = "EXPLAIN QUERY PLAN " if store.dialect == "sqlite" else "EXPLAIN "
    with store.transaction() as conn:
        plan = " ".join(str(r[-1]) for r in store._exec(
            conn, explain + store._claim_sql(), ["w", now + 60, now, 100]).fetchall())
    assert "queue_due" in plan, plan
    if store.dialect == "sqlite":
        # The claimed rows are found by rowid, not through the text primary key's index.
        assert "SCAN queue" not in plan and "INTEGER PRIMARY KEY" in plan, plan
    else:
        assert "Seq Scan" not in plan and "queue_pkey" in plan, plan


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


def _set_state(store: Any, ids: list[str], status: str, at: float) -> None:
    """Set deliveries' status directly; a finished delivery leaves the queue, as when a
    worker records its last attempt."""
    clause, vals = store._in("id", ids)
    with store.transaction() as conn:
        store._exec(conn, "UPDATE deliveries SET status = ?, updated_at = ?,"
                    f" next_attempt_at = NULL WHERE {clause}", [status, at, *vals])
        if status not in ("pending", "delivering"):
            clause, vals = store._in("delivery_id", ids)
            store._exec(conn, f"DELETE FROM queue WHERE {clause}", vals)


def _add_attempts(store: Any, ids: list[str], at: float) -> None:
    with store.transaction() as conn:
        store._many(conn, "INSERT INTO attempts (delivery_id, number, at, status_code, error,"
                    " latency_ms, response_headers, response_body, outcome)"
                    " VALUES (?,?,?,?,?,?,?,?,?)",
                    [(d, n, at, 500, None, 1.0, "{}", "", "retry") for d in ids
                     for n in (1, 2)])


def _count(store: Any, sql: str, params: list[Any]) -> int:
    return int(store._read(sql, params)[0][0])


def _old_events(sender: Sender, n: int, at: float) -> tuple[list[str], list[list[str]]]:
    """``n`` events at ``at``, each with a delivery to two endpoints, each with attempts."""
    eps = [sender.create_endpoint("t1", f"https://hooks.example.com/{x}").endpoint.id
           for x in "ab"]
    events, deliveries = [], []
    for i in range(n):
        r = enqueue(sender.store, "t1", "x.y", {"i": i}, validator=no_validation,
                    endpoint_ids=eps, now=at)
        events.append(r.event_id)
        deliveries.append([d for d, _ in r.deliveries])
    _add_attempts(sender.store, [d for ds in deliveries for d in ds], at)
    return events, deliveries


def test_batched_purge_deletes_exactly_the_finished_old_rows(sender: Sender) -> None:
    store: Any = sender.store
    now = time.time()
    old, before = now - 1000, now - 100
    events, dls = _old_events(sender, 12, old)
    finished = ["delivered", "failed", "dead_lettered", "cancelled"]
    for i, (a, b) in enumerate(dls):
        _set_state(store, [a, b], finished[i % 4], old)
    _set_state(store, [dls[0][1]], "pending", old)      # live: kept, and so is its event
    _set_state(store, [dls[1][1]], "delivered", now)    # recent: kept, and so is its event
    kept = {dls[0][1], dls[1][1]}
    lonely_old = enqueue(store, "t1", "x.y", {}, validator=no_validation, endpoint_ids=[],
                         now=old).event_id             # no deliveries at all: purged
    lonely_new = enqueue(store, "t1", "x.y", {}, validator=no_validation, endpoint_ids=[],
                         now=now).event_id             # too recent: kept
    assert _count(store, "SELECT COUNT(*) FROM events WHERE id = ?", [lonely_old]) == 1
    calls: list[tuple[int, int]] = []

    assert store.purge(before, batch_size=5, on_progress=lambda d, t: calls.append((d, t))) == 22
    # 22 deliveries in batches of 5: the total first, then one report per committed batch.
    assert calls == [(0, 22), (5, 22), (10, 22), (15, 22), (20, 22), (22, 22)]
    left = {r[0] for r in store._read("SELECT id FROM deliveries", [])}
    assert left == kept
    attempts = store._read("SELECT delivery_id, COUNT(*) FROM attempts GROUP BY delivery_id", [])
    assert dict(attempts) == dict.fromkeys(kept, 2)
    assert {r[0] for r in store._read("SELECT id FROM events", [])} == {
        events[0], events[1], lonely_new}
    assert store.purge(before, batch_size=5) == 0  # nothing left to do


def test_purge_commits_each_batch_and_lets_writers_in(sender: Sender,
                                                      config: SenderConfig) -> None:
    """Between batches another connection sees the batch gone and can enqueue; a
    delivery replayed mid-purge is kept and the total is revised down to what was done."""
    store: Any = sender.store
    now = time.time()
    old, before = now - 1000, now - 100
    _, dls = _old_events(sender, 6, old)
    _set_state(store, [d for ds in dls for d in ds], "failed", old)
    ep = dls[0][0]
    ep_id = store.get_delivery("t1", ep, detail=False).endpoint_id
    other: Any = reopen(config)
    if other.dialect == "sqlite":
        other.conn().execute("PRAGMA busy_timeout=2000")  # fail fast if purge held the lock
    matching = f"SELECT COUNT(*) FROM deliveries WHERE status = 'failed' AND updated_at < {before!r}"
    seen: list[tuple[int, int, int]] = []
    replayed: list[str] = []
    queued: list[str] = []

    def on_progress(done: int, total: int) -> None:
        seen.append((done, total, _count(other, matching, [])))
        if done == 4:
            t = time.monotonic()
            queued.extend(d for d, _ in enqueue(other, "t1", "x.y", {}, validator=no_validation,
                                                endpoint_ids=[ep_id]).deliveries)
            assert time.monotonic() - t < 1.5
            last = other._read("SELECT MAX(id) FROM deliveries WHERE status = 'failed'", [])[0][0]
            other.replay("t1", [last], time.time() + 3600, 0.0)  # goes live mid-purge
            replayed.append(last)

    try:
        n = store.purge(before, batch_size=4, on_progress=on_progress)
    finally:
        other.close()
    assert n == 11
    # What another connection sees after each report: the batches so far are committed.
    assert [s[2] for s in seen[1:2]] == [12 - 4]
    dones = [s[0] for s in seen]
    assert dones == sorted(dones) and all(d <= t for d, t, _ in seen)
    assert seen[0][:2] == (0, 12) and seen[-1][:2] == (11, 11)
    left = {r[0] for r in store._read("SELECT id FROM deliveries", [])}
    assert left == set(replayed) | set(queued)


def test_status_counts_are_tenant_scoped(sender: Sender) -> None:
    store: Any = sender.store
    now = time.time()
    statuses = ["pending", "delivering", "delivered", "failed", "dead_lettered"]
    rows = [(new_id("dlv"), "t1" if i % 10 else "t2", "evt_x", "ep_x", "x.y",
             statuses[i % 5], now, now, now) for i in range(1203)]  # several id chunks
    # A delivery is "delivering" while a worker holds its queue row's lease.
    _insert_deliveries(store, [(*r[:5], "pending" if r[5] == "delivering" else r[5], *r[6:])
                               for r in rows])
    leased = [r[0] for r in rows if r[5] == "delivering"]
    clause, vals = store._in("delivery_id", leased)
    with store.transaction() as conn:
        store._exec(conn, f"UPDATE queue SET lease_owner = 'w' WHERE {clause}", vals)
    ids = [r[0] for r in rows]
    mine = Counter(r[5] for r in rows if r[1] == "t1")
    assert store.status_counts("t1", ids + ids[:7] + ["dlv_unknown"]) == dict(mine)
    assert sum(store.status_counts("t2", ids).values()) == 121
    assert store.status_counts("t3", ids) == {}
    assert store.status_counts("t1", []) == {}


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), st.one_of(st.text(), st.integers(), st.none()), max_size=8))
def test_headers_json_is_json_dumps(headers: dict[str, Any]) -> None:
    from hookseal_sender.storage._columns import headers_json

    assert headers_json(headers) == json.dumps(headers)


def test_callers_use_only_the_store_interface() -> None:
    """Outside ``storage/`` nothing imports a private storage module or reaches into a
    store's private attributes (issue 20: the portal and the review read through
    :class:`Store` methods, so any backend that implements ``Store`` serves them)."""
    import ast
    from pathlib import Path

    import hookseal_sender

    package = Path(hookseal_sender.__file__).parent
    found = []
    for path in sorted(package.rglob("*.py")):
        if "storage" in path.relative_to(package).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and any(
                    part.startswith("_") for part in node.module.split(".")[1:]
                    if node.module.split(".")[0] == "storage"
                    or node.module.startswith("hookseal_sender.storage")):
                found.append(f"{path.name}:{node.lineno} imports {node.module}")
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                    and isinstance(node.value, (ast.Name, ast.Attribute))
                    and (node.value.id if isinstance(node.value, ast.Name)
                         else node.value.attr).endswith("store")):
                found.append(f"{path.name}:{node.lineno} reads store.{node.attr}")
    assert found == []


def test_all_endpoints_and_newest_keys_span_tenants(sender: Sender) -> None:
    """The operator reads see every tenant's endpoints, deleted ones too, and each one's
    newest key."""
    a = sender.create_endpoint("t1", "https://hooks.example.com/a").endpoint
    b = sender.create_endpoint("t2", "https://hooks.example.com/b").endpoint
    sender.store.update_endpoint("t2", b.id, status="deleted")
    assert [(e.id, e.tenant_id, e.status) for e in sender.store.all_endpoints()] == sorted(
        [(a.id, "t1", "active"), (b.id, "t2", "deleted")])
    newest = sender.store.newest_key_times()
    assert newest == {ep: max(k.created_at for k in sender.store.keys(ep)) for ep in (a.id, b.id)}


def test_backfill_events_inserts_each_id_once_in_caller_order(sender: Sender) -> None:
    from hookseal_sender.storage.base import BackfillRow

    ep = sender.create_endpoint("t1", "https://hooks.example.com/x").endpoint.id
    sender.create_endpoint("t2", "https://hooks.example.com/y")
    store = sender.store
    rows = [BackfillRow(f"evt_{c}", "t1", "x.y", "{}", 1000.0) for c in "cab"]
    first = store.backfill_events(rows, 2000.0)
    assert [[e for _, e in d or []] for d in first] == [[ep], [ep], [ep]]
    assert store.stored_event_ids(["evt_a", "evt_z"]) == {"evt_a"}
    again = store.backfill_events([rows[1], BackfillRow("evt_d", "t1", "x.y", "{}", 1.0)], 2000.0)
    assert again[0] is None and again[1] is not None
    assert store.subscriber_counts([("t1", "x.y"), ("t3", "x.y")]) == {("t1", "x.y"): 1,
                                                                       ("t3", "x.y"): 0}
    (dlv, _), = first[0]  # type: ignore[misc]
    d = store.get_delivery("t1", dlv)
    assert d is not None and d.event_id == "evt_c" and d.created_at == 2000.0


def test_owner_alert_episodes_open_once(sender: Sender, config: SenderConfig) -> None:
    store = sender.store
    assert store.open_owner_alert("k", "s1", "t1", "e1", 1.0)
    other = reopen(config)
    try:
        assert not other.open_owner_alert("k", "s1", "t1", "e1", 2.0)  # another process
        assert other.open_owner_alert("k", "s1", "t1", "e2", 3.0)  # a new episode
    finally:
        other.close()
    assert store.open_owner_alerts("k") == [("s1", "t1", "e2")]
    assert store.close_owner_alert("k", "s1", 4.0) and not store.close_owner_alert("k", "s1", 5.0)
    assert store.open_owner_alerts("k") == []
    assert store.open_owner_alert("k", "s1", "t1", "e2", 6.0)  # the same name, reopened


def test_endpoint_activity_only_moves_forward_and_finds_stale_endpoints(sender: Sender) -> None:
    from hookseal_sender.storage.base import EndpointAttempts

    store = sender.store
    ep = sender.create_endpoint("t1", "https://hooks.example.com/x").endpoint
    ok = sender.create_endpoint("t1", "https://hooks.example.com/y").endpoint
    store.record_endpoint_activity([EndpointAttempts("t1", ep.id, 3, 3, 500.0, None),
                                    EndpointAttempts("t1", ok.id, 1, 0, 500.0, 500.0)], 100.0)
    store.record_endpoint_activity([EndpointAttempts("t1", ep.id, 1, 1, 400.0, None),
                                    EndpointAttempts("t1", ok.id, 1, 0, 900.0, 900.0)], 950.0)
    later = max(ep.updated_at, ok.updated_at) + 1
    stale = store.stale_endpoints(later)
    assert [(s.endpoint_id, s.last_attempted_at, s.last_delivered_at) for s in stale] == [
        (ep.id, 500.0, None), (ok.id, 900.0, 900.0)]
    assert [s.endpoint_id for s in store.stale_endpoints(800.0)] == []  # created later
    store.update_endpoint("t1", ep.id, status="paused")
    assert [s.endpoint_id for s in store.stale_endpoints(later + 10)] == [ok.id]


@pytest.mark.postgres
def test_opening_an_up_to_date_postgres_store_takes_no_table_lock(pg_server: Any) -> None:
    """A worker process starting beside others opens the store: with the schema up to date
    that must not lock tables (``CREATE INDEX IF NOT EXISTS`` takes SHARE on its table
    first, which waited for every write-back and deadlocked with them)."""
    import psycopg
    from hookseal_sender import generate_master_key

    db = pg_server.create_db(f"mig_{int(time.time() * 1000) % 10**8}")
    key = generate_master_key()
    Sender(SenderConfig(database=db, master_key=key)).close()  # the schema, made
    writer = psycopg.connect(db)
    writer.execute("LOCK TABLE queue IN ROW EXCLUSIVE MODE")  # what a write-back holds
    opened = threading.Event()

    def start_worker() -> None:
        Sender(SenderConfig(database=db, master_key=key)).close()
        opened.set()

    thread = threading.Thread(target=start_worker, daemon=True)
    thread.start()
    try:
        assert opened.wait(20), "opening the store waited for the writer's table lock"
    finally:
        writer.rollback()
        writer.close()
        thread.join(20)


@pytest.mark.postgres
def test_the_capped_claim_counts_leases_through_their_own_index(pg_server: Any) -> None:
    """The per-endpoint cap counts the leased rows through ``queue_leased``, not every row
    due later (a dead endpoint's 300,000 waiting retries made each claim 154 ms, not 3.5)."""
    from hookseal_sender import generate_master_key

    from .conftest import fake_resolve

    db = pg_server.create_db(f"leased_{int(time.time() * 1000) % 10**8}")
    sender = Sender(SenderConfig(database=db, master_key=generate_master_key()),
                    resolve=fake_resolve)
    try:
        (did,) = make(sender, 1)
        store: Any = sender.store
        now = time.time()
        conn = store.conn()
        conn.execute(
            "INSERT INTO queue (delivery_id, tenant_id, endpoint_id, event_id, event_type, due)"
            " SELECT 'w' || g, 't1', %s, 'e', 'x.y', %s FROM generate_series(1, 50000) g",
            [sender.get_delivery("t1", did).endpoint_id, now + 3600])
        conn.execute("ANALYZE queue")
        plan = " ".join(str(r[0]) for r in conn.execute(
            "EXPLAIN " + store._q(store._capped_claim_sql()),
            [now, "w", now + 60, now, 10, 400, 10, 10, 100]).fetchall())
        assert "queue_leased" in plan, plan
    finally:
        sender.close()
