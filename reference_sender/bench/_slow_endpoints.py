"""The slow-endpoints section of ``bench_sender.py`` (``--only slow-endpoints``): 100,000
registered endpoints on PostgreSQL, 1 % of them slower than their timeout.

Events for half as many endpoints wait in the queue, one each, spread over all of them
(event ``i`` to endpoint ``3i mod n``: every endpoint in reach, a slow one every
:data:`SLOW_EVERY` events, in the order claims take them); supervised worker processes, as ``hookseal-sender
worker`` runs them, drain it to the fast receiver, which holds the requests to the slow
endpoints' paths (``/slow/...``) for a minute: each of their attempts ends at the
endpoint's timeout (:data:`TIMEOUT`), and is retried on the default schedule (5 s, 30 s,
...). The same store with no endpoint slow is the comparison, run for run, interleaved,
with the same number of processes.

Measured from a warm-up mark (:data:`WARM` healthy deliveries) until every healthy
delivery is done: deliveries/s to the healthy endpoints; the slow endpoints' attempts
in that window and the slots they held (the sum of their attempts' durations over the
window: Little's law); the CPU time of the worker processes and of PostgreSQL per
healthy delivery (``/proc``); the worker processes' memory from ``/proc`` (``VmRSS`` at
the mark and at the end, ``VmHWM``, the peak).

The endpoints, events and queue rows are written in bulk with SQL (one endpoint made
through :meth:`Sender.create_endpoint`, copied with new ids and URLs: registering 100,000
one by one takes about 3 minutes, 1.7 ms each), into a template database that each run
copies (``CREATE DATABASE ... TEMPLATE``).

:func:`state_bytes` measures, with ``tracemalloc``, what a worker keeps per endpoint it
has sent to: the endpoint cache's entry (:func:`hookseal_sender._endpoint_cache.prepare`
of the stored endpoint and keys) and the circuit breaker (as
:class:`~hookseal_sender._health.EndpointHealth` makes it, after one result).
"""

from __future__ import annotations

import functools
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import psycopg
from _capacity import CHILD, cpu_seconds, descendants
from hookseal_sender import Sender, SenderConfig, generate_master_key
from hookseal_sender._buffer import ClaimBuffer
from hookseal_sender._claims import Claims
from hookseal_sender._endpoint_cache import EndpointCache, prepare
from hookseal_sender._health import EndpointHealth
from hookseal_sender._idle import IDLE_ROUNDS, SWEEP_INTERVAL, IdleSweep
from hookseal_sender.catalog import no_validation
from hookseal_sender.config import DEFAULT_RETRY_POLICY, BreakerPolicy
from hookseal_sender.metrics import Metrics
from hookseal_sender.supervisor import Supervisor
from prometheus_client import CollectorRegistry, Counter, generate_latest

#: The endpoints' timeout, seconds (the slow ones answer after a minute).
TIMEOUT = 1.0
#: One endpoint in this many is slow.
SLOW_EVERY = 100
#: Healthy deliveries before the clock starts (processes up, connections open).
WARM = 2000
#: Bytes of each event's payload.
PAD = 900


def _columns(conn: Any, table: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
        " ORDER BY ordinal_position", [table]).fetchall()]


def _copy_row(conn: Any, table: str, replace: dict[str, str], where: str,
              n: int) -> None:
    """Copy one row of ``table`` ``n`` times (``i`` from 0), with the columns in
    ``replace`` computed from ``i``."""
    cols = _columns(conn, table)
    select = ", ".join(replace.get(c, f"t.{c}") for c in cols)
    conn.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select} FROM {table} t,"
                 f" generate_series(0, {n - 1}) AS i WHERE {where}")


def _ep_id(i: str) -> str:
    """SQL for endpoint ``i``'s id: ``ep_s...`` for the slow ones, ``ep_h...`` for the
    rest; 31 characters, as long as the ids the sender makes (``new_id``)."""
    return (f"(CASE WHEN ({i}) % {SLOW_EVERY} = 0 THEN 'ep_s' ELSE 'ep_h' END"
            f" || lpad(({i})::text, 27, '0'))")


EP_ID = _ep_id("i")


