"""Circuit breakers shared through the store: the store's operations on both backends, a
worker following breakers other workers opened, and two workers on one PostgreSQL store
against an endpoint that fails every request."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any, Optional

import pytest
from hookseal_sender import BackgroundWorker, Sender, SenderConfig, generate_master_key
from hookseal_sender.catalog import no_validation
from hookseal_sender.config import BreakerPolicy, RetryPolicy
from hookseal_sender.outbox import enqueue
from hookseal_sender.storage import Store
from hookseal_sender.storage._columns import PARKED

from ._pg import PostgresServer
from ._receiver import Receiver
from .conftest import fake_resolve, wait_for
from .test_worker import send_one


def _row(store: Store, endpoint_id: str) -> Any:
    rows = [r for r in store.breakers() if r.endpoint_id == endpoint_id]
    return rows[0] if rows else None


# the store's operations (SQLite and PostgreSQL) ---------------------------------------

def test_open_probe_once_close_reopen(sender: Sender) -> None:
    store = sender.store
    assert store.breakers() == []
    store.open_breaker("ep_a", "w1", 100.0, 160.0)
    row = _row(store, "ep_a")
    assert (row.state, row.open_until, row.opened_by, row.probed_by) == ("open", 160.0, "w1",
                                                                         None)
    assert not store.take_breaker_probe("ep_a", "w2", 159.0, 219.0)  # still open
    assert store.take_breaker_probe("ep_a", "w2", 160.0, 220.0)
    assert not store.take_breaker_probe("ep_a", "w3", 161.0, 221.0)  # w2 holds it
    row = _row(store, "ep_a")
    assert (row.state, row.open_until, row.probed_by) == ("half_open", 220.0, "w2")
    store.open_breaker("ep_a", "w2", 170.0, 230.0)  # the probe failed: open again for all
    row = _row(store, "ep_a")
    assert (row.state, row.open_until, row.opened_by, row.probed_by) == ("open", 230.0, "w2",
                                                                         None)
    assert not store.take_breaker_probe("ep_a", "w3", 229.0, 289.0)
    assert store.take_breaker_probe("ep_a", "w3", 230.0, 290.0)
    assert store.close_breaker("ep_a")  # the probe succeeded: closed for all
    assert store.breakers() == []
    assert not store.close_breaker("ep_a")
    assert not store.take_breaker_probe("ep_a", "w1", 1000.0, 1060.0)  # closed: no probe


def test_a_probe_whose_taker_died_may_be_taken_again(sender: Sender) -> None:
    store = sender.store
    store.open_breaker("ep_b", "w1", 100.0, 110.0)
    assert store.take_breaker_probe("ep_b", "w1", 110.0, 140.0)
    assert not store.take_breaker_probe("ep_b", "w2", 139.0, 199.0)
    assert store.take_breaker_probe("ep_b", "w2", 140.0, 200.0)  # w1's right lapsed
    assert _row(store, "ep_b").probed_by == "w2"


def test_breakers_are_per_endpoint(sender: Sender) -> None:
    store = sender.store
    store.open_breaker("ep_c", "w1", 100.0, 110.0)
    store.open_breaker("ep_d", "w1", 100.0, 500.0)
    assert store.take_breaker_probe("ep_c", "w1", 120.0, 180.0)
    assert not store.take_breaker_probe("ep_d", "w1", 120.0, 180.0)
    store.close_breaker("ep_c")
    assert [r.endpoint_id for r in store.breakers()] == ["ep_d"]


@pytest.mark.parametrize("takers", [8])
def test_the_probe_is_taken_once_in_a_race(sender: Sender, takers: int) -> None:
    """Threads, each on its own connection (on PostgreSQL its own server process, as a
    worker process would be), take the probe at the same instant: one gets it, every
    round."""
    store = sender.store
    rounds = 15
    barrier = threading.Barrier(takers)
    wins: list[list[int]] = [[] for _ in range(rounds)]
    errors: list[BaseException] = []

    def take(i: int) -> None:
        try:
            for n in range(rounds):
                if i == 0:
                    store.open_breaker("ep_race", "opener", 0.0, 1000.0 + n)
                barrier.wait(30)  # opened for this round
                barrier.wait(30)  # all ready: go
                if store.take_breaker_probe("ep_race", f"w{i}", 1000.0 + n, 2000.0 + n):
                    wins[n].append(i)
                barrier.wait(30)  # all done
        except BaseException as exc:  # reported below, with the barrier broken for all
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=take, args=(i,)) for i in range(takers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert [len(w) for w in wins] == [1] * rounds, wins
    assert _row(store, "ep_race").probed_by == f"w{wins[-1][0]}"


def test_disabled_and_deleted_endpoints_breakers_are_not_listed(sender: Sender) -> None:
    ids = [sender.create_endpoint("t1", "https://hooks.example.com/x").endpoint.id
           for _ in range(3)]
    for ep in ids:
        sender.store.open_breaker(ep, "w1", 1.0, 2.0)
    sender.store.update_endpoint(None, ids[0], status="disabled")
    sender.delete_endpoint("t1", ids[1])
    assert [r.endpoint_id for r in sender.store.breakers()] == [ids[2]]
    sender.store.update_endpoint(None, ids[0], status="active")
    assert {r.endpoint_id for r in sender.store.breakers()} == {ids[0], ids[2]}


def test_an_older_store_gets_the_table(sender: Sender) -> None:
    store = sender.store
    with store.transaction() as conn:
        conn.execute("DROP TABLE endpoint_breakers")
    store.migrate()
    store.open_breaker("ep_e", "w1", 1.0, 2.0)
    assert _row(store, "ep_e").state == "open"


# one worker following the store (SQLite and PostgreSQL) --------------------------------

def _enqueue(sender: Sender, endpoint_id: str, n: int) -> list[str]:
    return [enqueue(sender.store, "t1", "x.y", {"i": i}, validator=no_validation,
                    endpoint_ids=[endpoint_id]).deliveries[0][0] for i in range(n)]


def _dues(sender: Sender, endpoint_id: str) -> list[float]:
    store: Any = sender.store
    return [r[0] for r in store._read("SELECT due FROM queue WHERE endpoint_id = ?",
                                      [endpoint_id])]


def test_an_open_breaker_parks_its_endpoints_rows_out_of_every_plain_claim(
        sender: Sender) -> None:
    """Opening parks the endpoint's waiting rows: claims, which list no open endpoint,
    never read them; the probe claims one; closing makes them due again as they were."""
    store = sender.store
    bad = sender.create_endpoint("t1", "https://bad.example/", allow_local=True).endpoint.id
    good = sender.create_endpoint("t1", "https://good.example/", allow_local=True).endpoint.id
    waiting = _enqueue(sender, bad, 5)
    _enqueue(sender, good, 3)
    now = time.time()
    store.open_breaker(bad, "w1", now, now + 60)
    assert all(d >= PARKED for d in _dues(sender, bad))
    # The delivery's next attempt reads as it was, not in the year 2286.
    assert sender.get_delivery("t1", waiting[0]).next_attempt_at <= now
    claimed = store.claim("w2", 100, now + 1, now + 61)
    assert {c.endpoint_id for c in claimed} == {good}
    assert store.claim("w2", 100, now + 1, now + 61) == []
    # Opened again (a failed probe): nothing more to park, nothing moved back.
    store.open_breaker(bad, "w1", now + 2, now + 62)
    assert all(d >= PARKED for d in _dues(sender, bad))
    # The probe finds a parked row (its endpoint's oldest), leases it, un-parked.
    assert store.take_breaker_probe(bad, "w3", now + 62, now + 122)
    probe = store.claim_probe("w3", bad, now + 62, now + 122)
    assert [c.id for c in probe] == [waiting[0]]
    # The rest still parked (the good endpoint's leases ran out: those come again).
    assert {c.endpoint_id for c in store.claim("w2", 100, now + 63, now + 123)} == {good}
    assert store.close_breaker(bad)
    # Closed: the parked rows are due as they were, at once; the probe's stays leased.
    again = store.claim("w2", 100, now + 64, now + 124)
    assert sorted(c.id for c in again) == sorted(waiting[1:])
    assert max(_dues(sender, bad)) < PARKED


def test_a_claimed_row_of_an_open_endpoint_is_parked_and_not_lost(sender: Sender) -> None:
    """Rows that come after the breaker opened (new deliveries, retries) are claimed once,
    then parked by the worker that sees the breaker open; if the store has it closed by
    then, they are due at the time given."""
    store = sender.store
    bad = sender.create_endpoint("t1", "https://bad.example/", allow_local=True).endpoint.id
    now = time.time()
    store.open_breaker(bad, "w1", now, now + 60)
    later = _enqueue(sender, bad, 3)
    claimed = [c.id for c in store.claim("w2", 100, now + 1, now + 61)]
    assert sorted(claimed) == sorted(later)
    assert store.park("w2", claimed[:2], now + 1, now + 2) == 2
    assert store.park("w9", claimed[2:], now + 1, now + 2) == 0  # not w9's lease
    assert store.claim("w2", 100, now + 30, now + 90) == []  # the third's lease holds
    store.close_breaker(bad)
    assert store.park("w2", claimed[2:], now + 3, now + 4) == 0  # closed: due at 4
    assert sorted(c.id for c in store.claim("w2", 100, now + 4, now + 64)) == sorted(later)


@pytest.mark.postgres
def test_a_park_racing_a_close_never_leaves_a_row_parked(pg_server: PostgresServer) -> None:
    """A worker parks rows (it saw the breaker open) while another closes the breaker:
    the park waits for the close (it reads the breaker's row with a key-share lock),
    then finds it gone and makes the rows due; without the lock it would park them
    after the close took parked rows off, and nothing would take them off again."""
    import psycopg

    db = pg_server.create_db(f"parkrace_{int(time.time() * 1000) % 10**8}")
    sender = Sender(SenderConfig(database=db, master_key=generate_master_key(),
                                 allow_local=True), resolve=fake_resolve)
    store = sender.store
    try:
        bad = sender.create_endpoint("t1", "https://bad.example/",
                                     allow_local=True).endpoint.id
        now = time.time()
        store.open_breaker(bad, "w1", now, now + 60)
        rows = _enqueue(sender, bad, 3)
        claimed = [c.id for c in store.claim("w2", 100, now + 1, now + 60)]
        assert sorted(claimed) == sorted(rows)
        parked: list[int] = []
        with psycopg.connect(db) as closer:  # the close, held open in its transaction
            closer.execute("DELETE FROM endpoint_breakers WHERE endpoint_id = %s", [bad])
            racer = threading.Thread(target=lambda: parked.append(
                store.park("w2", claimed, now + 1, now + 1)))
            racer.start()

            def waiting() -> bool:
                with psycopg.connect(db, autocommit=True) as watch:
                    return bool(watch.execute(
                        "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND query LIKE 'UPDATE queue SET lease_owner = NULL%%'").fetchall())

            wait_for(waiting, 10)  # the park waits for the close
            closer.execute(f"UPDATE queue SET due = due - {PARKED} WHERE endpoint_id = %s"
                           f" AND due >= {PARKED}", [bad])
            closer.commit()
        racer.join(10)
        assert parked == [0]
        assert max(_dues(sender, bad)) < PARKED  # due again, none parked
        assert sorted(c.id for c in store.claim("w3", 100, now + 2, now + 61)) == sorted(rows)
    finally:
        sender.close()


def test_claims_list_no_open_endpoint_and_deliveries_resume_when_it_closes(
        sender: Sender, receiver: Receiver, worker: Any) -> None:
    """With 2,000 breakers open in the store, a worker's claims send no list of them (the
    claim's parameters stay the same size); the open endpoint gets nothing but its
    probe during its open period, then everything at once; the others deliver meanwhile."""
    store = sender.store
    held = sender.create_endpoint("t1", receiver.route("/held"), allow_local=True).endpoint.id
    ok = sender.create_endpoint("t1", receiver.route("/ok"), allow_local=True).endpoint.id
    now = time.time()
    for i in range(2000):  # other workers' open breakers, of endpoints with nothing due
        store.open_breaker(f"ep_open_{i}", "another-worker", now, now + 600)
    before = _enqueue(sender, held, 20)  # parked when its breaker opens
    until = time.time() + 2.0
    store.open_breaker(held, "another-worker", time.time(), until)
    after = _enqueue(sender, held, 5)  # parked when a claim brings them
    fine = _enqueue(sender, ok, 20)
    excluded: list[int] = []
    real_claim = store.claim

    def claim(*args: Any, **kwargs: Any) -> Any:
        excluded.append(len(args[4]) if len(args) > 4 else len(kwargs["exclude_endpoints"]))
        return real_claim(*args, **kwargs)

    store.claim = claim  # type: ignore[method-assign]
    worker()
    wait_for(lambda: all(sender.get_delivery("t1", d).status == "delivered" for d in fine), 20)
    wait_for(lambda: all(sender.get_delivery("t1", d).status == "delivered"
                         for d in before + after), 30)
    reqs = sorted(r.at for r in receiver.requests("/held"))
    assert len(reqs) == 25
    assert reqs[0] >= until - 0.05  # nothing during the open period
    # The probe, then the rest as soon as it closed the breaker: no wait for a schedule.
    assert reqs[-1] - reqs[0] < 3.0, reqs[-1] - reqs[0]
    assert excluded and max(excluded) <= 2, max(excluded)  # never the 2,000
    assert len(receiver.requests("/ok")) == 20


def _record_probes(store: Store) -> list[str]:
    """Record the workers that take a probe in ``store`` (the list returned)."""
    takers: list[str] = []
    take = store.take_breaker_probe

    def recording(endpoint_id: str, owner: str, now: float, until: float) -> bool:
        taken = take(endpoint_id, owner, now, until)
        if taken:
            takers.append(owner)
        return taken

    store.take_breaker_probe = recording  # type: ignore[method-assign]
    return takers


def test_a_worker_holds_an_endpoint_another_worker_opened(sender: Sender, receiver: Receiver,
                                                         worker: Any) -> None:
    """Another worker opened the endpoint's breaker: this one sends nothing to it until
    the open period ends, then one probe (taken in the store), which closes the breaker
    for all, then the rest."""
    ep = sender.create_endpoint("t1", receiver.route("/held"), allow_local=True)
    until = time.time() + 1.5
    sender.store.open_breaker(ep.endpoint.id, "another-worker", time.time(), until)
    dids = [send_one(sender) for _ in range(5)]
    takers = _record_probes(sender.store)
    w = worker()
    wait_for(lambda: all(sender.get_delivery("t1", d).status == "delivered" for d in dids), 20)
    reqs = receiver.requests("/held")
    assert len(reqs) == 5
    assert min(r.at for r in reqs) >= until - 0.05  # nothing during the open period
    assert takers == [w.worker.owner]  # one probe, taken in the store
    assert sender.store.breakers() == []  # its probe closed it for every worker


def test_a_worker_opens_the_breaker_for_all_and_its_probe_closes_it(
        sender: Sender, receiver: Receiver, worker: Any) -> None:
    sender.config = sender.config.replace(
        breaker=BreakerPolicy(window=10, min_samples=5, failure_ratio=0.5, open_seconds=1.0))
    up = threading.Event()

    def answer(rec: Any) -> Any:
        from aiohttp import web
        return web.Response(status=200 if up.is_set() else 503)

    ep = sender.create_endpoint("t1", receiver.route("/down", fn=answer), allow_local=True,
                                retry_schedule=[0.05] * 30)
    takers = _record_probes(sender.store)
    w = worker(per_endpoint=1)
    dids = [send_one(sender) for _ in range(3)]
    row = wait_for(lambda: _row(sender.store, ep.endpoint.id), 30)
    assert row.opened_by == w.worker.owner and row.state == "open"
    assert row.open_until == pytest.approx(row.updated_at + 1.0, abs=0.1)
    # Half-open, the worker takes the probe in the store; the probe fails and reopens it.
    wait_for(lambda: takers and (r := _row(sender.store, ep.endpoint.id)) is not None
             and r.state == "open", 30)
    up.set()
    wait_for(lambda: all(sender.get_delivery("t1", d).status == "delivered" for d in dids), 30)
    assert _row(sender.store, ep.endpoint.id) is None  # the probe closed it for all
    assert set(takers) == {w.worker.owner}


def test_deliveries_given_back_when_a_breaker_opens_are_written_back_at_once() -> None:
    """Buffered deliveries of an endpoint whose breaker opened meanwhile are given back;
    the write-back must run now, not after this worker's next attempt (there may be none
    for a long while): until then their leases keep the endpoint's deliveries, the probe's
    among them, from every worker."""
    import asyncio

    from hookseal_sender._buffer import ClaimBuffer
    from hookseal_sender.breaker import CircuitBreaker
    from hookseal_sender.models import Claimed

    br = CircuitBreaker(BreakerPolicy(), shared=True)
    br.hold(60.0)
    released: list[str] = []

    class Health:
        def breaker(self, endpoint_id: str) -> CircuitBreaker:
            return br

    class WriteBack:
        event = asyncio.Event()

        def release(self, delivery_id: str, at: float) -> None:
            released.append(delivery_id)

    buffer = ClaimBuffer(10, 5, Health(), WriteBack())  # type: ignore[arg-type]
    for i in range(3):
        buffer.add(Claimed(id=f"d{i}", tenant_id="t1", endpoint_id="ep", event_type="x.y",
                           attempt_count=0, round_attempts=0, payload="{}", endpoint_version=1,
                           event_id=f"evt{i}"))
    assert buffer.take() is None
    assert released == ["d0", "d1", "d2"] and buffer.buffered == 0
    assert WriteBack.event.is_set()


def _worker_claims(sender: Sender, troubles: list[str]) -> tuple[Any, Any]:
    """One worker's breakers and claims on ``sender``'s store, its store calls run inline
    (no threads), its reads of the store's breakers a minute apart (none in the test)."""
    from types import SimpleNamespace

    from hookseal_sender._buffer import ClaimBuffer
    from hookseal_sender._claims import Claims
    from hookseal_sender._health import EndpointHealth
    from hookseal_sender.metrics import Metrics

    from .test_health import POLICY, FakeCalls

    class Calls(FakeCalls):
        def trouble(self, what: str, exc: BaseException, retry: Optional[str] = None) -> float:
            troubles.append(what)
            return 1.0

        def back(self, started: float) -> None:
            pass

    calls: Any = Calls(sender.store)
    endpoints: Any = SimpleNamespace(entries={})
    health = EndpointHealth(calls, POLICY, Metrics(), None, endpoints,  # type: ignore[arg-type]
                            owner="w1", interval=60.0, lease=60.0)
    writeback: Any = SimpleNamespace(release=lambda *a: None, event=None)
    buffer = ClaimBuffer(10, 5, health, writeback)
    config: Any = SimpleNamespace(claim_batch=100, poll_interval=0.2, visibility_timeout=60.0)
    return health, Claims(calls, config, "w1", buffer, health, set(), lambda: None,
                          parallel=False)


