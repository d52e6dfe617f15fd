"""Reference sender benchmarks (``make bench``): prints medians and ratios.

- HTTP client ceiling: the sender's own client (``_http_client.HttpClient``) vs aiohttp
  and httpx posting 1 KiB bodies to a fast local receiver.
- Durable deliveries/s (SQLite, PostgreSQL) vs that raw ceiling (the sender's own client,
  no storage, no signing), same concurrency.
- Enqueue p50/p99 (catalog validation included) vs a bare insert of the same rows, on an
  empty store and with 1,000,000 past deliveries.
- Claim throughput with 10,000 and 1,000,000 pending rows, and with 1,000,000 past ones.
- Fairness: a fast endpoint's p50 latency (enqueue to answer) beside 12 endpoints slower
  than their timeout, against the same endpoint alone (default concurrency limits).
- Pinned versions: enqueue p50 with an unpinned and a v1-pinned endpoint, and with the
  pinned body derived at enqueue instead of at send; the worker's body cost per attempt;
  durable deliveries/s pinned vs unpinned.
- Capacity (PostgreSQL): CPU per delivery of supervised worker processes, PostgreSQL and
  the receiver, bytes and round trips through a counting relay, and the model's
  prediction against 1 and 2 processes (``_capacity.py``, ``_relay.py``).
- Slow endpoints (PostgreSQL): 100,000 endpoints, 1 % slower than their timeout, against
  none slow: healthy deliveries/s, slots held, worker memory and per-endpoint state,
  claims with open breakers, their rows parked or listed (``_slow_endpoints.py``).

The benchmark process is pinned to CPU 0 and the receiver (and PostgreSQL) to CPU 1 with
``taskset`` so the two sides do not fight over one core; on a 2-core machine that is the
fairest split. ``--quick`` shrinks every size for a smoke run.

Every ratio compares things measured side by side (the host's speed drifts within
seconds): each durable run sits between two ceiling runs, enqueue latencies are taken in
interleaved chunks, claim rates in interleaved rounds. BENCHMARKS.md records the results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, Callable, Optional

import aiohttp
import hookseal
import httpx
from hookseal_sender import (
    BackgroundWorker,
    Sender,
    SenderConfig,
    Worker,
    generate_master_key,
    tune_gc,
)
from hookseal_sender._http_client import HttpClient
from hookseal_sender.catalog import _catalog, no_validation
from hookseal_sender.models import new_id
from hookseal_sender.outbox import enqueue

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from _filters_bench import evaluation_cost, filter_enqueue  # noqa: E402
from _pg import PostgresServer  # noqa: E402

sys.path.insert(0, str(HERE))
import _capacity  # noqa: E402
import _slow_endpoints  # noqa: E402

CONCURRENCY = 64
#: Requests (or deliveries) each throughput run makes before its clock starts.
WARM_UP = 200
RESULTS: dict[str, Any] = {}


def cpu_steal() -> tuple[int, int]:
    """(stolen, all) CPU time of the machine so far, in clock ticks (``/proc/stat``): time
    a virtual machine's host gave to someone else while this machine wanted to run."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return 0, 0
    return fields[7], sum(fields)


def pin(cpu: int) -> str:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_services(recv: subprocess.Popen[str], pg: Any, tmp: Path) -> None:
    """Stop what a benchmark started: the receiver, PostgreSQL (if any), its files."""
    recv.terminate()
    recv.wait()
    if pg is not None:
        pg.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def start_receiver() -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    cmd = [sys.executable, str(HERE / "_fast_receiver.py"), str(port)]
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        cmd = ["taskset", "-c", "1", *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, port


BODY = json.dumps({"pad": "x" * 1000}).encode()[:1024]


def sender_request_headers() -> dict[str, str]:
    """The headers the sender puts on a delivery, computed once for the ceiling."""
    headers = hookseal.sign(BODY, "whsec_" + "A" * 43 + "=", msg_id=new_id("evt"),
                            event_type="bench.event")
    headers["Content-Type"] = "application/json"
    return headers


async def _rate(request: Callable[[], Awaitable[Any]], n: int, conc: int) -> float:
    """Requests/s of ``conc`` looping tasks making ``n`` requests between them, after
    :data:`WARM_UP` (looping tasks: the ceiling pays no per-request task either)."""
    left = [WARM_UP]

    async def loop() -> None:
        while left[0] > 0:
            left[0] -= 1
            await request()

    await asyncio.gather(*(loop() for _ in range(conc)))
    left[0] = n
    t0 = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(conc)))
    return n / (time.perf_counter() - t0)


async def raw_aiohttp(url: str, n: int, conc: int) -> float:
    """The sender's very requests (the same headers, signature included) on aiohttp, the
    session and request options the worker had, nothing computed per request."""
    cfg = SenderConfig()
    conn = aiohttp.TCPConnector(limit=conc, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=cfg.connect_timeout + cfg.read_timeout,
                                    sock_connect=cfg.connect_timeout)
    headers = sender_request_headers()
    async with aiohttp.ClientSession(connector=conn, auto_decompress=False,
                                     cookie_jar=aiohttp.DummyCookieJar(),
                                     headers={"User-Agent": cfg.user_agent}) as session:
        async def request() -> None:
            async with session.post(url, data=BODY, headers=headers, allow_redirects=False,
                                    timeout=timeout) as resp:
                await resp.read()

        return await _rate(request, n, conc)