def build_template(pg: Any, name: str, base: str, endpoints: int, events: int) -> str:
    """A database with ``endpoints`` endpoints (all answering at once) and ``events``
    due events, each to its own endpoint; returns the master key its secrets are sealed
    with."""
    # 3 and the number of endpoints share no factor (a multiple of SLOW_EVERY): i -> 3i
    # reaches distinct endpoints, and a slow one exactly when i is a multiple of SLOW_EVERY.
    assert endpoints % SLOW_EVERY == 0 and endpoints % 3 and events <= endpoints
    key = generate_master_key()
    sender = Sender(SenderConfig(database=pg.create_db(name), master_key=key,
                                 allow_local=True), validator=no_validation)
    first = sender.create_endpoint("sim", f"{base}/h/x", allow_local=True, timeout=TIMEOUT)
    sender.close()
    now = time.time()
    with psycopg.connect(pg.dsn(name), autocommit=True) as conn, conn.transaction():
        ep = first.endpoint.id
        _copy_row(conn, "endpoints", {"id": EP_ID, "url": f"'{base}/h/' || i"},
                  f"t.id = '{ep}'", endpoints)
        _copy_row(conn, "endpoint_keys", {"id": "t.id || '_' || i", "endpoint_id": EP_ID},
                  f"t.endpoint_id = '{ep}'", endpoints)
        conn.execute("DELETE FROM endpoint_keys WHERE endpoint_id = %s", [ep])
        conn.execute("DELETE FROM endpoints WHERE id = %s", [ep])
        payload = '{"pad": "' + "x" * PAD + '"}'
        # Event i goes to endpoint 3i mod n (in statements with parameters: %% for %).
        ep_id = _ep_id(f"3 * i % {endpoints}").replace("%", "%%")
        conn.execute("INSERT INTO events (id, tenant_id, type, payload, created_at)"
                     " SELECT 'evt_sim' || i, 'sim', 'bench.event', %s, %s"
                     " FROM generate_series(0, %s) AS i", [payload, now, events - 1])
        conn.execute("INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type,"
                     " status, next_attempt_at, created_at, updated_at)"
                     f" SELECT 'dlv_sim' || i, 'sim', 'evt_sim' || i, {ep_id}, 'bench.event',"
                     " 'pending', %s, %s, %s FROM generate_series(0, %s) AS i",
                     [now, now, now, events - 1])
        # Due in the order of i (in the past): claims take the endpoints in turn, a slow
        # one every SLOW_EVERY deliveries.
        conn.execute("INSERT INTO queue (delivery_id, tenant_id, endpoint_id, event_id,"
                     f" event_type, due) SELECT 'dlv_sim' || i, 'sim', {ep_id},"
                     " 'evt_sim' || i, 'bench.event', %s + i * 0.001"
                     " FROM generate_series(0, %s) AS i", [now - 3600, events - 1])
    with psycopg.connect(pg.dsn(name), autocommit=True) as conn:
        for table in ("endpoints", "endpoint_keys", "events", "deliveries", "queue"):
            conn.execute(f"VACUUM ANALYZE {table}")
    return key


