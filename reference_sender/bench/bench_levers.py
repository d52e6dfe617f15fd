"""CPU per durable delivery against the bare client, and old code against new (issue 25).

Each run is a process of its own, pinned to CPU 0 (the receiver and PostgreSQL run on
CPU 1), importing the sender from one source tree (``PYTHONPATH``): this checkout
("new") and, by default, commit ``915f42b`` ("old", unpacked with ``git archive``), so
levers are measured A/B in one run. A sender run enqueues ``500 + N`` 1 KiB deliveries
to one endpoint, then a worker drains them (the configuration of ``bench_tracing.py``:
64 slots, 64 per endpoint, claims of up to 200, poll interval 10 ms); from the 500th
attempt (connections open, endpoint loaded) to the moment the queue is empty (every
result written back) it reads the process's CPU time (``getrusage``: the event loop and
the store's threads) and the clock. A bare run sends ``500 + N`` requests with a bare
client and reads the same from its 500th request: the sender's own client
(``_http_client.HttpClient``, what a worker delivers with since it replaced aiohttp) and
aiohttp (``bench_sender.raw_aiohttp``'s requests, the same headers, session and options,
what the worker delivered with before, the issue's first floor); nothing computed per
request.

Rounds interleave every tree and both bare clients on each backend; medians of the
rounds are printed with the sender/bare ratios (target: at most 1.3x the bare client the
sender delivers with) and new/old (throughput per sender core: deliveries per CPU
second, and the wall-clock rate of the pinned core; target: at least 1.5x).

``--decompose`` adds, for the last tree, a drain with the HTTP request left out (each
attempt's POST answers at once, with the headers and body of the receiver's answer; 4N
deliveries):
the store, the claims, the write-back and the attempt's own Python at full speed. The
report splits the sender's CPU per delivery into its bare own client's, this run's and what
is left: the cost of running both together (on the loop thread and the store's threads
apart, from ``/proc/self/task``).

The parts alone (``--only parts``), each tree in its own process too, in thread CPU time:
the write-back (``store.complete`` in batches of 1 to 64), claims (12 rows at a time,
capped per endpoint as a worker's are) and ``Metrics.attempt``, so one lever's commit
can be measured against the one before it::

    .venv/bin/python reference_sender/bench/bench_levers.py            # 5 rounds, both
    .venv/bin/python reference_sender/bench/bench_levers.py --quick    # 2 rounds, smaller
    .venv/bin/python reference_sender/bench/bench_levers.py --only parts --rev a=HEAD~1 --rev b=HEAD

``--rev NAME=REV`` and ``--tree NAME=PATH`` name the trees to compare, in order (each
is compared with the one before it; default ``--rev old=915f42b --tree new=<this
checkout>``). Results: BENCHMARKS.md, "Worker processes and capacity".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
#: The source directories a tree's packages import from.
SOURCES = ("sdk/python/src", "event_catalog/src", "reference_sender/src")
#: Deliveries (or requests) before the measurement starts.
WARM = 500
CONCURRENCY = 64


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {cpu})


# the runs (child processes) -------------------------------------------------------------
#: What the ``--decompose`` run's attempts get instead of a request: the fast
#: receiver's answer (``_fast_receiver.py``), as the sender records it.
CANNED_HEADERS = {"Content-Type": "text/plain; charset=utf-8", "Content-Length": "2",
                  "Date": "Mon, 07 Dec 2026 15:00:00 GMT", "Server": "Python/3.11 aiohttp/3.14"}


def _no_http() -> None:
    """Answer every attempt's POST at once, without a request (one loop turn, as a
    response does), so a drain measures everything but the HTTP client."""
    from hookseal_sender._attempt import AttemptRunner

    async def post(self: Any, cached: Any, headers: dict[str, str], body: bytes) -> Any:
        await asyncio.sleep(0)
        return 200, None, dict(CANNED_HEADERS), "ok"

    AttemptRunner._post = post  # type: ignore[method-assign]


def _threads_cpu() -> tuple[float, float]:
    """CPU seconds of this process's main thread (the event loop) and of all its others
    (the store's threads), from ``/proc/self/task``."""
    tick = os.sysconf("SC_CLK_TCK")
    main, rest = 0.0, 0.0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        cpu = (int(fields[11]) + int(fields[12])) / tick
        if int(tid) == os.getpid():
            main += cpu
        else:
            rest += cpu
    return main, rest


def sender_run(db: str, url: str, n: int, http: bool = True) -> dict[str, float]:
    """Drain ``WARM + n`` deliveries; CPU microseconds per delivery (all, the event
    loop's, the other threads') and deliveries/s from the warm-up mark until the queue
    is empty. ``http=False``: each POST answers at once (see :func:`_no_http`)."""
    from hookseal_sender import Sender, SenderConfig, Worker, generate_master_key, tune_gc
    from hookseal_sender.catalog import no_validation
    from hookseal_sender.outbox import enqueue

    tune_gc()
    if not http:
        _no_http()
    cfg = SenderConfig(database=db, master_key=generate_master_key(), allow_local=True,
                       global_concurrency=CONCURRENCY, per_endpoint_concurrency=CONCURRENCY,
                       poll_interval=0.01, claim_batch=200)
    sender = Sender(cfg, validator=no_validation)
    ep = sender.create_endpoint("bench", url, allow_local=True).endpoint
    with sender.store.transaction() as conn:
        for _ in range(WARM + n):
            enqueue(sender.store, "bench", "bench.event", {"pad": "x" * 900},
                    validator=no_validation, conn=conn, endpoint_ids=[ep.id])
    # The counter's own series: reading it costs about a microsecond (collecting the
    # registry would run the queue-depth gauge's COUNT(*) too).
    store: Any = sender.store
    counter: Any = sender.metrics.attempts
    if hasattr(counter, "value"):
        def attempted() -> float:
            return float(counter.value("delivered", ep.id, "bench"))
    else:  # trees before 79b435b (the old commit too): a prometheus-client Counter
        child = counter.labels("delivered", ep.id, "bench")

        def attempted() -> float:
            return float(child._value.get())

    def empty() -> bool:
        return not store._read("SELECT 1 FROM queue LIMIT 1")

    async def drain() -> dict[str, float]:
        worker = Worker(sender)
        task = asyncio.create_task(worker.run())
        while attempted() < WARM:
            await asyncio.sleep(0.005)
        cpu0, t0, done0, th0 = _cpu(), time.perf_counter(), attempted(), _threads_cpu()
        while attempted() < WARM + n:
            await asyncio.sleep(0.01)
        while not await asyncio.to_thread(empty):  # durable: written back
            await asyncio.sleep(0.002)
        cpu1, t1, th1 = _cpu(), time.perf_counter(), _threads_cpu()
        worker.stop()
        await task
        done = WARM + n - done0
        return {"cpu_us": (cpu1 - cpu0) / done * 1e6, "rate": done / (t1 - t0),
                "loop_us": (th1[0] - th0[0]) / done * 1e6,
                "threads_us": (th1[1] - th0[1]) / done * 1e6}

    try:
        return asyncio.run(drain())
    finally:
        sender.close()


def bare_run(url: str, n: int) -> dict[str, float]:
    """``WARM + n`` bare aiohttp requests; CPU microseconds per request and requests/s
    from the warm-up mark."""
    import aiohttp
    from bench_sender import BODY, sender_request_headers
    from hookseal_sender import SenderConfig, tune_gc

    tune_gc()

    async def go() -> dict[str, float]:
        cfg = SenderConfig()
        conn = aiohttp.TCPConnector(limit=CONCURRENCY, limit_per_host=0)
        timeout = aiohttp.ClientTimeout(total=cfg.connect_timeout + cfg.read_timeout,
                                        sock_connect=cfg.connect_timeout)
        headers = sender_request_headers()
        left, mark = [WARM + n], [0.0, 0.0]
        async with aiohttp.ClientSession(connector=conn, auto_decompress=False,
                                         cookie_jar=aiohttp.DummyCookieJar(),
                                         headers={"User-Agent": cfg.user_agent}) as session:
            async def loop() -> None:
                while left[0] > 0:
                    left[0] -= 1
                    if left[0] == n:
                        mark[:] = [_cpu(), time.perf_counter()]
                    async with session.post(url, data=BODY, headers=headers,
                                            allow_redirects=False, timeout=timeout) as resp:
                        await resp.read()

            await asyncio.gather(*(loop() for _ in range(CONCURRENCY)))
            cpu1, t1 = _cpu(), time.perf_counter()
        return {"cpu_us": (cpu1 - mark[0]) / n * 1e6, "rate": n / (t1 - mark[1])}

    return asyncio.run(go())


def bare_own_run(url: str, n: int) -> dict[str, float]:
    """``WARM + n`` bare requests on the sender's own client (``_http_client.HttpClient``,
    as a worker makes it: :data:`CONCURRENCY` connections), in :func:`bare_run`'s loop;
    CPU microseconds per request and requests/s from the warm-up mark."""
    from bench_sender import BODY, sender_request_headers
    from hookseal_sender import SenderConfig, tune_gc
    from hookseal_sender._http_client import HttpClient

    tune_gc()

    async def go() -> dict[str, float]:
        cfg = SenderConfig()
        client = HttpClient(cfg.user_agent, connections=CONCURRENCY)
        total = cfg.connect_timeout + cfg.read_timeout
        headers = sender_request_headers()
        left, mark = [WARM + n], [0.0, 0.0]

        async def loop() -> None:
            while left[0] > 0:
                left[0] -= 1
                if left[0] == n:
                    mark[:] = [_cpu(), time.perf_counter()]
                # A fresh dict, as each attempt's signed headers are.
                status, _, _ = await client.post(url, dict(headers), BODY, timeout=total,
                                                 connect_timeout=cfg.connect_timeout,
                                                 allow_local=True)
                assert status == 200, status

        await asyncio.gather(*(loop() for _ in range(CONCURRENCY)))
        cpu1, t1 = _cpu(), time.perf_counter()
        await client.close()
        return {"cpu_us": (cpu1 - mark[0]) / n * 1e6, "rate": n / (t1 - mark[1])}

    return asyncio.run(go())


#: Write-back batch sizes the ``complete`` run cycles through (what 5 and 10 ms of
#: results at 2,500-10,000 deliveries/s make), and the latencies ``metrics`` counts.
BATCHES = tuple((i * 37) % 64 + 1 for i in range(64))


def _filled_store(db: str, n: int) -> tuple[Any, Any]:
    """A sender on ``db`` with ``n`` 1 KiB deliveries due to one endpoint, and its store."""
    from hookseal_sender import Sender, SenderConfig, generate_master_key
    from hookseal_sender.catalog import no_validation
    from hookseal_sender.outbox import enqueue

    sender = Sender(SenderConfig(database=db, master_key=generate_master_key(),
                                 allow_local=True), validator=no_validation)
    ep = sender.create_endpoint("bench", "http://127.0.0.1:9/hook", allow_local=True).endpoint
    store: Any = sender.store
    with store.transaction() as conn:
        for _ in range(n):
            enqueue(store, "bench", "bench.event", {"pad": "x" * 900},
                    validator=no_validation, conn=conn, endpoint_ids=[ep.id])
    return sender, store


def complete_run(db: str, n: int) -> dict[str, float]:
    """The store thread's part of the write-back alone: ``n`` claimed deliveries recorded
    with ``store.complete`` in batches of :data:`BATCHES`; thread CPU microseconds per
    delivery (the client's side; PostgreSQL's own CPU is not in it)."""
    from hookseal_sender.models import Attempt, AttemptResult, Claimed

    sender, store = _filled_store(db, n + WARM)
    now = time.time()
    claimed: list[Claimed] = []
    while len(claimed) < n + WARM:
        claimed += store.claim("bench-worker", 200, now + 1, now + 600)
    headers = {"Content-Type": "text/plain; charset=utf-8", "Content-Length": "2",
               "Date": "Mon, 07 Dec 2026 15:00:00 GMT", "Server": "Python/3.11 aiohttp/3.14"}
    results = [AttemptResult(c.id, c.endpoint_id, Attempt(1, now, 200, None, 1.234, dict(headers),
                                                          "ok", "delivered"), "delivered", None, 1)
               for c in claimed]
    spent, measured, i, k = 0.0, 0, 0, 0
    while i < len(results):
        size = BATCHES[k % len(BATCHES)]
        batch, k = results[i:i + size], k + 1
        t0 = time.thread_time()
        store.complete("bench-worker", batch, time.time())
        if i >= WARM:  # past the warm-up (connections, statements, caches)
            spent += time.thread_time() - t0
            measured += len(batch)
        i += size
    sender.close()
    return {"cpu_us": spent / measured * 1e6, "rate": 0.0}


def claim_run(db: str, n: int) -> dict[str, float]:
    """The store thread's part of claims alone: ``n`` deliveries claimed 12 at a time (what
    a worker's claims bring on one busy endpoint), capped per endpoint as a worker's
    claims are (PostgreSQL: the advisory lock and the cap); thread CPU microseconds per
    delivery (the client's side)."""
    sender, store = _filled_store(db, n + WARM)
    now = time.time()
    spent, measured, taken = 0.0, 0, 0
    while taken < n + WARM:
        t0 = time.thread_time()
        got = store.claim("bench-worker", 12, now + 1, now + 600, [], n + WARM)
        if taken >= WARM:
            spent += time.thread_time() - t0
            measured += len(got)
        taken += len(got)
    sender.close()
    return {"cpu_us": spent / measured * 1e6, "rate": 0.0}


def metrics_run(n: int) -> dict[str, float]:
    """``Metrics.attempt`` for ``n`` attempts over 4 endpoints (1 in 10 a 503), flushed
    every 64 where the tree queues them (as its write-backs do); thread CPU microseconds
    per attempt, the flushes included."""
    from hookseal_sender.metrics import Metrics

    m = Metrics()
    cases = [("t1", f"ep_{i % 4}", "retry" if i % 10 == 0 else "delivered",
              0.001 + (i % 50) / 1000, 503 if i % 10 == 0 else 200, None) for i in range(64)]
    flush = getattr(m, "flush", lambda: None)
    t0 = time.thread_time()
    for _ in range(n // 64):
        for case in cases:
            m.attempt(*case)
        flush()
    spent = time.thread_time() - t0
    m.render()
    return {"cpu_us": spent / (n // 64 * 64) * 1e6, "rate": 0.0}


def child(args: argparse.Namespace) -> int:
    _pin(0)
    sys.path.insert(0, str(HERE))
    if args.child == "bare":
        out = bare_run(args.url, args.n)
    elif args.child == "bare-own":
        out = bare_own_run(args.url, args.n)
    elif args.child == "complete":
        out = complete_run(args.db, args.n)
    elif args.child == "claim":
        out = claim_run(args.db, args.n)
    elif args.child == "metrics":
        out = metrics_run(args.n)
    elif args.child == "no-http":
        out = sender_run(args.db, args.url, args.n, http=False)
    else:
        out = sender_run(args.db, args.url, args.n)
    print(json.dumps(out), flush=True)
    return 0


# the conductor ------------------------------------------------------------------------
def unpack(rev: str, into: Path) -> Path:
    """The sources of ``rev`` (``git archive``), unpacked under ``into``."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, *SOURCES],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def spawn(tree: Optional[Path], *args: str) -> dict[str, float]:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join(str(tree / s) for s in SOURCES)
    done = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"run failed ({' '.join(args[:2])}): {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _db(backend: str, tmp: Path, pg: Any, i: int) -> str:
    return f"sqlite:///{tmp / f'r{i}.db'}" if backend == "sqlite" else str(pg.create_db(f"r{i}"))


def _report_e2e(res: dict[tuple[str, str], list[dict[str, float]]], backends: list[str],
                names: list[str]) -> None:
    for backend in backends:
        own, aio = res[(backend, "bare-own")], res[(backend, "bare")]
        own_cpu = statistics.median(r["cpu_us"] for r in own)
        aio_cpu = statistics.median(r["cpu_us"] for r in aio)
        print(f"{backend}: bare clients: the sender's own {own_cpu:.1f} us CPU per request, "
              f"{statistics.median(r['rate'] for r in own):,.0f}/s; aiohttp {aio_cpu:.1f} us, "
              f"{statistics.median(r['rate'] for r in aio):,.0f}/s (own / aiohttp "
              f"{statistics.median(o['cpu_us'] / a['cpu_us'] for o, a in zip(own, aio)):.2f}x, "
              f"paired by round)")
        for name in names:
            runs = res[(backend, name)]
            cpu = [r["cpu_us"] for r in runs]
            paired = statistics.median(r["cpu_us"] / b["cpu_us"] for r, b in zip(runs, own))
            paired_aio = statistics.median(r["cpu_us"] / b["cpu_us"] for r, b in zip(runs, aio))
            print(f"  {name:<8} {statistics.median(cpu):6.1f} us CPU per delivery "
                  f"(runs {min(cpu):.0f}-{max(cpu):.0f}), {statistics.median(cpu) / own_cpu:.2f}x "
                  f"the bare own client (paired by round {paired:.2f}x), "
                  f"{statistics.median(cpu) / aio_cpu:.2f}x bare aiohttp (paired "
                  f"{paired_aio:.2f}x); {statistics.median(r['rate'] for r in runs):,.0f} "
                  f"deliveries/s")
        for a, b in zip(names, names[1:]):
            ra, rb = res[(backend, a)], res[(backend, b)]
            per_cpu = statistics.median(x["cpu_us"] / y["cpu_us"] for x, y in zip(ra, rb))
            wall = statistics.median(y["rate"] / x["rate"] for x, y in zip(ra, rb))
            print(f"  {b} / {a}: deliveries per sender CPU second {per_cpu:.2f}x, "
                  f"deliveries/s {wall:.2f}x (medians of the rounds' ratios)")
        if (backend, "no-http") in res:
            _report_split(res[(backend, names[-1])], res[(backend, "no-http")], own,
                          names[-1])


def _report_split(sender: list[dict[str, float]], no_http: list[dict[str, float]],
                  bare: list[dict[str, float]], name: str) -> None:
    """Where the sender's CPU per delivery goes: the bare client's share, the drain
    without HTTP, and the overlap (medians of the rounds, each round's runs paired)."""
    def med(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    rest = med(no_http, "cpu_us")
    print(f"  {name} without HTTP: {rest:.1f} us CPU per delivery (event loop "
          f"{med(no_http, 'loop_us'):.1f}, store threads {med(no_http, 'threads_us'):.1f}), "
          f"{med(no_http, 'rate'):,.0f} deliveries/s")
    print(f"  {name} with HTTP: event loop {med(sender, 'loop_us'):.1f} us, store threads "
          f"{med(sender, 'threads_us'):.1f} us per delivery")
    overlap = statistics.median(s["cpu_us"] - b["cpu_us"] - x["cpu_us"]
                                for s, b, x in zip(sender, bare, no_http))
    loop = statistics.median(s["loop_us"] - b["cpu_us"] - x["loop_us"]
                             for s, b, x in zip(sender, bare, no_http))
    threads = statistics.median(s["threads_us"] - x["threads_us"]
                                for s, x in zip(sender, no_http))
    print(f"  split: bare own client {med(bare, 'cpu_us'):.1f} + without HTTP {rest:.1f} + "
          f"overlap {overlap:.1f} us (the overlap on the event loop {loop:.1f}, on the "
          f"store threads {threads:.1f}; medians of the rounds)")


def _report_parts(res: dict[tuple[str, str], list[dict[str, float]]], parts: list[str],
                  names: list[str]) -> None:
    print("the parts alone (thread CPU, one process per run):")
    for part in parts:
        line = []
        for name in names:
            cpu = [r["cpu_us"] for r in res[(part, name)]]
            line.append(f"{name} {statistics.median(cpu):.2f} us (runs {min(cpu):.2f}-{max(cpu):.2f})")
        print(f"  {part}: " + ", ".join(line))
        for a, b in zip(names, names[1:]):
            ratio = statistics.median(y["cpu_us"] / x["cpu_us"]
                                      for x, y in zip(res[(part, a)], res[(part, b)]))
            print(f"    {b} / {a}: {ratio:.2f}x the CPU (median of the rounds' ratios)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 rounds of 3,000")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--deliveries", type=int, help="measured deliveries per run (6,000)")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--only", choices=["e2e", "parts"],
                    help="only the drains against the bare client, or only the parts")
    ap.add_argument("--rev", action="append", default=[], metavar="NAME=REV")
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--decompose", action="store_true",
                    help="also drain without HTTP requests (the last tree) and split the "
                         "sender's CPU into the bare client's, the rest's and the overlap")
    ap.add_argument("--child", choices=["sender", "no-http", "bare", "bare-own", "complete",
                                        "claim", "metrics"],
                    help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    rounds = args.rounds or (2 if args.quick else 5)
    n = args.deliveries or (3000 if args.quick else 6000)
    backends = args.backends.split(",")
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent / "tests"))
    from _pg import PostgresServer
    from bench_sender import start_receiver, stop_services

    tmp = Path(tempfile.mkdtemp(prefix="hookseal-levers-"))
    trees: dict[str, Optional[Path]] = {}
    revs = args.rev if args.rev or args.tree else ["old=915f42b"]
    for spec in revs:
        name, rev = spec.split("=", 1)
        trees[name] = unpack(rev, tmp / name)
    for spec in args.tree or ([] if args.rev else ["new=."]):
        name, path = spec.split("=", 1)
        trees[name] = Path(path).resolve()
    names = list(trees)
    parts = [f"{p} {b}" for p in ("write-back", "claims") for b in backends] + ["metrics"]
    load = os.getloadavg()[0]
    _pin(1)  # the receiver and PostgreSQL (and every backend it forks) on CPU 1
    recv, port = start_receiver()
    pg = PostgresServer().start() if "postgresql" in backends else None
    _pin(0)
    url = f"http://127.0.0.1:{port}/hook"
    print(f"CPU per durable delivery: {', '.join(trees)} and the bare client; "
          f"{n:,} deliveries a run after {WARM}; {rounds} interleaved rounds; sender on "
          f"CPU 0, receiver and PostgreSQL on CPU 1; load average {load:.1f} at the start")
    res: dict[tuple[str, str], list[dict[str, float]]] = {}
    count = iter(range(10**6))
    try:
        for r in range(rounds):
            if args.only != "parts":
                for backend in backends:
                    for name, tree in trees.items():
                        i = next(count)
                        got = spawn(tree, "--child", "sender", "--db", _db(backend, tmp, pg, i),
                                    "--url", url, "--n", str(n))
                        res.setdefault((backend, name), []).append(got)
                        for f in tmp.glob(f"r{i}.db*"):
                            f.unlink()
                    for bare in ("bare", "bare-own"):
                        res.setdefault((backend, bare), []).append(
                            spawn(None, "--child", bare, "--url", url, "--n", str(n)))
                    if args.decompose:
                        i = next(count)
                        # Four times as many: it runs about four times as fast, and
                        # /proc counts thread CPU in ticks of 10 ms.
                        got = spawn(trees[names[-1]], "--child", "no-http", "--db",
                                    _db(backend, tmp, pg, i), "--url", url, "--n", str(4 * n))
                        res.setdefault((backend, "no-http"), []).append(got)
                        for f in tmp.glob(f"r{i}.db*"):
                            f.unlink()
            if args.only != "e2e":
                for backend in backends:
                    for name, tree in trees.items():
                        i = next(count)
                        got = spawn(tree, "--child", "complete", "--db", _db(backend, tmp, pg, i),
                                    "--n", str(n))
                        res.setdefault((f"write-back {backend}", name), []).append(got)
                        i = next(count)
                        got = spawn(tree, "--child", "claim", "--db", _db(backend, tmp, pg, i),
                                    "--n", str(n))
                        res.setdefault((f"claims {backend}", name), []).append(got)
                        for f in tmp.glob("r*.db*"):
                            f.unlink()
                for name, tree in trees.items():
                    res.setdefault(("metrics", name), []).append(
                        spawn(tree, "--child", "metrics", "--n", str(n * 10)))
            print(f"  round {r + 1} of {rounds} done", file=sys.stderr, flush=True)
    finally:
        stop_services(recv, pg, tmp)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if args.only != "parts":
        _report_e2e(res, backends, names)
    if args.only != "e2e":
        _report_parts(res, parts, names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
