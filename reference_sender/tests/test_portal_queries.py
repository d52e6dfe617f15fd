"""The portal's tenant-scoped queries: cursor paging, time ranges, endpoint health."""

from __future__ import annotations

import os
import statistics
import time

import pytest
from hookseal_sender import Sender
from hookseal_sender.config import BreakerPolicy
from hookseal_sender.models import Attempt, AttemptResult, DeliveryFilter
from hookseal_sender.portal.queries import (
    FiguresCache,
    derive_breaker,
    endpoint_health,
    id_at,
    page_deliveries,
)
from hookseal_sender.storage._log import id_time_span, prefix_end
from hookseal_sender.storage.base import FailureCount

from ._history import History

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


def test_endpoint_counts_are_reused_for_a_minute_and_the_breaker_is_not(sender: Sender) -> None:
    from hookseal_sender.portal.queries import TTLCache

    did = add(sender, "alice", "ep_a", NOW - 600)[0]
    attempt(sender, did, "ep_a", NOW - 500, 200, "delivered", 10.0)
    fresh = TTLCache(60.0, min_cost=60.0)  # nothing here takes a minute: never kept
    cache = TTLCache(60.0)
    assert endpoint_health(sender, "alice", ["ep_a"], now=NOW, cache=cache)["ep_a"].attempts == 1
    assert endpoint_health(sender, "alice", ["ep_a"], now=NOW, cache=fresh)["ep_a"].attempts == 1
    more = add(sender, "alice", "ep_a", NOW - 300)[0]
    attempt(sender, more, "ep_a", NOW - 200, 200, "delivered", 10.0)
    assert endpoint_health(sender, "alice", ["ep_a"], now=NOW + 59, cache=cache)["ep_a"].attempts == 1
    assert endpoint_health(sender, "alice", ["ep_a"], now=NOW + 59, cache=fresh)["ep_a"].attempts == 2
    assert endpoint_health(sender, "alice", ["ep_a"], now=NOW + 61, cache=cache)["ep_a"].attempts == 2
    assert endpoint_health(sender, "bob", ["ep_a"], now=NOW + 62, cache=cache)["ep_a"].attempts == 0


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


def _ms(i: int) -> float:
    return 20.0 + (i * 37) % 400  # spread, repeatable latencies


def test_endpoint_health_counts_every_attempt_of_the_day(sender: Sender) -> None:
    # A busy endpoint: 3,000 deliveries in the last day, each failed once (503) then
    # delivered, so 6,000 attempts; a sample of the latest 1,000 deliveries saw 2,000.
    history = History()
    latencies = []
    for i in range(3000):
        at = NOW - 80_000 + i * 20
        history.delivery("alice", "ep_busy", "invoice.paid", at,
                         [(0.0, 503, _ms(i)), (30.0, 200, _ms(i + 1))], "delivered")
        latencies += [_ms(i), _ms(i + 1)]
    # Attempts made more than a day ago, another endpoint's and another tenant's: not counted.
    history.delivery("alice", "ep_busy", "invoice.paid", NOW - 2 * 86400,
                     [(0.0, 200, 5.0)], "delivered")
    history.delivery("alice", "ep_other", "invoice.paid", NOW - 60, [(0.0, 200, 5.0)],
                     "delivered")
    history.delivery("bob", "ep_busy", "invoice.paid", NOW - 60, [(0.0, 200, 5.0)],
                     "delivered")
    history.write(sender)
    h = endpoint_health(sender, "alice", ["ep_busy"], now=NOW)["ep_busy"]
    assert (h.attempts, h.delivered) == (6000, 3000)
    assert h.success_rate == pytest.approx(0.5)
    expected = statistics.quantiles(latencies, n=100, method="inclusive")
    assert h.latency_p50_ms == pytest.approx(expected[49])
    assert h.latency_p95_ms == pytest.approx(expected[94])
    assert h.last_attempt_at == pytest.approx(NOW - 80_000 + 2999 * 20 + 30.0)
    assert endpoint_health(sender, "bob", ["ep_busy"], now=NOW)["ep_busy"].attempts == 1


