"""Portal benchmark: a page of 50 deliveries from a 1,000,000-delivery store vs a small one.

Builds two SQLite stores in a temp dir: a small one (5,000 deliveries made in the last
30 minutes, so that every case below fills its page of 50 there too, the fair baseline
of an "empty" store) and a big one holding 1,000,000 spread over 30 days (bulk-inserted
with executemany in one transaction; 90 % for the measured customer, the rest for
others; statuses 97 % delivered, 2 % failed, 1 % dead-lettered). Then, for each case,
times the portal's tenant-scoped query
(:func:`hookseal_sender.portal.page_deliveries`) and the whole delivery-log page over
HTTP (uvicorn on 127.0.0.1, a keep-alive httpx client: routing, session check, query,
Jinja2 rendering),
and prints the medians and the big/small ratio. The target: the ratio stays near 1.

Run: ``.venv/bin/python reference_sender/bench/bench_portal.py [--rows N] [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from hookseal_sender import Sender, SenderConfig, generate_master_key
from hookseal_sender.api import create_app
from hookseal_sender.models import DeliveryFilter
from hookseal_sender.portal import create_portal, page_deliveries, portal_link
from hookseal_sender.portal.queries import id_at
from starlette.routing import Mount

TENANT = "acme"
ENDPOINTS = [f"ep_bench{i:02d}" for i in range(5)]


def build(path: Path, rows: int, master_key: str,
          span: float = 30 * 86400.0) -> tuple[Sender, float]:
    """A store with ``rows`` deliveries spread over the last ``span`` seconds."""
    sender = Sender(SenderConfig(database=f"sqlite:///{path}", master_key=master_key))
    for eid in ENDPOINTS:  # real endpoints, made the way the portal makes them
        sender.store.conn().execute(  # type: ignore[attr-defined]
            "INSERT INTO endpoints (id, tenant_id, url, profile, header_prefix, signing,"
            " status, created_at, updated_at) VALUES (?, ?, ?, 'hookseal-v1', 'Hookseal',"
            " 'hmac', 'active', ?, ?)", (eid, TENANT, f"https://hooks.example.com/{eid}",
                                         time.time(), time.time()))
    t0 = time.perf_counter()
    now = time.time()
    conn = sender.store.conn()  # type: ignore[attr-defined]
    conn.execute("BEGIN")
    batch: list[tuple[Any, ...]] = []
    for i in range(rows):
        at = now - span + span * i / max(rows, 1)
        r = i % 100
        status = "failed" if r < 2 else "dead_lettered" if r == 2 else "delivered"
        tenant = TENANT if i % 10 else f"other{i % 7}"
        eid = ENDPOINTS[i % len(ENDPOINTS)] if tenant == TENANT else f"ep_{tenant}"
        batch.append((id_at("dlv", at) + os.urandom(8).hex(), tenant, f"evt_{i}", eid,
                      "invoice.paid" if i % 3 else "payment.failed", status, 1,
                      1, None, 200 if status == "delivered" else 503, None, at, at))
        if len(batch) == 50_000:
            conn.executemany(_INSERT, batch)
            batch.clear()
    if batch:
        conn.executemany(_INSERT, batch)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    return sender, time.perf_counter() - t0


_INSERT = (
    "INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type, status,"
    " attempt_count, round_attempts, next_attempt_at, last_status_code, last_error,"
    " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def cases(sender: Sender) -> dict[str, tuple[DeliveryFilter, dict[str, str]]]:
    """Each case: the query's filter and cursor, and the page's query string."""
    ids = [d.id for d in page_deliveries(sender, TENANT, limit=200).deliveries]
    mid = sender.store._read(  # type: ignore[attr-defined]
        "SELECT id FROM deliveries WHERE tenant_id = ? ORDER BY id LIMIT 1 OFFSET ?",
        [TENANT, max(0, _count(sender) // 2)])
    cursor = mid[0][0] if mid else (ids[-1] if ids else "")
    hour = time.time() - 3600
    return {
        "first page": (DeliveryFilter(), {}),
        "deep page (cursor mid-log)": (DeliveryFilter(), {"before": cursor}),
        "one endpoint": (DeliveryFilter(endpoint_id=ENDPOINTS[1]), {"endpoint": ENDPOINTS[1]}),
        "last hour": (DeliveryFilter(since=hour), {"since": str(hour)}),
        "status failed": (DeliveryFilter(status=["failed"]), {"status": "failed"}),
    }


def _count(sender: Sender) -> int:
    rows = sender.store._read(  # type: ignore[attr-defined]
        "SELECT COUNT(*) FROM deliveries WHERE tenant_id = ?", [TENANT])
    return int(rows[0][0])


class _Served:
    """The admin API with the portal on uvicorn (127.0.0.1, an ephemeral port)."""

    def __init__(self, sender: Sender) -> None:
        app = create_app(sender, {}, mounts=[Mount("/portal", app=create_portal(sender))])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                                    log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def _interleaved(fa: Callable[[], Any], fb: Callable[[], Any], runs: int,
                 ) -> tuple[float, float]:
    """Median ms of two calls timed alternately, so load drift hits both alike."""
    for _ in range(20):  # warm up: the servers' worker threads open their connections
        fa()
        fb()
    ta: list[float] = []
    tb: list[float] = []
    for _ in range(runs):
        for fn, times in ((fa, ta), (fb, tb)):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(ta), statistics.median(tb)


def measure(small: Sender, big: Sender, runs: int) -> dict[str, tuple[float, ...]]:
    """Per case: query medians (small, big), page medians (small, big), rows shown."""
    out: dict[str, tuple[float, ...]] = {}
    with _Served(small) as base_a, _Served(big) as base_b, \
            httpx.Client(base_url=base_a) as ca, httpx.Client(base_url=base_b) as cb:
        for sender, client, base in ((small, ca, base_a), (big, cb, base_b)):
            r = client.get(portal_link(sender.config, TENANT, base_url=base).url)
            assert r.status_code == 303 and client.cookies, r.status_code
        ka, kb = cases(small), cases(big)
        for name in ka:
            (fa, qa), (fb, qb) = ka[name], kb[name]

            def query(sender: Sender, flt: DeliveryFilter, q: dict[str, str]) -> Any:
                return page_deliveries(sender, TENANT, flt, limit=50, before=q.get("before"))

            def page(client: httpx.Client, q: dict[str, str]) -> Any:
                resp = client.get("/portal/deliveries", params=q)
                assert resp.status_code == 200, resp.status_code
                return resp

            q_small, q_big = _interleaved(partial(query, small, fa, qa),
                                          partial(query, big, fb, qb), runs)
            p_small, p_big = _interleaved(partial(page, ca, qa), partial(page, cb, qb), runs)
            rows = len(query(big, fb, qb).deliveries)
            out[name] = (q_small, q_big, p_small, p_big, rows)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    key = generate_master_key()
    with tempfile.TemporaryDirectory(prefix="hookseal-portal-bench-") as tmp:
        small, _ = build(Path(tmp) / "small.db", 5_000, key, span=1800.0)
        big, secs = build(Path(tmp) / "big.db", args.rows, key)
        print(f"built a {args.rows:,}-delivery store in {secs:.1f} s "
              f"({args.rows / secs:,.0f} rows/s, executemany in one transaction)")
        result = measure(small, big, args.runs)
        small.close()
        big.close()
    print(f"\nPortal delivery log, page of 50, SQLite, medians ({args.runs} runs "
          f"each, small and big interleaved); small = 5,000 deliveries")
    header = (f"{'case':<28} {'query small':>12} {'query big':>10} {'ratio':>6}  "
              f"{'page small':>11} {'page big':>9} {'ratio':>6}  rows")
    print(header)
    print("-" * len(header))
    worst = 0.0
    for name, (qa, qb, pa, pb, nb) in result.items():
        worst = max(worst, pb / pa)
        print(f"{name:<28} {qa:>10.3f}ms {qb:>8.3f}ms {qb / qa:>6.2f}  {pa:>9.2f}ms "
              f"{pb:>7.2f}ms {pb / pa:>6.2f}  {nb:.0f}")
    print(f"\nworst whole-page ratio big/small: {worst:.2f} (target: about 1); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (pages share them with the "
          "client and uvicorn, so page medians are noisier than query medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