async def _settle(claims: Any) -> None:
    """Wait for the claims and what they started (parks)."""
    while claims._tasks:
        await claims.wait()


def test_a_breaker_whose_open_write_failed_parks_what_a_claim_brings(sender: Sender) -> None:
    """A worker's breaker opened but the write of the open state failed (the database
    unreachable a moment): its claims bring the endpoint's rows, and parking them must
    write the open state first. Handed back due after a poll interval instead (the store
    has the breaker closed), they were claimed and handed back again, until a read of the
    breakers wrote it."""
    import asyncio

    from hookseal_sender.breaker import OPEN

    store = sender.store
    bad = sender.create_endpoint("t1", "https://bad.example/", allow_local=True).endpoint.id
    rows = _enqueue(sender, bad, 3)
    troubles: list[str] = []
    health, claims = _worker_claims(sender, troubles)
    real_open = store.open_breaker
    fail = [True]

    def open_breaker(*args: Any) -> None:
        if fail.pop() if fail else False:
            raise RuntimeError("database unreachable")
        real_open(*args)

    store.open_breaker = open_breaker  # type: ignore[method-assign]

    async def go() -> None:
        br = health.breaker(bad)
        while br.state != OPEN:  # its own attempts open it
            br.record(False, retry=True)
        await health.shared.wait()  # the write, which fails
        assert troubles == ["breaker"] and _row(store, bad) is None
        claims.launch(time.monotonic())
        await _settle(claims)

    asyncio.run(go())
    row = _row(store, bad)
    assert row is not None and row.state == "open" and row.opened_by == "w1"
    assert len(rows) == 3 and all(d >= PARKED for d in _dues(sender, bad))
    later = time.time() + 5  # well past a poll interval: nothing comes again
    assert store.claim("w2", 100, later, later + 60) == []


