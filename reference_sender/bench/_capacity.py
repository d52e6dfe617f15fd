"""The capacity section of ``bench_sender.py`` (``--only capacity``): what one delivery
costs each side, measured in CPU time, and the deliveries/s that predicts.

Worker processes (supervised, as ``hookseal-sender worker`` runs them) drain a queue on
PostgreSQL to the fast receiver. Between a warm-up mark and the end of the run it reads,
from ``/proc``, the CPU time (user + system) of the worker processes, of every
PostgreSQL process and of the receiver, and PostgreSQL's committed transactions
(``pg_stat_database.xact_commit``, the benchmark's own progress reads taken out). CPU time,
not wall-clock rates: on a shared machine the rate moves with the neighbours, the CPU a
delivery costs much less.

The model, from one worker process at full speed (medians of its runs): a worker core
delivers ``1e6 / sender_us`` per second, a PostgreSQL core carries ``1e6 / pg_us``, so
one PostgreSQL core serves ``sender_us / pg_us`` worker cores. ``U``, the share of the
machine's cores that run kept busy, is what a run on this machine can use: the rest is
lost to the pipeline's waits (claims, write-backs) and to the cores' turns between
processes. Only where that run kept its own worker core at least 90 % busy was the
process the limit, not the machine: then ``U`` is 1. With ``N`` processes it predicts
the least of: the machine, ``U * cores * 1e6 / (sender_us + pg_us + receiver_us)``;
PostgreSQL's core, shared with the receiver, ``1e6 / (pg_us + receiver_us)``; and the
workers' own cores, ``N * 1e6 / sender_us``. The 1-process runs made the model; the
2-process runs check it. The first model of this section took all the cores (``U`` = 1)
and read 0.70-0.76x for two processes on an idle machine; it is printed beside it.

One more 1-process run has the receiver answer late (``/lag<ms>/``; a lag meant to hold
the 100 slots at half the full-speed rate): what a delivery costs when its results
come back a few at a time (write-backs of one or two results), not at full speed.
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


def lag_for(rate: float, slots: int = 100) -> int:
    """The receiver's lag, in ms, that holds ``slots`` busy at half of ``rate``."""
    return max(1, round(slots / (rate / 2) * 1000))