def test_delivery_figures_count_a_known_history(sender: Sender) -> None:
    history = History()
    first_latencies = [10.0 * k for k in range(1, 11)]
    answered = list(first_latencies)
    for k, ms in enumerate(first_latencies):  # delivered at once, in the last day
        history.delivery("alice", "ep_a", "invoice.paid", NOW - 3600 - k, [(0.0, 200, ms)],
                         "delivered")
    for k in range(4):  # delivered after a 503, three days ago
        history.delivery("alice", "ep_a", "invoice.paid", NOW - 3 * 86400 - k,
                         [(0.0, 503, 300.0), (60.0, 200, 40.0)], "delivered")
        answered += [300.0, 40.0]
    for k in range(3):  # dead-lettered: three 503s, two days ago
        history.delivery("alice", "ep_a", "payment.failed", NOW - 2 * 86400 - k,
                         [(0.0, 503, 500.0), (60.0, 503, 510.0), (120.0, 503, 520.0)],
                         "dead_lettered")
        answered += [500.0, 510.0, 520.0]
    for k in range(2):  # refused (400, not retried), on another endpoint, yesterday
        history.delivery("alice", "ep_b", "invoice.paid", NOW - 30 * 3600 - k,
                         [(0.0, 400, 15.0)], "failed")
        answered.append(15.0)
    # Timed out (no answer: no latency figure) then delivered, five days ago.
    history.delivery("alice", "ep_a", "invoice.paid", NOW - 5 * 86400,
                     [(0.0, None, 10_000.0), (60.0, 200, 25.0)], "delivered")
    answered.append(25.0)
    history.delivery("alice", "ep_a", "invoice.paid", NOW - 10, [], "pending")
    history.delivery("alice", "ep_a", "invoice.paid", NOW - 20, [], "cancelled")
    # Outside the week, and another tenant's inside it: never counted.
    history.delivery("alice", "ep_a", "invoice.paid", NOW - 8 * 86400,
                     [(0.0, 500, 1.0)] * 5, "dead_lettered")
    history.delivery("bob", "ep_z", "invoice.paid", NOW - 60, [(0.0, 502, 1.0)] * 9,
                     "dead_lettered")
    history.write(sender)

    week = sender.store.delivery_figures("alice", NOW - 7 * 86400, NOW,
                                         recent_since=NOW - 86400)
    assert (week.deliveries, week.recent) == (22, 12)  # 10 delivered + pending + cancelled
    assert (week.delivered_first, week.delivered_retried, week.failed) == (10, 5, 5)
    assert (week.in_progress, week.cancelled) == (1, 1)
    a = week.attempts
    assert (a.attempts, a.delivered, a.answered) == (10 + 8 + 9 + 2 + 2, 15, 30)
    expected = statistics.quantiles(answered, n=100, method="inclusive")
    assert a.latency_p50_ms == pytest.approx(expected[49])
    assert a.latency_p95_ms == pytest.approx(expected[94])
    assert week.top_failure == FailureCount(503, None, 4 + 9)

    # One endpoint, one event type: the same figures, narrowed.
    only_b = sender.store.delivery_figures("alice", NOW - 7 * 86400, NOW, endpoint_id="ep_b")
    assert (only_b.deliveries, only_b.failed, only_b.recent) == (2, 2, 0)
    assert only_b.top_failure == FailureCount(400, None, 2)
    paid = sender.store.delivery_figures("alice", NOW - 7 * 86400, NOW,
                                         event_type="payment.failed")
    assert (paid.deliveries, paid.failed, paid.attempts.attempts) == (3, 3, 9)
    # A timeout is the failure when nothing answered.
    timeouts = sender.store.delivery_figures("alice", NOW - 6 * 86400, NOW - 4 * 86400)
    assert timeouts.top_failure == FailureCount(None, "timeout", 1)
    assert timeouts.attempts.latency_p50_ms == pytest.approx(25.0)
    # Nothing there: zeros and no latency, not an error.
    empty = sender.store.delivery_figures("carol", NOW - 7 * 86400, NOW)
    assert (empty.deliveries, empty.attempts.attempts, empty.top_failure) == (0, 0, None)
    assert empty.attempts.latency_p50_ms is None


