"""Portal figures benchmark: the delivery log's figures (last 7 days) and an endpoint
card's (last 24 h) on a 1,000,000-delivery store, against the floor of reading the same
rows and doing nothing with them.

The history (30 days, 50 tenants, 100 endpoints, about 5 % retried, 3 dead endpoints,
some tenants far busier than others) is written straight into the store by
``tests/_history.py``. The measured customer is the busiest one. Each round times
:meth:`Store.delivery_figures` (as the log page calls it, through
:func:`hookseal_sender.portal.queries.log_figures`), :func:`endpoint_health` for that
customer's busiest endpoint, and the bare reads, alternately; medians and the ratio to
the floor are printed. ``--quick`` makes 100,000 deliveries.

Run: ``.venv/bin/python reference_sender/bench/bench_portal_figures.py [--quick]
[--no-postgres] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hookseal_sender import Sender, SenderConfig, generate_master_key
from hookseal_sender.models import id_at
from hookseal_sender.portal.queries import DAY, WEEK, endpoint_health, log_figures

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from _history import generate  # noqa: E402
from _pg import PostgresServer  # noqa: E402

DAYS = 30


async def _public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]  # the endpoints' SSRF check: no DNS in a benchmark


def _busiest(sender: Sender, now: float) -> tuple[str, str, int, int]:
    """The tenant with most deliveries this week, its busiest endpoint, and their counts."""
    store: Any = sender.store
    week = id_at("dlv", now - WEEK - 60)
    tenant, n = store._read("SELECT tenant_id, COUNT(*) FROM deliveries WHERE id >= ?"
                            " GROUP BY tenant_id ORDER BY COUNT(*) DESC LIMIT 1", [week])[0]
    endpoint, m = store._read("SELECT endpoint_id, COUNT(*) FROM deliveries WHERE tenant_id = ?"
                              " AND id >= ? GROUP BY endpoint_id ORDER BY COUNT(*) DESC LIMIT 1",
                              [tenant, id_at("dlv", now - DAY - 60)])[0]
    return tenant, endpoint, int(n), int(m)


def floor_week(sender: Sender, tenant: str, now: float) -> Any:
    """Read every row the week's figures look at (each delivery with its attempts, in the
    store's one pass), doing nothing with them."""
    store: Any = sender.store
    params = [tenant, id_at("dlv", now - WEEK - 60), id_at("dlv", now + 60), now - WEEK, now]
    for _ in store._stream(
            "SELECT d.id, d.status, d.attempt_count, d.created_at, a.outcome, a.status_code,"
            " a.error, a.latency_ms, a.at FROM deliveries d LEFT JOIN attempts a"
            " ON a.delivery_id = d.id WHERE d.tenant_id = ? AND d.id >= ? AND d.id < ?"
            " AND d.created_at >= ? AND d.created_at < ? ORDER BY d.id DESC", params):
        pass


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000.0


def run(backend: str, db: str, n: int, rounds: int) -> None:
    """Build the history in ``db`` and print the medians."""
    sender = Sender(SenderConfig(database=db, master_key=generate_master_key()),
                    resolve=_public)
    try:
        now = time.time()
        t0 = time.perf_counter()
        generate(sender, n, now=now, days=DAYS)
        built = time.perf_counter() - t0
        sender.store.conn().execute("ANALYZE")  # type: ignore[attr-defined]
        tenant, endpoint, week_n, day_n = _busiest(sender, now)
        cases = {
            "log figures (7 d)": (lambda: log_figures(sender, tenant, now=now),
                                  lambda: floor_week(sender, tenant, now)),
            "endpoint card (24 h)": (
                lambda: endpoint_health(sender, tenant, [endpoint], now=now), None),
        }
        times: dict[str, list[float]] = {k: [] for k in cases}
        floors: list[float] = []
        for fn, fl in cases.values():  # warm the caches once
            fn()
            if fl:
                fl()
        for _ in range(rounds):
            for name, (fn, fl) in cases.items():
                times[name].append(_timed(fn))
                if fl:
                    floors.append(_timed(fl))
        figures = log_figures(sender, tenant, now=now)
        print(f"\n{backend}: {n:,} deliveries over {DAYS} days (built in {built:.0f} s); "
              f"busiest customer {tenant}: {week_n:,} deliveries this week "
              f"({figures.attempts.attempts:,} attempts), busiest endpoint {day_n:,} "
              f"deliveries in the last day; medians of {rounds} rounds")
        floor = statistics.median(floors)
        print(f"  {'bare read of the week rows (floor)':<36} {floor:9.1f} ms")
        for name, values in times.items():
            med = statistics.median(values)
            ratio = f"  {med / floor:5.2f}x the floor" if cases[name][1] else ""
            print(f"  {name:<36} {med:9.1f} ms{ratio}")
    finally:
        sender.close()


def main() -> int:
    """Run the benchmark on SQLite, then PostgreSQL if a server can be started."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100,000 deliveries")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--deliveries", type=int, help="history size (default 1,000,000)")
    args = ap.parse_args()
    n = args.deliveries or (100_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory(prefix="hookseal-figures-bench-") as tmp:
        run("sqlite", f"sqlite:///{Path(tmp) / 'figures.db'}", n, args.rounds)
    if not args.no_postgres and not PostgresServer.missing():
        server = PostgresServer().start()
        try:
            run("postgresql", server.create_db("figures_bench"), n, args.rounds)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
