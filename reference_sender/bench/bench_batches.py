"""Batched against unbatched throughput to one endpoint (``make bench``; issue 23).

One worker drains the same number of 1 KiB events, enqueued beforehand, to one endpoint
on a fast local receiver (its own process, on CPU 1): once with ``batch`` set to 100
events a request, once without. The clock runs from the worker's start until nothing is
left to send (the queue is empty and no batch is live), so claims, gathering, the
requests and every write-back are in it. The two variants run interleaved; the result is
each variant's median events/s and the median of the paired ratios (batched / unbatched).

Expectation (issue 23): several times more events/s with batches of 100.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional

from bench_sender import CONCURRENCY, pin, start_receiver
from hookseal_sender import Sender, SenderConfig, Worker, generate_master_key, tune_gc
from hookseal_sender.catalog import no_validation
from hookseal_sender.outbox import enqueue

#: The batch setting of the batched variant.
BATCH = {"max_events": 100, "max_bytes": 1 << 20, "max_wait": 1.0}
#: What is left to send: queued deliveries and live batches.
LEFT = ("SELECT (SELECT COUNT(*) FROM queue) +"
        " (SELECT COUNT(*) FROM batches WHERE due IS NOT NULL)")


def run(batch: Optional[dict[str, float]], db: str, url: str, n: int) -> float:
    """Events per second of one run: ``n`` events drained by one worker."""
    cfg = SenderConfig(database=db, master_key=generate_master_key(), allow_local=True,
                       global_concurrency=CONCURRENCY, per_endpoint_concurrency=CONCURRENCY,
                       poll_interval=0.01, claim_batch=200)
    sender = Sender(cfg, validator=no_validation)
    ep = sender.create_endpoint("bench", url, allow_local=True, batch=batch).endpoint
    with sender.store.transaction() as conn:
        for _ in range(n):
            enqueue(sender.store, "bench", "bench.event", {"pad": "x" * 900},
                    validator=no_validation, conn=conn, endpoint_ids=[ep.id])

    async def drain() -> float:
        worker = Worker(sender)
        conn: Any = sender.store.conn()  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        task = asyncio.create_task(worker.run())
        while await asyncio.to_thread(lambda: conn.execute(LEFT).fetchone()[0]):
            await asyncio.sleep(0.005)
        took = time.perf_counter() - t0
        worker.stop()
        await task
        return took

    try:
        took = asyncio.run(drain())
        conn: Any = sender.store.conn()  # type: ignore[attr-defined]
        delivered = conn.execute("SELECT COUNT(*) FROM deliveries WHERE status = 'delivered'"
                                 ).fetchone()[0]
        assert delivered == n, f"{delivered} of {n} delivered"
    finally:
        sender.close()
    return n / took


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--events", type=int, help="events per run (default 10000)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 5)")
    args = ap.parse_args()
    n, rounds = (3000, 3) if args.quick else (10_000, 5)
    n, rounds = args.events or n, args.rounds or rounds
    tune_gc()
    print(f"events/s to one endpoint, batches of {BATCH['max_events']:.0f} vs one event a "
          f"request ({pin(0)}, receiver on CPU 1; SQLite; {n:,} 1 KiB events per run; "
          f"medians of {rounds} interleaved rounds)")
    recv, port = start_receiver()
    url = f"http://127.0.0.1:{port}/hook"
    variants: dict[str, Optional[dict[str, float]]] = {"unbatched": None, "batches of 100": BATCH}
    rates: dict[str, list[float]] = {v: [] for v in variants}
    counter = iter(range(10**6))
    try:
        with tempfile.TemporaryDirectory(prefix="hookseal-bench-") as tmp:
            db: Callable[[], str] = lambda: f"sqlite:///{Path(tmp) / str(next(counter))}.db"  # noqa: E731
            for batch in variants.values():  # warm-up: imports, connections, caches
                run(batch, db(), url, 300)
            for _ in range(rounds):
                for v, batch in variants.items():
                    rates[v].append(run(batch, db(), url, n))
                    time.sleep(0.2)
    finally:
        recv.terminate()
        recv.wait()
    for v in variants:
        print(f"  {v:<15} {statistics.median(rates[v]):9,.0f} events/s "
              f"(runs {min(rates[v]):,.0f}-{max(rates[v]):,.0f})")
    ratio = statistics.median(a / b for a, b in zip(rates["batches of 100"], rates["unbatched"]))
    print(f"  batched / unbatched: {ratio:.2f}x (median of paired runs; expected: several "
          f"times)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