def test_a_worker_behind_the_store_does_not_reopen_a_breaker_closed_meanwhile(
        sender: Sender) -> None:
    """A worker holds an endpoint's breaker open as it last read it; another worker's probe
    closed it since. What a claim brings of it is handed back due after a poll interval
    (the breaker is not opened again: the probe said the endpoint delivers), and the
    worker reads the store's breakers at its next turn, not after its interval."""
    import asyncio

    store = sender.store
    bad = sender.create_endpoint("t1", "https://bad.example/", allow_local=True).endpoint.id
    troubles: list[str] = []
    health, claims = _worker_claims(sender, troubles)
    now = time.time()
    store.open_breaker(bad, "w9", now, now + 60)

    async def go() -> None:
        await health.shared.refresh()  # w1 follows: held open
        assert not health.is_closed(bad)
        assert not health.shared.refresh_due(time.monotonic())
        store.close_breaker(bad)  # w9's probe succeeded
        _enqueue(sender, bad, 2)
        claims.launch(time.monotonic())
        await _settle(claims)
        assert _row(store, bad) is None  # not opened again
        assert health.shared.refresh_due(time.monotonic())  # read again at once
        await health.shared.refresh()
        assert health.is_closed(bad)

    asyncio.run(go())
    assert not troubles
    assert all(d < PARKED for d in _dues(sender, bad))


