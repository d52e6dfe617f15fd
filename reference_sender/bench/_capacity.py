"""The capacity section of ``bench_sender.py`` (``--only capacity``): what one delivery
costs each side, measured in CPU time, and the deliveries/s that predicts.

Worker processes (supervised, as ``hookseal-sender worker`` runs them) drain a queue on
PostgreSQL to the fast receiver. Between a warm-up mark and the end of the run it reads,
from ``/proc``, the CPU time (user + system) of the worker processes, of every
PostgreSQL process and of the receiver, and PostgreSQL's committed transactions
(``pg_stat_database.xact_commit``, the benchmark's own progress reads taken out). CPU time,
not wall-clock rates: on a shared machine the rate moves with the neighbours, the CPU a
delivery costs much less.

The model: a worker core delivers ``1e6 / sender_us`` per second, a PostgreSQL core
carries ``1e6 / pg_us``, so one PostgreSQL core serves ``sender_us / pg_us`` worker
cores. On one machine where the workers, PostgreSQL and the receiver share ``cores``,
the prediction is ``min(processes * 1e6 / sender_us, cores * 1e6 / total_us,
1e6 / (pg_us + receiver_us))`` (PostgreSQL and the receiver are pinned to one CPU, the
workers are not), against the rate measured.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from _relay import Relay
from hookseal_sender import Sender, SenderConfig, generate_master_key
from hookseal_sender.catalog import no_validation
from hookseal_sender.outbox import enqueue
from hookseal_sender.supervisor import Supervisor

TICK = os.sysconf("SC_CLK_TCK")
ENDPOINTS = 64
WARM = 1000

CHILD = """
import asyncio, os, sys
os.sched_setaffinity(0, range(os.cpu_count()))  # the bench pins itself to CPU 0: not its workers
from hookseal_sender import Sender, SenderConfig
from hookseal_sender._worker_process import deliver_until_stopped
from hookseal_sender.worker import tune_gc
tune_gc()
cfg = SenderConfig(database=sys.argv[1], master_key=sys.argv[2], allow_local=True,
                   claim_batch=200)  # the default poll interval, as deployed
