"""The filters section of bench_sender.py (issue 23): enqueue latency with 100 endpoints
each holding a 5-clause filter against 100 endpoints without filters, in the same run,
and the cost of one filter evaluation."""

from __future__ import annotations

import statistics
import time
import timeit
from typing import Any, Callable

import orjson
from hookseal_sender import Sender, SenderConfig, generate_master_key
from hookseal_sender.catalog import _catalog
from hookseal_sender.filters import compile_filter

ENDPOINTS = 100

#: Five clauses, each reading another field; all hold for the catalog's example, so both
#: stores write the same 100 deliveries per event and only the filters differ.
FIVE_CLAUSES: dict[str, Any] = {
    "/type": {"$eq": "invoice.paid"},
    "/data/invoice/total/amount": {"$gte": 0},
    "/data/invoice/status": {"$in": ["paid", "open"]},
    "/livemode": {"$exists": True},
    "$not": {"/data/invoice/customer_name": {"$eq": "nobody"}},
}


class FanOutStore:
    """A store with :data:`ENDPOINTS` endpoints of one tenant, with or without filters."""

    def __init__(self, db: str, flt: Any, resolve: Callable[..., Any]) -> None:
        self.sender = Sender(SenderConfig(database=db, master_key=generate_master_key()),
                             resolve=resolve)
        for _ in range(ENDPOINTS):
            self.sender.create_endpoint("bench", "https://hooks.example.com/x",
                                        event_types=["invoice.paid"], filter=flt)
        self.data = _catalog().example("invoice.paid")
        for _ in range(50):  # warm up (and compile the filters once)
            assert len(self.sender.send("bench", "invoice.paid", self.data).deliveries) == ENDPOINTS

    def send(self, n: int) -> list[float]:
        lat = []
        for _ in range(n):
            t0 = time.perf_counter()
            self.sender.send("bench", "invoice.paid", self.data)
            lat.append(time.perf_counter() - t0)
        return lat

    def close(self) -> None:
        self.sender.close()


def filter_enqueue(mk: Callable[[str], str], n: int,
                   resolve: Callable[..., Any]) -> tuple[float, float, float]:
    """p50 enqueue with filters and without, and the median of their per-round ratios.

    Rounds of 25 enqueues to each store, the order alternating every round: on a shared
    machine the first of two identical stores measured up to 1.9 times the second within
    one run, so neither store may always go first, and the ratio is taken round by round.

    Args:
        mk: Makes a database URL from a name.
        n: Enqueues per store.
        resolve: The DNS resolver for the endpoints' public URL.

    Returns:
        ``(p50 with filters ms, p50 without ms, median of the rounds' p50 ratios)``.
    """
    plain = FanOutStore(mk("filters_none"), None, resolve)
    filtered = FanOutStore(mk("filters_five"), FIVE_CLAUSES, resolve)
    with_f: list[float] = []
    without: list[float] = []
    ratios: list[float] = []
    try:
        for i in range(max(1, n // 25)):
            if i % 2:
                a, b = filtered.send(25), plain.send(25)
            else:
                b, a = plain.send(25), filtered.send(25)
            with_f += a
            without += b
            ratios.append(statistics.median(a) / statistics.median(b))
    finally:
        plain.close()
        filtered.close()
    return (statistics.median(with_f) * 1e3, statistics.median(without) * 1e3,
            statistics.median(ratios))


def evaluation_cost() -> tuple[float, float]:
    """Microseconds to evaluate the 5-clause filter once, and to parse the envelope (done
    once per event when any endpoint has a filter)."""
    match = compile_filter(FIVE_CLAUSES)
    envelope = {"id": "evt_1", "type": "invoice.paid", "version": 1, "created": 0,
                "livemode": True, "data": _catalog().example("invoice.paid")}
    payload = orjson.dumps(envelope)
    assert match(envelope)
    n = 20_000
    per_eval = min(timeit.repeat(lambda: match(envelope), number=n, repeat=5)) / n * 1e6
    per_parse = min(timeit.repeat(lambda: orjson.loads(payload), number=n, repeat=5)) / n * 1e6
    return per_eval, per_parse