async def raw_own(url: str, n: int, conc: int) -> float:
    """The same on the client the sender delivers with (one ``HttpClient`` of ``conc``
    connections, as a worker of ``conc`` slots makes; a fresh headers dict a request, as
    each attempt's)."""
    cfg = SenderConfig()
    client = HttpClient(cfg.user_agent, connections=conc)
    headers = sender_request_headers()
    total = cfg.connect_timeout + cfg.read_timeout

    async def request() -> None:
        await client.post(url, dict(headers), BODY, timeout=total,
                          connect_timeout=cfg.connect_timeout, allow_local=True)

    try:
        return await _rate(request, n, conc)
    finally:
        await client.close()


async def raw_httpx(url: str, n: int, conc: int) -> float:
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    async with httpx.AsyncClient(limits=limits) as client:
        headers = sender_request_headers()
        sem = asyncio.Semaphore(conc)

        async def one() -> None:
            async with sem:
                r = await client.post(url, content=BODY,
                                      headers=headers)
                r.read()

        await asyncio.gather(*(one() for _ in range(WARM_UP)))
        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return n / (time.perf_counter() - t0)


def median_of(runs: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(runs))


def bench_clients(url: str, n: int, runs: int) -> float:
    own = median_of(runs, lambda: asyncio.run(raw_own(url, n, CONCURRENCY)))
    aio = median_of(runs, lambda: asyncio.run(raw_aiohttp(url, n, CONCURRENCY)))
    hx = median_of(runs, lambda: asyncio.run(raw_httpx(url, max(n // 4, 200), CONCURRENCY)))
    print(f"raw client ceiling, 1 KiB POST, {CONCURRENCY} in flight: the sender's own "
          f"{own:,.0f}/s, aiohttp {aio:,.0f}/s, httpx {hx:,.0f}/s (own/aiohttp = "
          f"{own / aio:.2f}x, aiohttp/httpx = {aio / hx:.1f}x) -> the sender uses its own")
    RESULTS["raw_own"], RESULTS["raw_aiohttp"], RESULTS["raw_httpx"] = own, aio, hx
    return own


def make_sender(db: str, **kw: Any) -> Sender:
    cfg = SenderConfig(database=db, master_key=generate_master_key(), allow_local=True,
                       global_concurrency=CONCURRENCY, per_endpoint_concurrency=CONCURRENCY,
                       poll_interval=0.01, claim_batch=200, **kw)
    return Sender(cfg, validator=no_validation)


def durable_throughput(db: str, url: str, n: int, past: int = 0,
                       just_before: Callable[[], object] = lambda: None, *,
                       versions: Optional[dict[str, int]] = None,
                       event: Optional[tuple[str, dict[str, Any]]] = None) -> float:
    """Deliveries/s of a worker draining ``n`` enqueued deliveries (after ``WARM_UP``) to
    ``url``; ``just_before`` runs once the store is filled, right before the worker starts
    (the caller's ceiling run, so the two are measured side by side). ``event`` (type,
    data) replaces the 1 KiB ``bench.event``, validated by the catalog; ``versions`` pins
    the endpoint."""
    sender = make_sender(db)
    ep = sender.create_endpoint("bench", url, allow_local=True, versions=versions)
    if past:
        _fill_past(sender, ep.endpoint.id, past, "delivered")
    event_type, data = event or ("bench.event", {"pad": "x" * 900})
    validator = no_validation if event is None else sender.catalog.validate
    with sender.store.transaction() as conn:
        for _ in range(n + WARM_UP):
            enqueue(sender.store, "bench", event_type, data,
                    validator=validator, conn=conn, endpoint_ids=[ep.endpoint.id])
    just_before()

    async def go() -> float:
        worker = Worker(sender)
        task = asyncio.create_task(worker.run())
        conn: Any = sender.store.conn()  # type: ignore[attr-defined]
        labels = {"outcome": "delivered", "endpoint_id": ep.endpoint.id}

        def delivered() -> float:
            # This one counter only: collecting the whole registry would also run the
            # queue-depth gauge's COUNT(*) over the live deliveries, on the worker's own
            # event loop, 100 times a second (a cost of the benchmark, not of the sender).
            for family in sender.metrics.attempts.collect():
                for sample in family.samples:
                    # Labels beyond these (the tenant) vary: match on these only.
                    if (sample.name == "hookseal_attempts_total"
                            and labels.items() <= sample.labels.items()):
                        return sample.value
            return 0.0

        # The clock starts after WARM_UP deliveries, as the ceiling's does after its
        # warm-up requests: connections open, endpoint loaded, caches warm.
        while delivered() < WARM_UP:
            await asyncio.sleep(0.001)
        t0, before = time.perf_counter(), delivered()
        while delivered() < n + WARM_UP:
            await asyncio.sleep(0.01)  # in-process counter: no store query while it runs
        while True:
            # Then wait until the store says so: durable means written back. Counted
            # in the queue (live deliveries only), so the check costs the same with
            # 1,000,000 finished deliveries in the log as with none.
            left = await asyncio.to_thread(lambda: conn.execute(
                "SELECT COUNT(*) FROM queue").fetchone()[0])
            if left == 0:
                break
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - t0
        worker.stop()
        await task
        return (n + WARM_UP - before) / elapsed

    rate = asyncio.run(go())
    sender.close()
    return rate


def _fill_past(sender: Sender, endpoint_id: str, n: int, status: str) -> None:
    store: Any = sender.store
    now = time.time()
    batch = 50_000
    ev = new_id("evt")
    with store.transaction() as conn:
        store._exec(conn, "INSERT INTO events (id, tenant_id, type, payload, created_at)"
                    " VALUES (?,?,?,?,?)", [ev, "bench", "bench.event", "{}", now])
    for start in range(0, n, batch):
        rows = [(new_id("dlv"), "bench", ev, endpoint_id, "bench.event", status,
                 now - 10 if status == "pending" else None, now, now)
                for _ in range(min(batch, n - start))]
        with store.transaction() as conn:
            store._many(conn, "INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id,"
                        " event_type, status, next_attempt_at, created_at, updated_at)"
                        " VALUES (?,?,?,?,?,?,?,?,?)", rows)
            if status == "pending":  # live: in the queue too, as enqueue writes them
                store._many(conn, store._INSERT_QUEUE,
                            [(r[0], r[1], r[3], r[2], r[4], r[6]) for r in rows])
    store.maintenance()  # what a running worker does every second (SQLite: checkpoint)
    if store.dialect == "postgresql":
        # Settle before measuring: statistics, visibility map and dirty buffers.
        store.conn().execute("VACUUM ANALYZE deliveries")
        store.conn().execute("VACUUM ANALYZE queue")
        store.conn().execute("CHECKPOINT")


async def _public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]  # no DNS needed: the endpoints are never called


class EnqueueStore:
    """A store set up for timing enqueues: one endpoint, optionally ``past`` finished
    deliveries, and (as in production, where a worker runs beside the enqueuers) store
    maintenance, SQLite's WAL checkpoints, every second on its own thread.

    Its methods time one chunk each, so the caller can interleave the stores it compares.
    """

    def __init__(self, db: str, past: int) -> None:
        self.sender = Sender(SenderConfig(database=db, master_key=generate_master_key()),
                             resolve=_public)
        self.endpoint_id = self.sender.create_endpoint(
            "bench", "https://hooks.example.com/x").endpoint.id
        if past:
            _fill_past(self.sender, self.endpoint_id, past, "delivered")
        self.data = _catalog().example("invoice.paid")
        self.payload = json.dumps(self.data)
        self.store: Any = self.sender.store
        self._stop = threading.Event()
        threading.Thread(target=self._maintain, daemon=True).start()
        for _ in range(200):  # warm up
            self.sender.send("bench", "invoice.paid", self.data)

    def _maintain(self) -> None:
        while not self._stop.wait(1.0):
            self.store.maintenance()

    def send(self, n: int) -> list[float]:
        """Seconds each of ``n`` enqueues took (``Sender.send``: validation included)."""
        lat = []
        for _ in range(n):
            t0 = time.perf_counter()
            self.sender.send("bench", "invoice.paid", self.data)
            lat.append(time.perf_counter() - t0)
        return lat

    def send_keyed(self, n: int, repeat: bool = False) -> list[float]:
        """Seconds each of ``n`` enqueues with an idempotency key took: a new key each, or
        (``repeat``) a key already sent, which enqueues nothing and answers the first."""
        lat = []
        for _ in range(n):
            key = "bench-repeat" if repeat else new_id("key")
            t0 = time.perf_counter()
            self.sender.send("bench", "invoice.paid", self.data, idempotency_key=key)
            lat.append(time.perf_counter() - t0)
        return lat

    def bare(self, n: int) -> list[float]:
        """Seconds each of ``n`` bare inserts of the same rows took (no validation, no
        subscription lookup: the floor). The delivery and its queue row are written as
        the store writes them (on PostgreSQL, one statement)."""
        lat, store = [], self.store
        for _ in range(n):
            t0 = time.perf_counter()
            now = time.time()
            ev = new_id("evt")
            with store.transaction() as conn:
                store._exec(conn, "INSERT INTO events (id, tenant_id, type, payload, created_at)"
                            " VALUES (?,?,?,?,?)", [ev, "bench", "invoice.paid", self.payload, now])
                store._insert_deliveries(conn, ev, "bench", "invoice.paid",
                                         [(new_id("dlv"), self.endpoint_id)], now)
            lat.append(time.perf_counter() - t0)
        return lat

    def close(self) -> None:
        self._stop.set()
        self.sender.close()


def enqueue_latency(mk: Callable[[str], str], n: int, big: int) -> dict[str, list[float]]:
    """Enqueue and bare-insert latencies on an empty store, enqueue latencies with ``big``
    past deliveries, and enqueues with an idempotency key (new keys, and a repeated key)
    on the empty store, in interleaved chunks of 250 (a slow stretch of a shared machine
    hits them all alike)."""
    empty, full = EnqueueStore(mk("enq_empty"), 0), EnqueueStore(mk("enq_full"), big)
    lat: dict[str, list[float]] = {"send": [], "bare": [], "send_past": [], "send_key": [],
                                   "send_repeat": []}
    try:
        for _ in range(max(1, n // 250)):
            lat["send"] += empty.send(250)
            lat["bare"] += empty.bare(250)
            lat["send_past"] += full.send(250)
            lat["send_key"] += empty.send_keyed(250)
            lat["send_repeat"] += empty.send_keyed(250, repeat=True)
    finally:
        empty.close()
        full.close()
    return lat


class PinStore:
    """A store for timing the enqueue of a payment.failed event (v2, the current version)
    to one endpoint, unpinned or pinned to v1, and a derive-at-enqueue variant: the same
    enqueue plus, in its transaction, the v1 body derived, validated and written to a
    table of its own (what deriving at enqueue would add)."""

    def __init__(self, db: str, pinned: bool) -> None:
        from hookseal_sender._derived import VersionedBodies

        self.sender = Sender(SenderConfig(database=db, master_key=generate_master_key()),
                             resolve=_public)
        self.sender.create_endpoint("bench", "https://hooks.example.com/x",
                                    versions={"payment.failed": 1} if pinned else None)
        self.data = _catalog().example("payment.failed")
        self.bodies = VersionedBodies(self.sender.catalog)
        self.store: Any = self.sender.store
        with self.store.transaction() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS derived_bench (id TEXT PRIMARY KEY, "
                         "body TEXT NOT NULL)")
        for _ in range(200):  # warm up
            self.sender.send("bench", "payment.failed", self.data)

    def send(self, n: int) -> list[float]:
        """Seconds each of ``n`` enqueues took (``Sender.send``, as it is)."""
        lat = []
        for _ in range(n):
            t0 = time.perf_counter()
            self.sender.send("bench", "payment.failed", self.data)
            lat.append(time.perf_counter() - t0)
        return lat

    def send_deriving(self, n: int) -> list[float]:
        """Seconds each of ``n`` enqueues took with the v1 body derived at enqueue."""
        lat, store = [], self.store
        for _ in range(n):
            t0 = time.perf_counter()
            with store.transaction() as conn:
                r = self.sender.send("bench", "payment.failed", self.data, conn=conn)
                body = self.bodies._derive(r.payload, "payment.failed", 1)
                store._exec(conn, "INSERT INTO derived_bench (id, body) VALUES (?,?)",
                            [r.event_id, body.decode() if isinstance(body, bytes) else body])
            lat.append(time.perf_counter() - t0)
        return lat

    def close(self) -> None:
        self.sender.close()


def body_costs(n: int) -> dict[str, list[float]]:
    """Seconds the worker spends on the body of one attempt: unpinned (the stored text),
    pinned to v1 for a new event (derived, validated, encoded: one per event and
    version), and pinned for an event derived before (another endpoint, or a retry)."""
    from hookseal_sender._derived import VersionedBodies
    from hookseal_sender.catalog import sender_catalog
    from hookseal_sender.models import Claimed, Endpoint
    from hookseal_sender.outbox import envelope

    catalog = sender_catalog()
    bodies = VersionedBodies(catalog)
    data = catalog.catalog.example("payment.failed")
    plain = Endpoint(id="ep", tenant_id="t", url="https://hooks.example.com/x")
    pinned = Endpoint(id="ep", tenant_id="t", url="https://hooks.example.com/x",
                      versions={"payment.failed": 1})
    out: dict[str, list[float]] = {"unpinned": [], "pinned": [], "pinned_again": []}
    now = time.time()
    for _ in range(n):
        eid = new_id("evt")
        c = Claimed("dlv", "t", "ep", "payment.failed", 0, 0,
                    envelope(eid, "payment.failed", data, now, version=2), 1, eid)
        for key, ep in (("unpinned", plain), ("pinned", pinned), ("pinned_again", pinned)):
            t0 = time.perf_counter()
            bodies.body(c, ep, now)
            out[key].append(time.perf_counter() - t0)
    return out


def bench_pins(mk: Callable[[str], str], url: str, n_enqueue: int, n_tp: int,
               rounds: int, backend: str) -> None:
    """Pinned versions (contract 4.2): enqueue with an unpinned and a v1-pinned endpoint,
    deriving at enqueue instead, the worker's body cost per attempt and durable
    deliveries/s pinned vs unpinned (interleaved)."""
    plain, pinned = PinStore(mk("pin_plain"), False), PinStore(mk("pin_pinned"), True)
    lat: dict[str, list[float]] = {"plain": [], "pinned": [], "at_enqueue": []}
    try:
        for _ in range(max(1, n_enqueue // 250)):
            lat["plain"] += plain.send(250)
            lat["pinned"] += pinned.send(250)
            lat["at_enqueue"] += pinned.send_deriving(250)
    finally:
        plain.close()
        pinned.close()
    (u50, u99), (p50, p99), (d50, d99) = (p50_p99(lat[k])
                                          for k in ("plain", "pinned", "at_enqueue"))
    print(f"[{backend}] pins, enqueue of payment.failed v2: unpinned endpoint p50 {u50:.3f} ms "
          f"(p99 {u99:.3f}); v1-pinned endpoint, derived at send (as shipped) p50 "
          f"{p50:.3f} ms ({p50 / u50:.2f}x, p99 {p99:.3f}); derived at enqueue p50 "
          f"{d50:.3f} ms ({d50 / u50:.2f}x, p99 {d99:.3f}) (interleaved chunks of 250)")
    costs = {k: statistics.median(v) * 1e6 for k, v in body_costs(2000).items()}
    print(f"[{backend}] pins, the worker's body per attempt (median of 2000): unpinned "
          f"{costs['unpinned']:.1f} us; v1-pinned, first endpoint of an event "
          f"{costs['pinned']:.1f} us (derive + validate + encode); again (other endpoints, "
          f"retries) {costs['pinned_again']:.1f} us")
    rates: dict[str, list[float]] = {"plain": [], "pinned": []}
    event = ("payment.failed", _catalog().example("payment.failed"))
    counter = iter(range(10**6))
    for _ in range(rounds):
        rates["plain"].append(durable_throughput(mk(f"pt{next(counter)}"), url, n_tp,
                                                 event=event))
        rates["pinned"].append(durable_throughput(mk(f"pt{next(counter)}"), url, n_tp,
                                                  event=event,
                                                  versions={"payment.failed": 1}))
    r_plain, r_pinned = (statistics.median(rates[k]) for k in ("plain", "pinned"))
    print(f"[{backend}] pins, durable deliveries/s of payment.failed: unpinned {r_plain:,.0f}, "
          f"v1-pinned {r_pinned:,.0f} ({paired(rates['pinned'], rates['plain']):.2f}x; "
          f"median of {rounds} interleaved pairs of {n_tp:,})")
    RESULTS[f"pins_{backend}"] = (u50, p50, d50, costs, r_plain, r_pinned)


def p50_p99(lat: list[float]) -> tuple[float, float]:
    """Median and 99th percentile, in milliseconds."""
    return statistics.median(lat) * 1e3, statistics.quantiles(lat, n=100)[98] * 1e3


class ClaimStore:
    """A store holding ``pending`` due deliveries (and ``past`` finished ones) for timing
    claims; each round claims ``claims`` batches of 100, then puts them back."""

    def __init__(self, db: str, pending: int, past: int) -> None:
        self.sender = Sender(SenderConfig(database=db, master_key=generate_master_key()),
                             resolve=_public)
        ep = self.sender.create_endpoint("bench", "https://hooks.example.com/x")
        if past:
            _fill_past(self.sender, ep.endpoint.id, past, "delivered")
        _fill_past(self.sender, ep.endpoint.id, pending, "pending")

    def round(self, claims: int) -> float:
        """Rows/s of one round of ``claims`` claims of 100."""
        store = self.sender.store
        t0 = time.perf_counter()
        got: list[str] = []
        for _ in range(claims):
            now = time.time()
            got += [c.id for c in store.claim("bench", 100, now, now + 3600)]
        rate = len(got) / (time.perf_counter() - t0)
        # Put them back (due in the past), so every round claims from the same pool.
        store.release("bench", got, time.time() - 10)
        store.maintenance()
        if store.dialect == "postgresql":
            # And in the same state: each round leaves two dead versions of every queue
            # row it claimed (claim, release), which autovacuum reaps on its own clock
            # (the launcher looks at a database once a minute, a 1,000,000-row table only
            # past 200,000 dead rows). Unreaped, they slowed every store's claims round
            # after round (20,700 -> 11,700 rows/s over 15 rounds).
            store.conn().execute("VACUUM queue")
        return rate

    def close(self) -> None:
        self.sender.close()


def claim_rates(mk: Callable[[str], str], big: int, claims: int,
                rounds: int) -> dict[str, list[float]]:
    """Claim rows/s with 10,000 pending, ``big`` pending, and 10,000 pending beside ``big``
    past deliveries: one round of each in turn, ``rounds`` times."""
    stores = {"small": ClaimStore(mk("cl_small"), 10_000, 0),
              "large": ClaimStore(mk("cl_large"), big, 0),
              "past": ClaimStore(mk("cl_past"), 10_000, big)}
    rates: dict[str, list[float]] = {k: [] for k in stores}
    try:
        for _ in range(rounds):
            for k, store in stores.items():
                rates[k].append(store.round(claims))
    finally:
        for store in stores.values():
            store.close()
    return rates


#: Fairness section: endpoints slower than their timeout, the timeout, the fast stream.
SLOW_ENDPOINTS = 12
SLOW_TIMEOUT = 2.0
FAST_RATE = 100.0


class _Quiet:
    """A notifier that drops the slow endpoints' dead-letter notices."""

    def notify(self, notice: Any) -> None:
        """Drop the notice.

        Args:
            notice: The notice.
        """


def fairness_run(db: str, base: str, slow: int, duration: float) -> float:
    """The fast endpoint's p50 latency (seconds from enqueue to its answer) while events
    for it are enqueued at ``FAST_RATE``/s for ``duration`` s, beside ``slow`` endpoints
    that answer after their timeout, each with a backlog that lasts the whole run. The
    sender runs with the default concurrency limits (100 in all, 10 per endpoint)."""
    cfg = SenderConfig(database=db, master_key=generate_master_key(), allow_local=True)
    sender = Sender(cfg, validator=no_validation, notifier=_Quiet())
    fast = sender.create_endpoint("fast", f"{base}/fast", allow_local=True).endpoint.id
    backlog = int(10 * duration / SLOW_TIMEOUT) + 20  # enough for 10 at a time throughout
    slow_ids = [sender.create_endpoint(f"slow{i}", f"{base}/slow{i}", allow_local=True,
                                       timeout=SLOW_TIMEOUT, retry_schedule=[]).endpoint.id
                for i in range(slow)]
    with sender.store.transaction() as conn:
        for i, ep in enumerate(slow_ids):
            for _ in range(backlog):
                enqueue(sender.store, f"slow{i}", "bench.event", {"pad": "x" * 900},
                        validator=no_validation, conn=conn, endpoint_ids=[ep])
    worker = BackgroundWorker(sender, drain_timeout=0.5).start()
    time.sleep(0.5)  # the slow endpoints' attempts are under way
    n = int(FAST_RATE * duration)
    t0 = time.monotonic()
    for i in range(n):
        time.sleep(max(0.0, t0 + i / FAST_RATE - time.monotonic()))
        enqueue(sender.store, "fast", "bench.event", {"pad": "x" * 900},
                validator=no_validation, endpoint_ids=[fast])
    sql = ("SELECT a.at + a.latency_ms / 1000.0 - d.created_at FROM deliveries d JOIN attempts a"
           " ON a.delivery_id = d.id WHERE d.endpoint_id = ? AND a.outcome = 'delivered'")
    store: Any = sender.store
    if store.placeholder != "?":
        sql = sql.replace("?", store.placeholder)
    deadline = time.monotonic() + 30 * duration
    while True:
        lat = [r[0] for r in store.conn().execute(sql, [fast]).fetchall()]
        if len(lat) >= n or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    worker.stop()
    sender.close()
    if len(lat) < n:
        raise RuntimeError(f"fast endpoint: {len(lat)} of {n} delivered in time")
    return statistics.median(lat)


def fairness(mk: Callable[[str], str], base: str, duration: float,
             runs: int) -> tuple[list[float], list[float]]:
    """Interleaved pairs of runs: the fast endpoint alone, then beside the slow ones."""
    alone, crowded = [], []
    for i in range(runs):
        alone.append(fairness_run(mk(f"fa{i}"), base, 0, duration))
        crowded.append(fairness_run(mk(f"fc{i}"), base, SLOW_ENDPOINTS, duration))
    return alone, crowded


def paired(num: list[float], den: list[float]) -> float:
    """Median of the ratios of runs made one after the other (``num[i] / den[i]``)."""
    return statistics.median(a / b for a, b in zip(num, den))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--only", choices=["throughput", "enqueue", "claims", "fairness", "filters",
                                       "pins", "capacity", "slow-endpoints"],
                    help="run one section")
    args = ap.parse_args()
    big = 100_000 if args.quick else 1_000_000
    # 12,000 requests a throughput run: on a shared machine, runs of a second or less
    # moved the paired ratio by +-10 points between identical runs.
    n_http = 2000 if args.quick else 12_000
    tune_gc()  # what `hookseal-sender serve` does: this process runs workers like it
    print(f"hookseal-sender benchmarks: this process {pin(0)}, receiver and PostgreSQL on "
          f"CPU 1 (taskset); {os.cpu_count()} CPUs; 1 KiB bodies; medians of 3 to 11 runs; "
          f"load average at start {os.getloadavg()[0]:.1f}")
    steal0 = cpu_steal()
    recv, port = start_receiver()
    url = f"http://127.0.0.1:{port}/hook"
    tmp = Path(tempfile.mkdtemp(prefix="hookseal-bench-"))
    pg = None
    try:
        if args.only in (None, "throughput"):
            bench_clients(url, n_http, 3)
        dbs = {"sqlite": lambda name: f"sqlite:///{tmp / name}.db"}
        if not args.no_postgres and PostgresServer.missing() is None:
            # Started from CPU 1, so the server and every backend it forks inherit CPU 1.
            # (`taskset -p` on the started process pinned only `runuser`: the postgres
            # processes under it inherited CPU 0 from this process, and the sender's core
            # did the server's work too.)
            pin(1)
            try:
                pg = PostgresServer().start()
            finally:
                pin(0)
            server = pg
            dbs["postgresql"] = lambda name: server.create_db(name)
        elif not args.no_postgres:
            print("PostgreSQL binaries missing: PostgreSQL rows skipped")
        counter = iter(range(10**6))
        ceilings: list[float] = []

        def ceiling() -> float:
            ceilings.append(asyncio.run(raw_own(url, n_http, CONCURRENCY)))
            return ceilings[-1]

        def bracketed(db: str, past: int = 0) -> tuple[float, float]:
            # A durable run between two ceiling runs, divided by their mean: the machine's
            # speed drifts within seconds, and only a ceiling measured on both sides of the
            # run follows it (pairing with the run before left +-12 points between runs).
            rate = durable_throughput(db, url, n_http, past=past, just_before=ceiling)
            before = ceilings[-1]
            time.sleep(1.0)  # let the database's background writes settle
            return rate, rate / ((before + ceiling()) / 2)

        def spread(shares: list[float]) -> str:
            return f"{min(shares):.0%}-{max(shares):.0%}"

        tp = args.only in (None, "throughput")
        rates: dict[str, list[float]] = {b: [] for b in dbs}
        shares: dict[str, list[float]] = {b: [] for b in dbs}
        for _ in range(7 if tp else 0):
            for backend, mk in dbs.items():
                rate, share = bracketed(mk(f"tp{next(counter)}"))
                rates[backend].append(rate)
                shares[backend].append(share)
        if ceilings:
            print(f"raw client ceiling (the sender's own client; median of the {len(ceilings)} "
                  f"runs around the durable "
                  f"runs): {statistics.median(ceilings):,.0f}/s")
        share_of: dict[str, float] = {}
        for backend in dbs if tp else ():
            rate, share_of[backend] = statistics.median(rates[backend]), statistics.median(shares[backend])
            RESULTS[f"durable_{backend}"] = rate
            print(f"[{backend}] durable deliveries/s: {rate:,.0f} = {share_of[backend]:.0%} of the "
                  f"raw client ceiling (median of 7 runs, each over the ceiling runs on both sides: "
                  f"{spread(shares[backend])}; target >= 60%)")
        for backend, mk in dbs.items() if tp else ():
            # The same, with `big` finished deliveries already in the store; compared with
            # the empty store through the ceilings (absolute rates measured minutes apart
            # move with the machine).
            past_runs = [bracketed(mk(f"tpp{next(counter)}"), past=big) for _ in range(3)]
            rate = statistics.median(r for r, _ in past_runs)
            share = statistics.median(s for _, s in past_runs)
            RESULTS[f"durable_{backend}_past"] = rate
            print(f"[{backend}] durable deliveries/s with {big:,} past deliveries: {rate:,.0f} "
                  f"= {share:.0%} of the raw ceiling ({spread([s for _, s in past_runs])}); "
                  f"{share / share_of[backend]:.2f}x the empty store's share")
        for backend, mk in dbs.items() if args.only in (None, "enqueue") else ():
            lat = enqueue_latency(mk, 2000 if args.quick else 5000, big)
            (e50, e99), (b50, b99), (f50, f99) = (p50_p99(lat[k])
                                                  for k in ("send", "bare", "send_past"))
            print(f"[{backend}] enqueue, empty store: p50 {e50:.3f} ms, p99 {e99:.3f} ms "
                  f"(validation included); bare insert p50 {b50:.3f} ms, p99 {b99:.3f} ms; "
                  f"p50 ratio {e50 / b50:.2f}x (interleaved chunks of 250)")
            print(f"[{backend}] enqueue, {big:,} past deliveries: p50 {f50:.3f} ms, p99 "
                  f"{f99:.3f} ms; vs empty p50 {f50 / e50:.2f}x")
            (k50, k99), (r50, r99) = (p50_p99(lat[k]) for k in ("send_key", "send_repeat"))
            print(f"[{backend}] enqueue with an idempotency key: new key p50 {k50:.3f} ms, "
                  f"p99 {k99:.3f} ms (p50 {k50 / e50:.2f}x a send without a key); repeated "
                  f"key (nothing enqueued) p50 {r50:.3f} ms, p99 {r99:.3f} ms "
                  f"({r50 / e50:.2f}x)")
            RESULTS[f"enqueue_{backend}"] = ((e50, e99, b50, b99), (f50, f99))
        for backend, mk in dbs.items() if args.only in (None, "claims") else ():
            rates = claim_rates(mk, big, 50, 3 if args.quick else 11)
            small, large, past = (statistics.median(rates[k]) for k in ("small", "large", "past"))
            print(f"[{backend}] claims (batches of 100; median of interleaved rounds): 10,000 "
                  f"pending {small:,.0f} rows/s; {big:,} pending {large:,.0f} rows/s "
                  f"({paired(rates['large'], rates['small']):.2f}x); 10,000 pending + {big:,} "
                  f"past {past:,.0f} rows/s ({paired(rates['past'], rates['small']):.2f}x)")
            RESULTS[f"claim_{backend}"] = (small, large, past)
        for backend, mk in dbs.items() if args.only in (None, "fairness") else ():
            runs = 1 if args.quick else 3
            alone, crowded = fairness(mk, f"http://127.0.0.1:{port}", 4.0 if args.quick else 12.0,
                                      runs)
            a50, c50 = statistics.median(alone), statistics.median(crowded)
            ratio = paired(crowded, alone)
            print(f"[{backend}] fairness: fast endpoint p50 {a50 * 1000:.0f} ms alone, "
                  f"{c50 * 1000:.0f} ms beside {SLOW_ENDPOINTS} endpoints slower than their "
                  f"{SLOW_TIMEOUT:.0f} s timeout; ratio {ratio:.2f}x (target <= 2x; median of "
                  f"{runs} interleaved pairs)")
            RESULTS[f"fairness_{backend}"] = (a50, c50, ratio)
        for backend, mk in dbs.items() if args.only in (None, "filters") else ():
            per_eval, per_parse = evaluation_cost()
            f50, n50, ratio = filter_enqueue(mk, 500 if args.quick else 2000, _public)
            print(f"[{backend}] filters: enqueue to 100 endpoints with a 5-clause filter each "
                  f"p50 {f50:.3f} ms, without filters {n50:.3f} ms: {ratio:.2f}x (median of "
                  f"interleaved rounds; target <= 1.5x); one evaluation {per_eval:.2f} us, "
                  f"envelope parse {per_parse:.2f} us")
            RESULTS[f"filters_{backend}"] = (f50, n50, ratio)
        for backend, mk in dbs.items() if args.only in (None, "pins") else ():
            bench_pins(mk, url, 2000 if args.quick else 5000, 1000 if args.quick else 4000,
                       3 if args.quick else 5, backend)
        if args.only in (None, "capacity") and pg is not None:
            # Worker processes on PostgreSQL: CPU per delivery on each side, and the model.
            # Each round: 1 process plain, through the counting relay (bytes and round
            # trips) and behind the lagging receiver (the model's second point), then 2
            # processes plain and relayed; the model takes the plain and lagged 1-process
            # runs, and the 2-process runs check it.
            specs = [(1, False, False), (1, True, False), (1, False, True), (2, False, False),
                     (2, True, False)] * (1 if args.quick else 2)
            cap: list[dict[str, float]] = []
            for procs, relay, lagged in specs:
                # The lag halves the rate of this round's full-speed 1-process run.
                lag = _capacity.lag_for(cap[-2]["rate"]) if lagged else 0
                cap.append(_capacity.run(pg.create_db(f"cap{next(counter)}"),
                                         f"http://127.0.0.1:{port}", procs,
                                         3000 if args.quick else 20_000, pg.proc.pid, recv.pid,
                                         relay=relay, lag=lag))
            _capacity.report(sorted(cap, key=lambda r: r["processes"]), os.cpu_count() or 1)
            RESULTS["capacity"] = cap
        if args.only in (None, "slow-endpoints") and pg is not None:
            # 100,000 endpoints, 1 % slower than their timeout, against none slow.
            # Events for half the endpoints, spread over all: 50,000 at full size, minutes
            # a run on a shared 2-core machine (one per endpoint took 5 minutes a run at
            # load average 17).
            size, pairs = (10_000, 1) if args.quick else (100_000, 2)
            base = f"http://127.0.0.1:{port}"
            key = _slow_endpoints.build_template(pg, "slowtpl", base, size, size // 2)
            # Each round: 1 % slow, none slow, and the same deliveries to 64 endpoints
            # (cache hits, where the spread ones miss), interleaved.
            # And none slow with the idle sweep every 2 s (idle after 8 s; --quick: 0.5 s
            # and 2 s): what the workers keep once endpoints go idle, within runs this short.
            fast = 0.5 if args.quick else 2.0
            slow_runs = [_slow_endpoints.run(pg, "slowtpl", f"slow{next(counter)}", key, base,
                                             slow, 2, few, sweep)
                         for _ in range(pairs) for slow, few, sweep in (
                             (True, 0, 0.0), (False, 0, 0.0), (False, 64, 0.0),
                             (False, 0, fast))]
            state = _slow_endpoints.state_bytes(pg, "slowtpl", key)
            # 1 % and 10 % of the endpoints' breakers open (1,000 and 10,000 at full size).
            claims = _slow_endpoints.claim_costs(pg, "slowtpl", key, (0, size // 100, size // 10),
                                                 5 if args.quick else 11)
            series = _slow_endpoints.series_bound(size)
            _slow_endpoints.report(slow_runs, state, claims, size, series)
            RESULTS["slow_endpoints"] = slow_runs
        stolen, total = (b - a for a, b in zip(steal0, cpu_steal()))
        if total:
            # Read this first: on a shared host, a run with much time stolen scatters more.
            print(f"CPU time stolen by the host during the benchmarks: {stolen / total:.1%}")
    finally:
        stop_services(recv, pg, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