asyncio.run(deliver_until_stopped(Sender(cfg)))
"""


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()  # fields from 3 (state) on


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of ``pids`` (those still running)."""
    total = 0
    for pid in pids:
        try:
            fields = _stat(pid)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def descendants(root: int) -> list[int]:
    """``root`` and every process under it."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent[int(entry)] = int(_stat(int(entry))[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        for child, ppid in parent.items():
            if ppid == p and child not in found:
                found.add(child)
                frontier.append(child)
    return sorted(found)


def _with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.replace(f":{parts.port}", f":{port}")).geturl()


def run(db: str, url: str, processes: int, n: int, pg_root: int,
        receiver_pid: int, *, relay: bool = False) -> dict[str, float]:
    """Drain ``n`` deliveries (after a warm-up) with ``processes`` worker processes.

    With ``relay``, the workers reach PostgreSQL and the receiver through the counting
    relay (:mod:`_relay`, a process of its own), which adds the bytes each way and the
    round trips per delivery, and its own CPU per delivery (not the workers').

    Returns:
        The measured costs per delivery and the rate.
    """
    key = generate_master_key()
    sender = Sender(SenderConfig(database=db, master_key=key, allow_local=True),
                    validator=no_validation)
    proxy: Optional[Relay] = None
    worker_db, worker_url = db, url
    if relay:
        pg_port, http_port = urlsplit(db).port, urlsplit(url).port
        assert pg_port is not None and http_port is not None
        proxy = Relay([pg_port, http_port])
        worker_db, worker_url = _with_port(db, proxy.ports[0]), _with_port(url, proxy.ports[1])
    eps = [sender.create_endpoint("cap", f"{worker_url}/{i}", allow_local=True).endpoint.id
           for i in range(ENDPOINTS)]
    with sender.store.transaction() as conn:
        for i in range(n + WARM):
            enqueue(sender.store, "cap", "bench.event", {"pad": "x" * 900},
                    validator=no_validation, conn=conn, endpoint_ids=[eps[i % ENDPOINTS]])
    conn: Any = sender.store.conn()  # type: ignore[attr-defined]
    dbname = conn.execute("SELECT current_database()").fetchone()[0]
    reads = 0

    def left() -> int:
        nonlocal reads
        reads += 1
        return int(conn.execute("SELECT count(*) FROM queue").fetchone()[0])

    def xacts() -> int:
        nonlocal reads
        reads += 1
        return int(conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = %s",
                                [dbname]).fetchone()[0])

    def wait(pred: Callable[[], bool], timeout: float, interval: float) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise TimeoutError("capacity run did not finish")
            time.sleep(interval)

    sup = Supervisor(lambda i: [sys.executable, "-c", CHILD, worker_db, key], processes)
    sup.start_background()
    relay_pid = [proxy.pid] if proxy else []
    try:
        wait(lambda: left() <= n, 120, 0.05)
        workers, pg = sup.pids(), descendants(pg_root)
        x0, reads0, t0 = xacts(), reads, time.perf_counter()
        c0 = (cpu_seconds(workers), cpu_seconds(pg), cpu_seconds([receiver_pid]),
              cpu_seconds(relay_pid))
        n0 = proxy.counts() if proxy else []
        done0 = n - left()
        # Few progress reads while measuring: each counts the queue, PostgreSQL work that
        # is the benchmark's, not the workers' (every 0.5 s: a few us a delivery).
        wait(lambda: left() == 0, 600, 0.5)
        t1 = time.perf_counter()
        c1 = (cpu_seconds(workers), cpu_seconds(pg), cpu_seconds([receiver_pid]),
              cpu_seconds(relay_pid))
        n1 = proxy.counts() if proxy else []
        x1 = xacts()
        done = n - done0
        own = reads - reads0  # this benchmark's progress reads: not the workers'
    finally:
        sup.stop()
        sup.join(60)
        sender.close()
        if proxy is not None:
            proxy.close()
    us = [(b - a) * 1e6 / done for a, b in zip(c0, c1)]
    result = {"processes": processes, "deliveries": done, "rate": done / (t1 - t0),
              "sender_us": us[0], "pg_us": us[1], "receiver_us": us[2],
              "xacts": (x1 - x0 - own) / done, "relay": float(relay)}
    if proxy is not None:
        (pg0, http0), (pg1, http1) = n0, n1
        result.update(relay_us=us[3], pg_up=(pg1.up - pg0.up) / done,
                      pg_down=(pg1.down - pg0.down) / done,
                      pg_trips=(pg1.trips - pg0.trips) / done,
                      http_up=(http1.up - http0.up) / done,
                      http_down=(http1.down - http0.down) / done,
                      http_trips=(http1.trips - http0.trips) / done)
    return result


def report(results: list[dict[str, float]], cores: int) -> None:
    """Print each run, the model from the 1-process runs without the relay, its
    predictions, and the traffic the relayed runs counted."""
    for r in results:
        via = " (through the relay)" if r["relay"] else ""
        print(f"[capacity] {r['processes']} worker process(es){via}, {r['deliveries']:,.0f} "
              f"deliveries: {r['rate']:,.0f}/s measured; per delivery: sender "
              f"{r['sender_us']:.0f} us CPU, PostgreSQL {r['pg_us']:.0f} us CPU and "
              f"{r['xacts']:.3f} transactions, receiver {r['receiver_us']:.0f} us CPU")
    plain = [r for r in results if not r["relay"]] or results
    ones = [r for r in plain if r["processes"] == 1] or plain
    s, p, rx = (statistics.median(r[k] for r in ones)
                for k in ("sender_us", "pg_us", "receiver_us"))
    print(f"[capacity] model (medians of the 1-process runs): {1e6 / s:,.0f} deliveries/s per "
          f"worker core, {1e6 / p:,.0f} per PostgreSQL core; one PostgreSQL core carries "
          f"{s / p:.1f} worker cores")
    for r in plain:
        # PostgreSQL and the receiver are pinned to one CPU; the workers may use all.
        predicted = min(r["processes"] * 1e6 / s, cores * 1e6 / (s + p + rx), 1e6 / (p + rx))
        print(f"[capacity] {r['processes']} process(es) on {cores} cores shared with "
              f"PostgreSQL and the receiver: predicted {predicted:,.0f}/s, measured "
              f"{r['rate']:,.0f}/s ({r['rate'] / predicted:.2f}x); load average "
              f"{os.getloadavg()[0]:.1f}")
    relayed = [r for r in results if r["relay"]]
    for r in relayed:
        print(f"[capacity] traffic per delivery, {r['processes']} process(es) (relay): "
              f"PostgreSQL {r['pg_up']:,.0f} B sent, {r['pg_down']:,.0f} B received, "
              f"{r['pg_trips']:.3f} round trips; receiver {r['http_up']:,.0f} B sent, "
              f"{r['http_down']:,.0f} B received, {r['http_trips']:.3f} round trips; "
              f"the relay's own CPU {r['relay_us']:.0f} us")
    for procs in sorted({int(r["processes"]) for r in relayed}):
        with_relay = [r["sender_us"] for r in relayed if r["processes"] == procs]
        without = [r["sender_us"] for r in plain if r["processes"] == procs and not r["relay"]]
        if with_relay and without:
            print(f"[capacity] the relay and the workers' CPU, {procs} process(es): "
                  f"{statistics.median(with_relay):.0f} us a delivery through it, "
                  f"{statistics.median(without):.0f} us without "
                  f"({statistics.median(with_relay) / statistics.median(without):.2f}x)")
