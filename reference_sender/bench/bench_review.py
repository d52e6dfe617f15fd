"""Health review benchmark (``make bench``): ``hookseal-sender review`` over 1,000,000
deliveries, against the floor of reading the same attempt rows and doing nothing with them.

The history (90 days, 50 tenants, 100 endpoints, about 5 % retried, 3 dead endpoints) is
written straight into the store by ``tests/_history.py``. Each round times the review
(``collect`` + ``render_html``, as the command runs them) and the bare read back to back;
the ratio is the median of the rounds' ratios. Target: under a minute. ``--quick`` makes
100,000 deliveries for a smoke run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hookseal_sender import Sender, SenderConfig, generate_master_key
from hookseal_sender.review import collect, render_html

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from _history import generate  # noqa: E402
from _pg import PostgresServer  # noqa: E402

DAYS = 90
TARGET = 60.0


async def _public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]  # the SSRF re-check's DNS: no network in a benchmark


def bare_read(sender: Sender, since: float, until: float) -> float:
    """Seconds to read the rows the review's one pass reads, doing nothing with them."""
    store: Any = sender.store
    t0 = time.perf_counter()
    rows = store._exec(store.conn(), "SELECT d.endpoint_id, a.at, a.number, a.outcome,"
                       " a.status_code, a.latency_ms FROM attempts a JOIN deliveries d"
                       " ON d.id = a.delivery_id WHERE a.at >= ? AND a.at < ?", [since, until])
    for _ in rows:
        pass
    return time.perf_counter() - t0


def review_once(sender: Sender, now: float) -> tuple[float, int]:
    t0 = time.perf_counter()
    review = collect(sender, DAYS * 86400.0, now=now, resolve=_public)
    html = render_html(review)
    assert html.startswith("<!doctype html>")
    return time.perf_counter() - t0, review.deliveries


def run(backend: str, db: str, n: int, rounds: int) -> None:
    sender = Sender(SenderConfig(database=db, master_key=generate_master_key()),
                    resolve=_public)
    try:
        now = time.time()
        t0 = time.perf_counter()
        generate(sender, n, now=now, days=DAYS)
        store: Any = sender.store
        if store.dialect == "postgresql":
            store.conn().execute("VACUUM ANALYZE")
        print(f"[{backend}] history of {n:,} deliveries written in "
              f"{time.perf_counter() - t0:.0f} s")
        times, floors, ratios = [], [], []
        for _ in range(rounds):
            took, seen = review_once(sender, now)
            floor = bare_read(sender, now - DAYS * 86400.0, now)
            assert seen == n, (seen, n)
            times.append(took)
            floors.append(floor)
            ratios.append(took / floor)
        median = statistics.median(times)
        verdict = "under" if median < TARGET else "OVER"
        print(f"[{backend}] review of {n:,} deliveries ({DAYS} days): median {median:.1f} s "
              f"of {rounds} runs ({verdict} the {TARGET:.0f} s target); bare read of its "
              f"attempt rows {statistics.median(floors):.1f} s; review / bare read "
              f"{statistics.median(ratios):.2f}x")
    finally:
        sender.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="100,000 deliveries")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--deliveries", type=int, help="history size (default 1,000,000)")
    args = ap.parse_args()
    n = args.deliveries or (100_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory(prefix="hookseal-review-bench-") as tmp:
        run("sqlite", f"sqlite:///{Path(tmp) / 'review.db'}", n, args.rounds)
    if not args.no_postgres:
        if PostgresServer.missing() is None:
            pg = PostgresServer().start()
            try:
                run("postgresql", pg.create_db("review"), n, args.rounds)
            finally:
                pg.stop()
        else:
            print("PostgreSQL binaries missing: PostgreSQL rows skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