def _rss(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of ``pid`` in bytes, (0, 0) if it is gone."""
    got = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":", 1)
                got[name] = int(value.split()[0]) * 1024
    except OSError:
        return 0, 0
    return got.get("VmRSS", 0), got.get("VmHWM", 0)


def run(pg: Any, template: str, name: str, key: str, base: str, slow: bool,
        processes: int, few: int = 0, sweep: float = 0.0) -> dict[str, float]:
    """One run: a copy of the template (with 1 % of the endpoints slow, or none), drained
    by ``processes`` worker processes until every healthy delivery is done.

    With ``few``, the same deliveries go to ``few`` healthy endpoints instead (none slow):
    the worker's endpoint cache keeps them, where the spread deliveries each miss it.
    With ``sweep``, the workers' idle sweep runs every ``sweep`` seconds instead of every
    minute (:data:`hookseal_sender._idle.SWEEP_INTERVAL`): endpoints are idle after
    ``(IDLE_ROUNDS - 1) x sweep`` seconds, within a run this short.

    Returns:
        Deliveries/s to the healthy endpoints, the slow ones' attempts and slots, and the
        worker processes' memory.
    """
    with psycopg.connect(pg.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    db = pg.dsn(name)
    conn: Any = psycopg.connect(db, autocommit=True)
    if slow:
        conn.execute("UPDATE endpoints SET url = %s || id WHERE id LIKE 'ep_s%%'",
                     [f"{base}/slow/"])
    if few:
        # Delivery 'dlv_sim' || i to endpoint 1 + i mod few (never a multiple of 100: healthy).
        to = _ep_id(f"1 + substr(delivery_id, 8)::int % {few}")
        conn.execute(f"UPDATE queue SET endpoint_id = {to}")
        conn.execute(f"UPDATE deliveries SET endpoint_id = {to.replace('delivery_id', 'id')}")
        conn.execute("VACUUM ANALYZE queue")
        conn.execute("VACUUM ANALYZE deliveries")

    def healthy_left() -> int:
        return int(conn.execute(
            "SELECT count(*) FROM queue WHERE endpoint_id LIKE 'ep_h%'").fetchone()[0])

    def wait(pred: Callable[[], bool], timeout: float, tick: Callable[[], None]) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise TimeoutError("slow-endpoints run did not finish")
            tick()
            time.sleep(0.5)

    total = healthy_left()
    child = CHILD
    if sweep:
        child = CHILD.replace("tune_gc()\n", "tune_gc()\nimport hookseal_sender._idle as idle\n"
                              f"idle.SWEEP_INTERVAL = {sweep!r}\n")
        assert child != CHILD
    sup = Supervisor(lambda i: [sys.executable, "-c", child, db, key], processes)
    sup.start_background()
    peak = [0]

    def sample() -> None:
        peak[0] = max(peak[0], sum(_rss(p)[0] for p in sup.pids()))

    try:
        wait(lambda: healthy_left() <= total - WARM, 300, lambda: None)
        workers = sup.pids()
        t0, wall0, left0 = time.perf_counter(), time.time(), healthy_left()
        rss0 = sum(_rss(p)[0] for p in workers)
        pg_pids = descendants(pg.proc.pid)
        cpu0, pg0 = cpu_seconds(workers), cpu_seconds(pg_pids)
        wait(lambda: healthy_left() == 0, 1800, sample)
        t1, wall1 = time.perf_counter(), time.time()
        rss1 = sum(_rss(p)[0] for p in workers)
        cpu1, pg1 = cpu_seconds(workers), cpu_seconds(pg_pids)
        hwm = sum(_rss(p)[1] for p in workers)
    finally:
        sup.stop()
        sup.join(60)
    # The slow endpoints' attempts that ended in the window, and how long they held a slot.
    attempts, held_ms = conn.execute(
        "SELECT count(*), coalesce(sum(a.latency_ms), 0) FROM attempts a"
        " JOIN deliveries d ON d.id = a.delivery_id"
        " WHERE d.endpoint_id LIKE 'ep_s%%' AND a.at BETWEEN %s AND %s",
        [wall0, wall1]).fetchone()
    touched, new = (int(x) for x in conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE first >= %s) FROM (SELECT d.endpoint_id,"
        " min(a.at) AS first FROM attempts a JOIN deliveries d ON d.id = a.delivery_id"
        " GROUP BY d.endpoint_id) AS e", [wall0]).fetchone())
    conn.close()
    with psycopg.connect(pg.dsn("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}"')
    elapsed = t1 - t0
    return {"slow": float(slow), "few": few, "sweep": sweep, "processes": processes,
            "healthy": left0,
            "rate": left0 / elapsed, "slow_attempts": attempts / elapsed,
            "slots": held_ms / 1000 / elapsed, "rss_mark": rss0, "rss_end": rss1,
            "rss_peak": max(peak[0], rss1), "hwm": hwm, "touched": touched, "new": new,
            "seconds": elapsed, "cpu_us": (cpu1 - cpu0) * 1e6 / max(1, left0),
            "pg_us": (pg1 - pg0) * 1e6 / max(1, left0)}


def state_bytes(pg: Any, template: str, key: str, n: int = 2000) -> dict[str, float]:
    """What a worker keeps per endpoint it sent to, and what scanning it costs.

    Loads ``n`` endpoints of the template as the worker's cache does and prepares them,
    makes their breakers as the worker's health does (one result recorded each) and
    counts one attempt of each in the worker's metrics, measuring what stays allocated
    with ``tracemalloc``; then, with 1 % of the breakers open, times the breakers' part
    of every claim (:meth:`EndpointHealth.not_closed`) and a round of the idle sweep
    (:class:`hookseal_sender._idle.IdleSweep`) that keeps every endpoint and one that
    drops them all, and the ``/metrics`` page's size.

    Returns:
        Bytes per endpoint (``cache``, ``breaker``, ``metrics``), the claim's breaker check
        in microseconds per 1,000 breakers (``scan_us``), the sweep's microseconds per
        1,000 endpoints (``sweep_us`` keeping them, ``drop_us`` dropping them), what is
        left after the dropping round (``left``) and the share of the memory it gave back
        (``freed``), and ``/metrics`` bytes per endpoint (``page``).
    """
    sender = Sender(SenderConfig(database=pg.dsn(template), master_key=key, allow_local=True),
                    validator=no_validation)
    store: Any = sender.store
    ids = [r[0] for r in store.conn().execute(
        "SELECT id FROM endpoints ORDER BY id LIMIT %s", [n]).fetchall()]
    loaded = [(store.get_endpoint(None, i), store.keys(i, now=time.time())) for i in ids]
    sender.close()
    now = time.time()
    metrics = Metrics()
    health = EndpointHealth(None, BreakerPolicy(), metrics, None, None)  # type: ignore[arg-type]
    tracemalloc.start()
    t0 = tracemalloc.get_traced_memory()[0]
    cache = {ep.id: prepare(ep, keys, DEFAULT_RETRY_POLICY, now) for ep, keys in loaded}
    t1 = tracemalloc.get_traced_memory()[0]
    for i in ids:
        health.breaker(i).record(True)
    t2 = tracemalloc.get_traced_memory()[0]
    for i in ids:
        metrics.attempt("sim", i, "delivered", 0.005, 200, None)
    metrics.flush()  # as a write-back does: the series made
    t3 = tracemalloc.get_traced_memory()[0]
    # The reference: a prometheus-client child per endpoint, as the counter was before.
    ref = Counter("hookseal_attempts", "", ["outcome", "endpoint_id", "tenant_id"],
                  registry=CollectorRegistry())
    for i in ids:
        ref.labels("delivered", i, "sim").inc()
    t4 = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    metrics.render()  # a scrape shows the new series at 0, the next one their counts
    page = len(metrics.render())
    assert len(cache) == len(health.breakers) == len(ids)
    for i in ids[::SLOW_EVERY]:  # 1 % open (held open, as when another worker opened them)
        health.breaker(i).hold(60.0)
    scans = []
    for _ in range(21):
        c0 = time.perf_counter()
        found = health.not_closed()
        scans.append(time.perf_counter() - c0)
    assert len(found) == len(ids[::SLOW_EVERY])
    for i in ids[::SLOW_EVERY]:
        health.breaker(i).reset()
    sweep_us, drop_us, left, freed = _sweep_costs(health, cache, loaded)
    return {"cache": (t1 - t0) / n, "breaker": (t2 - t1) / n, "metrics": (t3 - t2) / n,
            "metrics_before": (t4 - t3) / n,
            "scan_us": statistics.median(scans) * 1e6 * 1000 / n, "sweep_us": sweep_us,
            "drop_us": drop_us, "left": left, "freed": freed, "page": page / n,
            "series_left": float(len(metrics.attempts)),
            "page_left": float(len(metrics.render()))}


def series_bound(n: int, scrape: int = 5000, idle: int = 20_000) -> list[dict[str, float]]:
    """The metrics' endpoint series with ``n`` endpoints counted once each: a scrape every
    ``scrape`` attempts, and the idle sweep dropping the endpoints not counted in the last
    ``idle`` attempts (as the worker's sweep drops those unused for 2 minutes). With the
    default cap, without one (a cap of ``n``), and prometheus-client's ``Counter`` as the
    counter was before (never dropped). Memory traced with ``tracemalloc``.

    Returns:
        One row each: ``series`` kept at the end, ``bytes`` of memory they hold, ``page``
        bytes of ``/metrics`` (``cap`` 0 for the ``Counter``).
    """
    ids = [f"ep_{i:027d}" for i in range(n)]  # 31 characters, as ids are
    rows = []
    for cap in (Metrics().endpoint_series.cap, n):
        tracemalloc.start()
        m0 = tracemalloc.get_traced_memory()[0]
        m = Metrics(endpoint_series=cap)
        for i, ep in enumerate(ids):
            m.attempt("sim", ep, "delivered", 0.005, 200, None)
            if i % scrape == scrape - 1:
                m.render()
                if i >= idle:
                    m.forget_endpoints(ids[i - idle - scrape + 1:i - idle + 1])
        m.render()
        page = len(m.render())
        rows.append({"cap": float(cap), "series": float(len(m.attempts)),
                     "bytes": float(tracemalloc.get_traced_memory()[0] - m0),
                     "page": float(page)})
        tracemalloc.stop()
    tracemalloc.start()
    m0 = tracemalloc.get_traced_memory()[0]
    reg = CollectorRegistry()
    ref = Counter("hookseal_attempts", "", ["outcome", "endpoint_id", "tenant_id"],
                  registry=reg)
    for ep in ids:
        ref.labels("delivered", ep, "sim").inc()
    rows.append({"cap": 0.0, "series": float(n),
                 "bytes": float(tracemalloc.get_traced_memory()[0] - m0),
                 "page": float(len(generate_latest(reg)))})
    tracemalloc.stop()
    return rows


def _sweep_costs(health: EndpointHealth, cache: dict[str, Any],
                 loaded: list[Any]) -> tuple[float, float, float, float]:
    """The idle sweep over ``n`` endpoints' state: microseconds per 1,000 endpoints of a
    round that keeps them all (each used since) and of the round that drops them all
    (unused for :data:`IDLE_ROUNDS` rounds: the longest of the next rounds), the
    entries left after it, and the share of what ``loaded`` endpoints' entries and
    breakers took that the sweep gives back once they are idle (``tracemalloc``)."""
    n = len(loaded)
    endpoints: Any = SimpleNamespace(entries=cache)
    endpoints.forget_idle = functools.partial(EndpointCache.forget_idle, endpoints)
    endpoints.forget_all = functools.partial(EndpointCache.forget_all, endpoints)
    buffer: Any = ClaimBuffer(200, 10, health, None)  # type: ignore[arg-type]
    config: Any = SimpleNamespace(claim_batch=200)
    claims = Claims(None, config, "bench", buffer, health, set(),  # type: ignore[arg-type]
                    lambda: None, parallel=True)
    sweep = IdleSweep(endpoints, health, buffer, claims)
    kept = []
    for r in range(IDLE_ROUNDS):
        for ep in health.breakers:
            health.breaker(ep)  # used in this round
        c0 = time.perf_counter()
        sweep.sweep(r * SWEEP_INTERVAL, time.time())
        kept.append(time.perf_counter() - c0)
    assert len(health.breakers) == len(cache) == n
    rounds = []
    for r in range(IDLE_ROUNDS, 2 * IDLE_ROUNDS):
        c0 = time.perf_counter()
        sweep.sweep(r * SWEEP_INTERVAL, time.time())
        rounds.append(time.perf_counter() - c0)
    left = len(health.breakers) + len(cache)
    # Again, traced from the start: what the sweep gives back of what the state took.
    tracemalloc.start()
    m0 = tracemalloc.get_traced_memory()[0]
    for ep, keys in loaded:
        cache[ep.id] = prepare(ep, keys, DEFAULT_RETRY_POLICY, time.time())
        health.breaker(ep.id).record(True)
    m1 = tracemalloc.get_traced_memory()[0]
    for r in range(2 * IDLE_ROUNDS, 3 * IDLE_ROUNDS + 1):
        sweep.sweep(r * SWEEP_INTERVAL, time.time())
    freed = m1 - tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert not cache and not health.breakers
    return statistics.median(kept) * 1e9 / n, max(rounds) * 1e9 / n, left, freed / (m1 - m0)


def claim_costs(pg: Any, template: str, key: str, opened: tuple[int, ...],
                rounds: int) -> dict[str, dict[int, float]]:
    """A claim of 100 with ``opened`` endpoints' breakers open, in milliseconds (medians
    of interleaved rounds): as the worker claims now (their rows parked when each opened,
    no list sent: ``parked``), and as it claimed before (the rows left in the queue, the
    endpoints' ids sent as the claim's list of left-out endpoints: ``listed``). Also the
    cost of opening a closed breaker (parking its rows) and of closing it (taking them
    off again), in milliseconds (``open``, ``close``: medians)."""
    names = {k: f"claimcost{k}" for k in opened}
    with psycopg.connect(pg.dsn("postgres"), autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    senders = {k: Sender(SenderConfig(database=pg.dsn(name), master_key=key,
                                      allow_local=True), validator=no_validation)
               for k, name in names.items()}
    stores: dict[int, Any] = {k: s.store for k, s in senders.items()}
    base = stores[0]
    ids = [r[0] for r in base.conn().execute(
        "SELECT id FROM endpoints ORDER BY id LIMIT %s", [max(opened)]).fetchall()]
    opens: list[float] = []
    closes: list[float] = []
    listed: dict[int, list[float]] = {k: [] for k in opened}
    parked: dict[int, list[float]] = {k: [] for k in opened}
    try:
        now = time.time()
        for k in opened:
            for ep in ids[:k]:
                t0 = time.perf_counter()
                stores[k].open_breaker(ep, "bench", now, now + 3600)
                opens.append(time.perf_counter() - t0)
        # Vacuumed first, as autovacuum does in time: parking leaves each row's old index
        # entry behind until then, which claims step over.
        for name in names.values():
            with psycopg.connect(pg.dsn(name), autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE queue")
        for r in range(rounds):
            for k in opened:
                pair = [(base, ids[:k], listed), (stores[k], [], parked)]
                for store, left_out, out in pair[::-1] if r % 2 else pair:
                    now = time.time()
                    t0 = time.perf_counter()
                    got = store.claim("bench", 100, now, now + 60, left_out, 10)
                    out[k].append(time.perf_counter() - t0)
                    store.release("bench", [c.id for c in got], now - 10)
        k = max(opened)
        for ep in ids[:min(k, 500)]:
            t0 = time.perf_counter()
            stores[k].close_breaker(ep)
            closes.append(time.perf_counter() - t0)
    finally:
        for s in senders.values():
            s.close()
        with psycopg.connect(pg.dsn("postgres"), autocommit=True) as conn:
            for name in names.values():
                conn.execute(f'DROP DATABASE "{name}"')
    med = statistics.median
    return {"listed": {k: med(v) * 1000 for k, v in listed.items()},
            "parked": {k: med(v) * 1000 for k, v in parked.items()},
            "open": {0: med(opens) * 1000 if opens else 0.0},
            "close": {0: med(closes) * 1000 if closes else 0.0}}


def report(results: list[dict[str, float]], state: dict[str, float],
           claims: dict[str, dict[int, float]], endpoints: int,
           series: list[dict[str, float]]) -> None:
    """Print each run, then the paired ratio and the memory per endpoint."""
    mib = 1024 * 1024
    cached = [r for r in results if r["few"]]
    swept = [r for r in results if r["sweep"]]
    results = [r for r in results if not r["few"] and not r["sweep"]]
    for r in results:
        what = f"1 % slow (timeout {TIMEOUT:.0f} s)" if r["slow"] else "none slow"
        print(f"[slow-endpoints] {endpoints:,} endpoints, {what}, {r['processes']:.0f} "
              f"processes: {r['rate']:,.0f} healthy deliveries/s over {r['healthy']:,.0f} "
              f"(CPU a healthy delivery: workers {r['cpu_us']:.0f} us, PostgreSQL "
              f"{r['pg_us']:.0f} us); attempts to the 1 % "
              f"{r['slow_attempts']:.1f}/s holding {r['slots']:.1f} slots on average; worker "
              f"RSS {r['rss_mark'] / mib:,.0f} MiB at the mark, "
              f"{r['rss_end'] / mib:,.0f} MiB at the end (peak {r['hwm'] / mib:,.0f} MiB); "
              f"{r['touched']:,.0f} endpoints sent to")
    slow = [r for r in results if r["slow"]]
    none = [r for r in results if not r["slow"]]
    ratio = statistics.median(a["rate"] / b["rate"] for a, b in zip(slow, none))
    cpu = statistics.median(a["cpu_us"] / b["cpu_us"] for a, b in zip(slow, none))
    print(f"[slow-endpoints] healthy deliveries/s with 1 % slow / none slow: {ratio:.2f}x "
          f"(median of {len(slow)} interleaved pairs; {statistics.median(r['rate'] for r in slow):,.0f}"
          f"/s against {statistics.median(r['rate'] for r in none):,.0f}/s); workers' CPU a "
          f"healthy delivery {cpu:.2f}x; load average {os.getloadavg()[0]:.1f}")
    # Over the endpoints first sent to after the mark (the rest were in the state already).
    growth = statistics.median((r["rss_end"] - r["rss_mark"]) / max(1.0, r["new"])
                               for r in results)
    print(f"[slow-endpoints] worker state per endpoint sent to (tracemalloc): endpoint cache "
          f"entry {state['cache']:,.0f} B, breaker {state['breaker']:,.0f} B, metrics "
          f"{state['metrics']:,.0f} B (a prometheus-client child, as before: "
          f"{state['metrics_before']:,.0f} B); RSS growth over the run {growth:,.0f} B per "
          f"endpoint sent to (median of the runs); the breakers' part of each claim "
          f"(EndpointHealth.not_closed, 1 % open) {state['scan_us']:.2f} us per 1,000 "
          f"endpoints; /metrics {state['page']:,.0f} B per endpoint; after the sweep dropped "
          f"them, {state['series_left']:.0f} endpoint series left, /metrics "
          f"{state['page_left']:,.0f} B in all")
    print(f"[slow-endpoints] the idle sweep (a round every {SWEEP_INTERVAL:.0f} s, idle after "
          f"{IDLE_ROUNDS} rounds unused): {state['sweep_us']:,.0f} us per 1,000 endpoints "
          f"for a round that keeps them all, {state['drop_us']:,.0f} us for the round that "
          f"drops them all; breakers and cache entries left after it: {state['left']:.0f}, "
          f"{state['freed']:.0%} of what their entries and breakers took given back "
          f"(tracemalloc)")
    for r in swept:
        print(f"[slow-endpoints] none slow, the workers' idle sweep every {r['sweep']:g} s "
              f"(idle after {(IDLE_ROUNDS - 1) * r['sweep']:g} s unused): "
              f"{r['rate']:,.0f} healthy deliveries/s (CPU a delivery: workers "
              f"{r['cpu_us']:.0f} us, PostgreSQL {r['pg_us']:.0f} us); worker RSS "
              f"{r['rss_mark'] / mib:,.0f} MiB at the mark, {r['rss_end'] / mib:,.0f} MiB at "
              f"the end (peak {r['hwm'] / mib:,.0f} MiB); {r['touched']:,.0f} endpoints sent "
              f"to")
    for r in cached:
        print(f"[slow-endpoints] the same deliveries to {r['few']:.0f} endpoints (none slow, "
              f"cached): {r['rate']:,.0f} deliveries/s (CPU a delivery: workers "
              f"{r['cpu_us']:.0f} us, PostgreSQL {r['pg_us']:.0f} us); worker RSS "
              f"{r['rss_mark'] / mib:,.0f} MiB at the mark, {r['rss_end'] / mib:,.0f} MiB at "
              f"the end")
    if cached:
        worker = statistics.median(a["cpu_us"] / b["cpu_us"] for a, b in zip(none, cached))
        server = statistics.median(a["pg_us"] / b["pg_us"] for a, b in zip(none, cached))
        print(f"[slow-endpoints] a delivery to an endpoint not in the cache (spread over "
              f"{endpoints:,}) / to one of {cached[0]['few']:.0f}: workers' CPU {worker:.2f}x, "
              f"PostgreSQL's {server:.2f}x (median of {len(cached)} interleaved pairs, none "
              f"slow)")
    mb = 1e6
    print(f"[slow-endpoints] the metrics' endpoint series, {series[-1]['series']:,.0f} "
          "endpoints counted once each, a scrape every 5,000 attempts, the sweep dropping "
          "those not counted in the last 20,000: " + "; ".join(
              (f"the sender's, cap {r['cap']:,.0f}: " if r["cap"] else
               "prometheus-client's Counter (as before, never dropped): ")
              + f"{r['series']:,.0f} series, {r['bytes'] / mb:.1f} MB, /metrics "
              f"{r['page'] / mb:.2f} MB" for r in series) + " (tracemalloc)")
    listed, parked = claims["listed"], claims["parked"]
    print("[slow-endpoints] a claim of 100 with breakers open, their rows parked (as now, "
          "no list sent): " + ", ".join(
              f"{k:,} open {ms:.1f} ms ({ms / parked[0]:.2f}x)" if k else f"none {ms:.1f} ms"
              for k, ms in parked.items())
          + "; the same endpoints listed as left out (as before): " + ", ".join(
              f"{k:,} listed {ms:.1f} ms ({ms / listed[0]:.2f}x)" if k else f"none {ms:.1f} ms"
              for k, ms in listed.items())
          + f" (medians of interleaved rounds); opening a breaker (parking its rows) "
          f"{claims['open'][0]:.2f} ms, closing it (taking them off) "
          f"{claims['close'][0]:.2f} ms (medians)")