def test_search_by_delivery_and_event_id_stays_in_the_tenant(sender: Sender) -> None:
    base = NOW - 3 * 86400
    mine = [add(sender, "alice", "ep_a", base + i)[0] for i in range(5)]
    # One event to two endpoints: both deliveries share its id.
    evt = id_at("evt", base + 100) + "00aa00aa00aa00aa"
    pair = [id_at("dlv", base + 100) + "11bb11bb11bb11b" + c for c in "01"]
    with sender.store.transaction() as conn:
        sender.store.insert_event(conn, evt, "alice", "invoice.paid", "{}",
                                  [(pair[0], "ep_a"), (pair[1], "ep_c")], base + 100)
    theirs = add(sender, "bob", "ep_b", base + 2)[0]
    their_event = sender.store.get_delivery("bob", theirs, detail=False)
    assert their_event is not None

    def found(**kw: str) -> list[str]:
        page = page_deliveries(sender, "alice", DeliveryFilter(**kw), limit=200)  # type: ignore[arg-type]
        return sorted(d.id for d in page.deliveries)

    assert found(id_prefix=mine[2]) == [mine[2]]  # a whole id finds it
    assert found(id_prefix=mine[2][:20]) == sorted(d for d in mine if d.startswith(mine[2][:20]))
    assert found(id_prefix="dlv_") == sorted(mine + pair)
    assert found(event_id_prefix=evt) == sorted(pair)
    assert found(event_id_prefix=evt[:-6]) == sorted(pair)
    assert found(event_id_prefix=evt, endpoint_id="ep_c") == [pair[1]]  # with the filters
    # Another tenant's ids, whole or in part, find nothing of theirs.
    assert found(id_prefix=theirs) == []
    assert found(event_id_prefix=their_event.event_id) == []
    assert theirs not in found(id_prefix=theirs[:16])
    assert found(id_prefix="dlv_ffffffffffff") == []


@pytest.mark.parametrize(("prefix", "end"), [
    ("dlv_018c", "dlv_018d"), ("dlv_0189", "dlv_018a"), ("dlv_01fz", "dlv_01g"),
    ("dlv_", "dlw"), ("zz", None)])
def test_prefix_end_bounds_every_id_with_the_prefix(prefix: str, end: str | None) -> None:
    assert prefix_end(prefix) == end
    if end is not None:
        for tail in ("", "0", "f" * 24, "z"):
            assert prefix + tail < end


def test_id_time_span_reads_the_time_digits() -> None:
    at = 1_800_000_000.123
    assert id_time_span(id_at("evt", at) + "abcd") == (pytest.approx(at), pytest.approx(at + 0.001))
    low, high = id_time_span("evt_01")  # type: ignore[misc]
    assert low == 0x010000000000 / 1000 and high == (0x01ffffffffff + 1) / 1000
    assert id_time_span("evt_") is None and id_time_span("evt_xyz") is None


def test_the_figures_cache_reuses_a_result_for_a_minute_per_tenant(
        sender: Sender, monkeypatch: pytest.MonkeyPatch) -> None:
    history = History()
    history.delivery("alice", "ep_a", "invoice.paid", NOW - 60, [(0.0, 200, 5.0)], "delivered")
    history.delivery("bob", "ep_b", "invoice.paid", NOW - 60, [(0.0, 200, 5.0)], "delivered")
    history.delivery("bob", "ep_b", "invoice.paid", NOW - 50, [(0.0, 200, 5.0)], "delivered")
    history.write(sender)
    calls: list[str] = []
    real = sender.store.delivery_figures

    def counted(tenant_id: str, *args: object, **kw: object) -> object:
        calls.append(tenant_id)
        return real(tenant_id, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(sender.store, "delivery_figures", counted)
    cache = FiguresCache(ttl=60.0, size=2)
    assert cache.get(sender, "alice", now=NOW).deliveries == 1
    assert cache.get(sender, "alice", now=NOW + 59).deliveries == 1 and calls == ["alice"]
    assert cache.get(sender, "bob", now=NOW + 1).deliveries == 2  # its own entry
    assert cache.get(sender, "alice", now=NOW + 61).until == NOW + 61  # recounted
    assert calls == ["alice", "bob", "alice"]
    cache.get(sender, "alice", endpoint_id="ep_a", now=NOW + 62)  # a third key: bob's goes
    cache.get(sender, "bob", now=NOW + 63)
    assert calls[-1] == "bob" and len(calls) == 5
