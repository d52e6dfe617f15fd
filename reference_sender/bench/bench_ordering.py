"""Ordered delivery's throughput (``make bench``): one endpoint, events over 1,000 ordering
keys, ordered (``ordering: "per_key"``) against unordered, in the same run.

A worker drains the same enqueued deliveries (1 KiB bodies, ``invoice.paid`` events whose
``/invoice/id`` cycles over the keys) to a fast local receiver in its own process (CPU 1);
variants alternate, and each round's ratio is ordered / unordered. An ordered endpoint has
at most one event per key in flight, so with 1,000 keys and 64 slots it is never short of
work; the cost measured is the claim's check for an earlier event of the key and the
sequence numbers given at enqueue. Target (issue 23): at least 0.7x.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_sender import CONCURRENCY, PostgresServer, pin, start_receiver
from hookseal_sender import Sender, SenderConfig, Worker, generate_master_key, tune_gc
from hookseal_sender.catalog import no_validation
from hookseal_sender.outbox import enqueue

KEYS = 1000


def run(db: str, url: str, n: int, ordered: bool) -> tuple[float, float]:
    """Deliveries/s of one drain, and the enqueue time per event (ms)."""
    cfg = SenderConfig(database=db, master_key=generate_master_key(), allow_local=True,
                       global_concurrency=CONCURRENCY, per_endpoint_concurrency=CONCURRENCY,
                       poll_interval=0.01, claim_batch=200)
    sender = Sender(cfg, validator=no_validation)
    ep = sender.create_endpoint("bench", url, allow_local=True,
                                ordering="per_key" if ordered else None).endpoint
    t0 = time.perf_counter()
    with sender.store.transaction() as conn:
        for i in range(n):
            data = {"invoice": {"id": f"in_{i % KEYS:08d}"}, "pad": "x" * 880}
            enqueue(sender.store, "bench", "invoice.paid", data, validator=no_validation,
                    conn=conn, endpoint_ids=[ep.id])
    enqueue_ms = (time.perf_counter() - t0) / n * 1000

    async def drain() -> float:
        worker = Worker(sender)
        task = asyncio.create_task(worker.run())
        conn: Any = sender.store.conn()  # type: ignore[attr-defined]
        started = time.perf_counter()
        while await asyncio.to_thread(lambda: conn.execute("SELECT COUNT(*) FROM queue")
                                      .fetchone()[0]):
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
        worker.stop()
        await task
        return n / elapsed

    try:
        return asyncio.run(drain()), enqueue_ms
    finally:
        sender.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--events", type=int, help="events per run (default 6000)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 5)")
    args = ap.parse_args()
    n, rounds = (3000, 3) if args.quick else (6000, 5)
    n, rounds = args.events or n, args.rounds or rounds
    tune_gc()
    print(f"ordered delivery ({pin(0)}, receiver on CPU 1): {n:,} events over {KEYS:,} keys to "
          f"one endpoint; medians of {rounds} interleaved rounds")
    recv, port = start_receiver()
    url = f"http://127.0.0.1:{port}/hook"
    counter = iter(range(10**6))
    pg = None
    try:
        with tempfile.TemporaryDirectory(prefix="hookseal-bench-") as tmp:
            dbs = {"sqlite": lambda: f"sqlite:///{Path(tmp) / str(next(counter))}.db"}
            if not args.no_postgres and PostgresServer.missing() is None:
                pin(1)
                try:
                    pg = PostgresServer().start()
                finally:
                    pin(0)
                server = pg
                dbs["postgresql"] = lambda: server.create_db(f"ord{next(counter)}")
            for backend, db in dbs.items():
                run(db(), url, 500, True)  # warm-up
                rates: dict[bool, list[float]] = {True: [], False: []}
                enq: dict[bool, list[float]] = {True: [], False: []}
                for _ in range(rounds):
                    for ordered in (False, True):
                        rate, ms = run(db(), url, n, ordered)
                        rates[ordered].append(rate)
                        enq[ordered].append(ms)
                ratio = statistics.median(o / u for o, u in zip(rates[True], rates[False]))
                print(f"[{backend}] ordered {statistics.median(rates[True]):,.0f}/s, unordered "
                      f"{statistics.median(rates[False]):,.0f}/s: {ratio:.2f}x (target >= 0.7x);"
                      f" enqueue {statistics.median(enq[True]):.3f} ms vs "
                      f"{statistics.median(enq[False]):.3f} ms per event")
    finally:
        recv.terminate()
        recv.wait()
        if pg is not None:
            pg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