def run(db: str, url: str, processes: int, n: int, pg_root: int,
        receiver_pid: int, *, relay: bool = False, lag: int = 0) -> dict[str, float]:
    """Drain ``n`` deliveries (after a warm-up) with ``processes`` worker processes.

    With ``lag``, the receiver answers after that many milliseconds (the model's slower
    point: pass ``lag_for(rate)`` of a full-speed run). With
    ``relay``, the workers reach PostgreSQL and the receiver through the counting
    relay (:mod:`_relay`, a process of its own), which adds the bytes each way and the
    round trips per delivery, and its own CPU per delivery (not the workers'). The
    traffic is counted over the whole run (start-up and warm-up included) and divided by
    every delivery made: a window would catch rows claimed, and sent, before it opened.

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
    path = f"/lag{lag}" if lag else ""
    eps = [sender.create_endpoint("cap", f"{worker_url}{path}/{i}", allow_local=True).endpoint.id
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
    n0 = proxy.counts() if proxy else []
    sup.start_background()
    relay_pid = [proxy.pid] if proxy else []
    try:
        wait(lambda: left() <= n, 120, 0.05)
        workers, pg = sup.pids(), descendants(pg_root)
        x0, reads0, t0 = xacts(), reads, time.perf_counter()
        c0 = (cpu_seconds(workers), cpu_seconds(pg), cpu_seconds([receiver_pid]),
              cpu_seconds(relay_pid))
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
              "xacts": (x1 - x0 - own) / done, "relay": float(relay),
              "lag": float(lag)}
    if proxy is not None:
        (pg0, http0), (pg1, http1) = n0, n1
        every = n + WARM
        result.update(relay_us=us[3], pg_up=(pg1.up - pg0.up) / every,
                      pg_down=(pg1.down - pg0.down) / every,
                      pg_trips=(pg1.trips - pg0.trips) / every,
                      http_up=(http1.up - http0.up) / every,
                      http_down=(http1.down - http0.down) / every,
                      http_trips=(http1.trips - http0.trips) / every)
    return result


class Model:
    """Costs per delivery of one worker process at full speed, and what they predict.

    From the full-speed 1-process runs (medians). ``util`` is the share of ``cores``
    those runs kept busy (all of them when those runs kept their own worker core at least
    90 % busy: then the process bound them, not the machine).

    Args:
        full: The full-speed 1-process runs.
        cores: The machine's cores.
    """

    def __init__(self, full: list[dict[str, float]], cores: int) -> None:
        self.cores = cores
        self.rate, self.sender, self.pg, self.receiver = (
            statistics.median(r[k] for r in full)
            for k in ("rate", "sender_us", "pg_us", "receiver_us"))
        self.process_bound = self.rate * self.sender >= 0.9e6
        self.util = 1.0 if self.process_bound else \
            self.rate * (self.sender + self.pg + self.receiver) / (cores * 1e6)

    def predict(self, processes: int) -> float:
        """Deliveries/s ``processes`` worker processes reach on this machine."""
        machine = self.util * self.cores * 1e6 / (self.sender + self.pg + self.receiver)
        pg = 1e6 / (self.pg + self.receiver)
        workers = processes * 1e6 / self.sender
        return min(machine, pg, workers)


def report(results: list[dict[str, float]], cores: int) -> None:
    """Print each run, the model from the 1-process runs without the relay, its
    predictions, and the traffic the relayed runs counted."""
    for r in results:
        via = " (through the relay)" if r["relay"] else ""
        print(f"[capacity] {r['processes']} worker process(es){via}, {r['deliveries']:,.0f} "
              f"deliveries: {r['rate']:,.0f}/s measured; per delivery: sender "
              f"{r['sender_us']:.0f} us CPU, PostgreSQL {r['pg_us']:.0f} us CPU and "
              f"{r['xacts']:.3f} transactions, receiver {r['receiver_us']:.0f} us CPU")
    plain = [r for r in results if not r["relay"] and not r["lag"]] or results
    ones = [r for r in plain if r["processes"] == 1] or plain
    lagged = [r for r in results if r["lag"] and r["processes"] == 1]
    model = Model(ones, cores)
    print(f"[capacity] model (medians of the full-speed 1-process runs): "
          f"{1e6 / model.sender:,.0f} deliveries/s per worker core, {1e6 / model.pg:,.0f} per "
          f"PostgreSQL core; one PostgreSQL core carries {model.sender / model.pg:.1f}"
          " worker cores; "
          + ("the runs kept their worker core busy: all the cores are usable"
             if model.process_bound else
             f"the runs kept {model.util:.0%} of the {cores} cores busy"))
    for r in plain:
        procs = int(r["processes"])
        predicted = model.predict(procs)
        # The first model: every core usable (U = 1).
        first = min(procs * 1e6 / model.sender,
                    cores * 1e6 / (model.sender + model.pg + model.receiver),
                    1e6 / (model.pg + model.receiver))
        made = ", the model's own kind of run" if procs == 1 else ""
        print(f"[capacity] {procs} process(es) on {cores} cores shared with PostgreSQL and "
              f"the receiver: measured {r['rate']:,.0f}/s; model {predicted:,.0f}/s "
              f"({r['rate'] / predicted:.2f}x{made}), first model {first:,.0f}/s "
              f"({r['rate'] / first:.2f}x); load average {os.getloadavg()[0]:.1f}")
    if lagged:
        slow = {k: statistics.median(r[k] for r in lagged)
                for k in ("rate", "sender_us", "pg_us", "xacts")}
        full_x = statistics.median(r["xacts"] for r in ones)
        print(f"[capacity] 1 process behind a receiver answering late, {slow['rate']:,.0f}/s "
              f"against {model.rate:,.0f}/s: per delivery sender {slow['sender_us']:.0f} us "
              f"({slow['sender_us'] / model.sender:.2f}x full speed), PostgreSQL "
              f"{slow['pg_us']:.0f} us ({slow['pg_us'] / model.pg:.2f}x), "
              f"{slow['xacts']:.3f} transactions ({slow['xacts'] / full_x:.1f}x)")
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
