"""The portal's tenant-scoped queries: cursor paging, time ranges, endpoint health."""

from __future__ import annotations

import os
import time

import pytest
from hookseal_sender import Sender
from hookseal_sender.config import BreakerPolicy
from hookseal_sender.models import Attempt, AttemptResult, DeliveryFilter
from hookseal_sender.portal.queries import (
    derive_breaker,
    endpoint_health,
    id_at,
    page_deliveries,
)

NOW = time.time()


def add(sender: Sender, tenant: str, endpoint: str, at: float, n: int = 1,
        event_type: str = "invoice.paid") -> list[str]:
    """``n`` deliveries created at ``at`` (ids carry that time, like real ones)."""
    ids = []
    with sender.store.transaction() as conn:
        for _ in range(n):
            did = id_at("dlv", at) + os.urandom(8).hex()
            sender.store.insert_event(conn, id_at("evt", at) + os.urandom(8).hex(), tenant,
                                      event_type, "{}", [(did, endpoint)], at)
            ids.append(did)
    return ids


def attempt(sender: Sender, did: str, endpoint: str, at: float, status: int | None,
            outcome: str, latency: float) -> None:
    """Record an attempt of a delivery the way a worker does."""
    with sender.store.transaction() as conn:
        conn.execute(sender.store._q(  # type: ignore[attr-defined]
            "UPDATE queue SET lease_owner = 't' WHERE delivery_id = ?"),
            (did,))
    sender.store.complete("t", [AttemptResult(did, endpoint, Attempt(
        number=1, at=at, status_code=status, error=None if status else "timeout",
        latency_ms=latency, outcome=outcome), "delivered", None, 1)], at)


def test_pages_walk_both_ways_and_stay_in_the_tenant(sender: Sender) -> None:
    ids = []
    for i in range(23):
        ids += add(sender, "alice", "ep_a", NOW - 1000 + i)
    add(sender, "bob", "ep_b", NOW - 500, n=5)
    newest_first = sorted(ids, reverse=True)
    seen, cursor, pages = [], None, []
    while True:
        page = page_deliveries(sender, "alice", limit=10, before=cursor)
        pages.append(page)
        seen += [d.id for d in page.deliveries]
        assert all(d.tenant_id == "alice" for d in page.deliveries)
        if page.older is None:
            break
        cursor = page.older
    assert seen == newest_first and [len(p.deliveries) for p in pages] == [10, 10, 3]
    assert pages[0].newer is None and pages[1].newer == newest_first[10]
    # Back from the last page: "newer" gives the previous page exactly.
    back = page_deliveries(sender, "alice", limit=10, after=pages[2].newer)
    assert [d.id for d in back.deliveries] == newest_first[10:20]
    assert back.newer == newest_first[10] and back.older == newest_first[19]
    first = page_deliveries(sender, "alice", limit=10, after=back.newer)
    assert [d.id for d in first.deliveries] == newest_first[:10] and first.newer is None
    # Another tenant's cursor or endpoint shows nothing of it.
    assert page_deliveries(sender, "alice", DeliveryFilter(endpoint_id="ep_b")).deliveries == []
    assert len(page_deliveries(sender, "bob", limit=50).deliveries) == 5


def test_filters_and_time_ranges(sender: Sender) -> None:
    old = add(sender, "alice", "ep_a", NOW - 3 * 86400, n=2)
    mid = add(sender, "alice", "ep_a", NOW - 3600, n=3, event_type="payment.failed")
    new = add(sender, "alice", "ep_c", NOW - 10, n=4)

    def ids(**kw: object) -> set[str]:
        return {d.id for d in page_deliveries(sender, "alice", DeliveryFilter(**kw),  # type: ignore[arg-type]
                                              limit=200).deliveries}

    assert ids(since=NOW - 7200) == set(mid + new)
    assert ids(since=NOW - 7200, until=NOW - 60) == set(mid)
    assert ids(until=NOW - 86400) == set(old)
    assert ids(endpoint_id="ep_c") == set(new)
    assert ids(event_type="payment.failed") == set(mid)
    assert ids(status=["pending"]) == set(old + mid + new)
    assert ids(status=["failed"]) == set()
    assert ids(since=NOW + 60) == set()


def test_endpoint_health_over_the_last_day(sender: Sender) -> None:
    ok = add(sender, "alice", "ep_a", NOW - 600, n=4)
    for i, did in enumerate(ok):
        status, outcome = (200, "delivered") if i < 3 else (503, "retry")
        attempt(sender, did, "ep_a", NOW - 500 + i, status, outcome, 10.0 * (i + 1))
    stale = add(sender, "alice", "ep_a", NOW - 2 * 86400)[0]
    attempt(sender, stale, "ep_a", NOW - 2 * 86400, 500, "retry", 999.0)
    health = endpoint_health(sender, "alice", ["ep_a", "ep_none"], now=NOW)
    h = health["ep_a"]
    assert (h.attempts, h.delivered) == (4, 3)
    assert h.success_rate == pytest.approx(0.75)
    assert h.latency_p50_ms == pytest.approx(25.0)
    assert h.latency_p95_ms is not None and 35.0 < h.latency_p95_ms <= 40.0
    assert h.breaker == "closed" and h.last_attempt_at == pytest.approx(NOW - 497)
    empty = health["ep_none"]
    assert (empty.attempts, empty.success_rate, empty.latency_p50_ms, empty.breaker) == (
        0, None, None, "closed")
    # Another tenant asking about the same endpoint id gets no figures.
    assert endpoint_health(sender, "bob", ["ep_a"], now=NOW)["ep_a"].attempts == 0


def test_breaker_state_follows_the_workers_policy() -> None:
    policy = BreakerPolicy(window=10, min_samples=4, failure_ratio=0.5, open_seconds=60)
    failing = [(NOW - i, "retry") for i in range(5)]
    assert derive_breaker([], policy, NOW) == "closed"
    assert derive_breaker(failing, policy, NOW) == "open"
    assert derive_breaker(failing, policy, NOW + 61) == "half_open"
    assert derive_breaker(failing[:3], policy, NOW) == "closed"  # too few samples
    assert derive_breaker([(NOW, "delivered"), *failing], policy, NOW) == "closed"  # probe ok
    mostly_ok = [(NOW, "retry")] + [(NOW - i, "delivered") for i in range(1, 8)]
    assert derive_breaker(mostly_ok, policy, NOW) == "closed"
