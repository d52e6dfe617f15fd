"""A/B of uvloop as the event loop (issue 25's first CPU lever), for the sender and the
bare client alike, so the ratio between them stays honest.

Not in ``make bench``: uvloop is not a dependency (it was measured and not kept; see
BENCHMARKS.md "Worker processes and capacity"). To repeat the measurement::

    .venv/bin/python -m pip install uvloop   # or: uv pip install --python .venv uvloop
    .venv/bin/python reference_sender/bench/lever_uvloop.py

Each round drains 4,000 1 KiB deliveries through a worker (SQLite, as
``bench_tracing.py`` does) and sends 4,000 bare aiohttp requests at the same concurrency,
once on each loop; CPU time of this process per delivery or request, medians of 5
interleaved rounds, sender pinned to CPU 0 and the receiver to CPU 1.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import sys
import tempfile
from pathlib import Path

import uvloop
from bench_sender import CONCURRENCY, pin, raw_aiohttp, start_receiver
from bench_tracing import run
from hookseal_sender import tune_gc


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bare(url: str, n: int) -> float:
    """CPU microseconds per bare aiohttp request."""
    cpu0 = _cpu()
    asyncio.run(raw_aiohttp(url, n, CONCURRENCY))
    return (_cpu() - cpu0) / n * 1e6


def main() -> int:
    tune_gc()
    print(f"uvloop against asyncio ({pin(0)}, receiver on CPU 1; SQLite; 4,000 a run; "
          "medians of 5 interleaved rounds)")
    recv, port = start_receiver()
    url = f"http://127.0.0.1:{port}/hook"
    res: dict[str, list[float]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="hookseal-bench-") as tmp:
            run("tracing off", f"sqlite:///{Path(tmp) / 'warm.db'}", url, 500)
            for i in range(5):
                for loop in ("asyncio", "uvloop"):
                    asyncio.set_event_loop_policy(
                        uvloop.EventLoopPolicy() if loop == "uvloop" else None)
                    db = f"sqlite:///{Path(tmp) / f'{loop}{i}.db'}"
                    res.setdefault(f"sender {loop}", []).append(run("tracing off", db, url, 4000))
                    res.setdefault(f"bare {loop}", []).append(bare(url, 4000))
    finally:
        asyncio.set_event_loop_policy(None)
        recv.terminate()
        recv.wait()
    med = {k: statistics.median(v) for k, v in res.items()}
    for k, v in res.items():
        print(f"  {k:<16} {med[k]:6.1f} us  (runs {min(v):.0f}-{max(v):.0f})")
    for loop in ("asyncio", "uvloop"):
        print(f"  sender / bare on {loop}: {med[f'sender {loop}'] / med[f'bare {loop}']:.2f}x")
    print(f"  sender uvloop / sender asyncio: {med['sender uvloop'] / med['sender asyncio']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
