"""Per-delivery CPU of tracing and endpoint authentication (``make bench``).

A worker drains the same number of 1 KiB deliveries to a fast local receiver (its own
process, on CPU 1) in each variant; the sender's CPU time (``getrusage``, every thread of
this process: the event loop and the store's) is divided by the deliveries. Variants run
interleaved, five rounds by default, and each is reported as the median and as a ratio to
"tracing off" (the default: a ``traceparent`` on every attempt, no tracer provider):

- no traceparent: what an attempt cost before the header (a constant header instead);
- tracing on: OpenTelemetry spans of enqueue, claims and attempts, batched to an exporter
  that drops them (the SDK's own cost, not a network's);
- tracing on, 10 % sampled: the same with ``ParentBased(TraceIdRatioBased(0.1))``, the
  sampler the docs advise at high rates;
- static Authorization: an endpoint with a static ``Authorization`` value.

Targets (issue 24): tracing off costs nothing measurable (no traceparent / off within the
noise), tracing on at most 1.2x.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

from bench_sender import CONCURRENCY, pin, start_receiver
from hookseal_sender import Sender, SenderConfig, Worker, generate_master_key, tune_gc
from hookseal_sender import tracing as tracing_module
from hookseal_sender.catalog import no_validation
from hookseal_sender.outbox import enqueue
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased


class _Drop(SpanExporter):
    """Counts spans and drops them."""

    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        self.spans += len(spans)
        return SpanExportResult.SUCCESS


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(variant: str, db: str, url: str, n: int) -> float:
    """CPU microseconds per delivery of one run of ``variant``."""
    provider = None
    if variant.startswith("tracing on"):
        # "10 % sampled": the documented ratio sampler (the provider's sampler decides
        # once per event whether its trace is recorded).
        sampler = ParentBased(TraceIdRatioBased(0.1)) if "sampled" in variant else None
        provider = TracerProvider(sampler=sampler)
        provider.add_span_processor(BatchSpanProcessor(_Drop(), max_queue_size=1 << 16))
    cfg = SenderConfig(database=db, master_key=generate_master_key(), allow_local=True,
                       global_concurrency=CONCURRENCY, per_endpoint_concurrency=CONCURRENCY,
                       poll_interval=0.01, claim_batch=200)
    sender = Sender(cfg, validator=no_validation, tracer_provider=provider)
    auth = {"type": "static", "authorization": "Bearer " + "t" * 40} \
        if variant == "static Authorization" else None
    ep = sender.create_endpoint("bench", url, allow_local=True, auth=auth).endpoint
    with sender.store.transaction() as conn:
        for _ in range(n):
            enqueue(sender.store, "bench", "bench.event", {"pad": "x" * 900},
                    validator=no_validation, conn=conn, endpoint_ids=[ep.id])
    original = tracing_module.Tracing.attempt
    if variant == "no traceparent":
        fixed = tracing_module._AttemptSpan("00-" + "1" * 32 + "-" + "2" * 16 + "-01", None)
        tracing_module.Tracing.attempt = lambda self, c: fixed  # type: ignore[method-assign]

    async def drain() -> float:
        worker = Worker(sender)
        task = asyncio.create_task(worker.run())
        conn: Any = sender.store.conn()  # type: ignore[attr-defined]
        cpu0 = _cpu()
        while await asyncio.to_thread(lambda: conn.execute("SELECT COUNT(*) FROM queue")
                                      .fetchone()[0]):
            await asyncio.sleep(0.01)
        used = _cpu() - cpu0
        worker.stop()
        await task
        return used

    try:
        used = asyncio.run(drain())
    finally:
        tracing_module.Tracing.attempt = original  # type: ignore[method-assign]
        sender.close()
        if provider is not None:
            provider.shutdown()
    return used / n * 1e6


def span_floor(rounds: int = 7, n: int = 5000) -> tuple[float, float]:
    """The OpenTelemetry SDK's own cost of a bare span (start and end, no attribute), in
    microseconds of thread CPU: in a tight loop, and between other work (a JSON round trip,
    an HMAC, two SQLite statements, a URL, a date and a pattern), as an attempt's span runs
    in a worker between everything else a delivery does."""
    import email.utils
    import hashlib
    import hmac
    import json
    import re
    import sqlite3
    import urllib.parse

    tracer = TracerProvider().get_tracer("floor")
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (a, b)")
    body = {"id": "evt_1", "type": "bench.event", "data": {"pad": "x" * 900}}

    def other_work() -> None:
        text = json.dumps(body)
        json.loads(text)
        hmac.new(b"k" * 32, text.encode(), hashlib.sha256).hexdigest()
        db.execute("INSERT INTO t VALUES (?, ?)", (1, text))
        db.execute("SELECT COUNT(*) FROM t").fetchone()
        urllib.parse.urlsplit("http://127.0.0.1:8080/hook?x=1")
        email.utils.formatdate()
        re.match(r"^00-([0-9a-f]{32})", "00-" + "a" * 32)

    hot: list[float] = []
    cold: list[float] = []
    for _ in range(rounds):
        t0 = time.thread_time_ns()
        for _ in range(n):
            tracer.start_span("s").end()
        hot.append((time.thread_time_ns() - t0) / n / 1000)
        spent = 0
        for _ in range(n):
            other_work()
            t1 = time.thread_time_ns()
            tracer.start_span("s").end()
            spent += time.thread_time_ns() - t1
        cold.append(spent / n / 1000)
    return statistics.median(hot), statistics.median(cold)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--deliveries", type=int, help="deliveries per run (default 4000)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 5)")
    args = ap.parse_args()
    n, rounds = (1500, 3) if args.quick else (4000, 5)
    n, rounds = args.deliveries or n, args.rounds or rounds
    tune_gc()
    print(f"sender CPU per delivery ({pin(0)}, receiver on CPU 1; SQLite; {n:,} deliveries "
          f"per run; medians of {rounds} interleaved rounds)")
    recv, port = start_receiver()
    url = f"http://127.0.0.1:{port}/hook"
    variants = ["tracing off", "no traceparent", "tracing on", "tracing on, 10 % sampled",
                "static Authorization"]
    cpu: dict[str, list[float]] = {v: [] for v in variants}
    counter = iter(range(10**6))
    try:
        with tempfile.TemporaryDirectory(prefix="hookseal-bench-") as tmp:
            db: Callable[[], str] = lambda: f"sqlite:///{Path(tmp) / str(next(counter))}.db"  # noqa: E731
            run("tracing off", db(), url, 500)  # warm-up: imports, connections, caches
            for _ in range(rounds):
                for v in variants:
                    cpu[v].append(run(v, db(), url, n))
                    time.sleep(0.2)
    finally:
        recv.terminate()
        recv.wait()
    base = statistics.median(cpu["tracing off"])
    for v in variants:
        m = statistics.median(cpu[v])
        paired = statistics.median(a / b for a, b in zip(cpu[v], cpu["tracing off"]))
        print(f"  {v:<26} {m:7.1f} us/delivery  {paired:.2f}x tracing off "
              f"(runs {min(cpu[v]):.0f}-{max(cpu[v]):.0f})")
    print(f"targets: no traceparent / off within noise; tracing on <= 1.2x off "
          f"(base {base:.1f} us)")
    hot, cold = span_floor()
    print(f"the SDK's bare span (start and end): {hot:.1f} us in a tight loop, {cold:.1f} us "
          f"between other work (medians of 7 x 5,000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