# two workers on one PostgreSQL store ----------------------------------------------------

class _Transitions(logging.Handler):
    """The workers' breaker log lines, with their times."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "breaker" in record.getMessage():
            self.lines.append((record.created, record.getMessage()))

    def times(self, word: str) -> list[float]:
        return [at for at, msg in list(self.lines) if word in msg]


@pytest.fixture
def transitions() -> Iterator[_Transitions]:
    handler = _Transitions()
    log = logging.getLogger("hookseal_sender.worker")
    log.addHandler(handler)
    yield handler
    log.removeHandler(handler)


#: The open period in the two-worker test, and how soon the other worker must follow.
OPEN_SECONDS = 1.0
FOLLOW = 0.5  # its reads come every poll interval (0.02 s); attempts to a 503 take ms
WINDOW = 4.0  # four open periods watched


@pytest.mark.postgres
def test_two_workers_share_the_breaker(pg_server: PostgresServer, receiver: Receiver,
                                       transitions: _Transitions) -> None:
    """Worker A opens the breaker after five failures; worker B's own breaker never would
    (its thresholds are out of reach), so without sharing B would keep sending. Once A
    opened it, the endpoint sees only probes, one per open period from either worker,
    until it recovers; then everything is delivered."""
    db = pg_server.create_db(f"breakers_{int(time.time() * 1000) % 10**8}")
    base = SenderConfig(database=db, master_key=generate_master_key(), allow_local=True,
                        poll_interval=0.02, visibility_timeout=10.0,
                        retry=RetryPolicy(schedule=(0.05,) * 40, jitter=0.0))
    a = Sender(dataclasses.replace(base, breaker=BreakerPolicy(
        window=10, min_samples=5, failure_ratio=0.5, open_seconds=OPEN_SECONDS)),
        resolve=fake_resolve)
    b = Sender(dataclasses.replace(base, breaker=BreakerPolicy(
        window=100_000, min_samples=100_000, open_seconds=OPEN_SECONDS)),
        resolve=fake_resolve)
    up = threading.Event()

    def answer(rec: Any) -> Any:
        from aiohttp import web
        return web.Response(status=200 if up.is_set() else 503)

    workers: list[BackgroundWorker] = []
    try:
        a.create_endpoint("t1", receiver.route("/dead", fn=answer), allow_local=True)
        dids = [send_one(a) for _ in range(60)]
        workers = [BackgroundWorker(s, per_endpoint=4).start() for s in (b, a)]
        opened = wait_for(lambda: transitions.times("breaker opened"), 30)[0]
        # Watched for a fixed time: what reaches the endpoint meanwhile (no condition to
        # wait on: the test is that nothing but probes comes).
        time.sleep(FOLLOW + WINDOW)
        start, end = opened + FOLLOW, opened + FOLLOW + WINDOW
        sent = [r.at for r in receiver.requests("/dead") if start <= r.at < end]
        probes = [t for t in transitions.times("half-open") if start - FOLLOW <= t < end]
        # Only probes: each is one request, one at a time (one may have started before).
        assert len(sent) <= len(probes), (len(sent), len(probes))
        # One probe per open period, not one per worker, and no period without one.
        assert WINDOW / OPEN_SECONDS - 1 <= len(probes) <= WINDOW / OPEN_SECONDS + 2, probes
        assert len(receiver.requests("/dead")) > 5  # A's five failures, B's, and probes
        up.set()
        recovered = time.monotonic()
        wait_for(lambda: all(a.get_delivery("t1", d).status == "delivered" for d in dids), 30)
        assert time.monotonic() - recovered < OPEN_SECONDS + 10
        assert a.store.breakers() == []
    finally:
        for w in workers:
            w.stop()
        a.close()
        b.close()
