"""The portal's figures, shaped from :class:`~hookseal_sender.storage.Store` reads.

The reads themselves are store methods, scoped by tenant like every store read (see
``reference_sender/README.md``, "The store"); this module only shapes them for pages:

- :func:`page_deliveries`: the delivery log paged by cursor in both directions, the page
  size bounded for the portal (:meth:`Store.page_deliveries` does the read).
- :func:`log_figures`: the delivery log's figures over the last week
  (:meth:`Store.delivery_figures`); :class:`FiguresCache` keeps them a minute.
- :func:`endpoint_health`: an endpoint's success rate and latency over the last day
  (:meth:`Store.endpoint_attempt_figures`: every attempt, counted exactly) and its circuit
  breaker's state as the workers' breaker policy derives it from the latest attempts
  (:meth:`Store.recent_attempts`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ..breaker import CLOSED, HALF_OPEN, OPEN
from ..config import MAX_RETRY_WINDOW, BreakerPolicy
from ..models import DeliveryFilter, id_at
from ..outcome import RETRY
from ..sender import Sender
from ..storage.base import DeliveryFigures, DeliveryPage

#: Most deliveries of one endpoint whose attempts the breaker state is derived from.
HEALTH_SAMPLE = 1000
#: The health window: one day.
DAY = 86400.0
#: The window of the delivery log's figures: one week (with the last day counted apart).
WEEK = 7 * DAY
#: The largest page of the portal's delivery log.
MAX_PAGE = 200


@dataclass(frozen=True)
class EndpointHealth:
    """How an endpoint has been doing.

    Attributes:
        attempts: Every attempt made in the last day (an exact count).
        delivered: Of those, answered 2xx.
        success_rate: ``delivered / attempts``, or ``None`` with no attempts.
        latency_p50_ms: Median latency of answered attempts, or ``None``.
        latency_p95_ms: 95th percentile latency of answered attempts, or ``None``.
        breaker: ``closed``, ``open`` or ``half_open``.
        last_attempt_at: Unix time of the latest attempt, or ``None``.
    """

    attempts: int
    delivered: int
    success_rate: Optional[float]
    latency_p50_ms: Optional[float]
    latency_p95_ms: Optional[float]
    breaker: str
    last_attempt_at: Optional[float]


def page_deliveries(
    sender: Sender, tenant_id: str, flt: Optional[DeliveryFilter] = None, *,
    limit: int = 50, before: Optional[str] = None, after: Optional[str] = None,
) -> DeliveryPage:
    """A page of a tenant's deliveries, newest first, paged by cursor.

    Args:
        sender: The sender.
        tenant_id: The tenant; no other tenant's delivery is ever returned.
        flt: Filters (endpoint, type, statuses, ``created_at`` range).
        limit: Page size (1 to :data:`MAX_PAGE`).
        before: Cursor: deliveries older than this id (the next page).
        after: Cursor: deliveries newer than this id (the previous page).

    Returns:
        The page and the cursors around it.
    """
    return sender.store.page_deliveries(
        tenant_id, flt or DeliveryFilter(), limit=max(1, min(int(limit), MAX_PAGE)),
        before=before, after=after)


def derive_breaker(outcomes: Sequence[tuple[float, str]], policy: BreakerPolicy,
                   now: float) -> str:
    """The breaker state the workers' policy implies for recorded attempts.

    Args:
        outcomes: ``(at, outcome)`` of the latest attempts, newest first.
        policy: The breaker policy.
        now: Unix time.

    Returns:
        ``closed``, ``open`` or ``half_open``.
    """
    recent = list(outcomes[:policy.window])
    if not recent or recent[0][1] != RETRY:
        return CLOSED  # no attempts, or the latest one got through (a probe closes it)
    failures = sum(1 for _, o in recent if o == RETRY)
    if len(recent) < policy.min_samples or failures <= policy.failure_ratio * len(recent):
        return CLOSED
    # While open nothing is attempted, so the latest failure is when it (re)opened.
    return OPEN if now - recent[0][0] < policy.open_seconds else HALF_OPEN


def endpoint_health(sender: Sender, tenant_id: str, endpoint_ids: Sequence[str], *,
                    now: Optional[float] = None,
                    cache: Optional[TTLCache] = None) -> dict[str, EndpointHealth]:
    """Success rate, latency and breaker state of a tenant's endpoints over the last day.

    The counts and latencies cover every attempt made in the last day
    (:meth:`Store.endpoint_attempt_figures`, exact counts, no sample); the breaker state
    needs only the latest attempts (:meth:`Store.recent_attempts`, bounded by
    :data:`HEALTH_SAMPLE` deliveries).

    Args:
        sender: The sender.
        tenant_id: The tenant; endpoints of other tenants get no figures.
        endpoint_ids: The endpoints.
        now: Unix time (default: now).
        cache: Reuses each endpoint's day of attempt counts for a while (they take a full
            read of a busy endpoint's day); the breaker state is always read afresh.

    Returns:
        Endpoint id to its health.
    """
    now = time.time() if now is None else now
    since = now - DAY
    # A delivery attempted in the last day may have been created up to a retry window
    # before.
    created_since = since - MAX_RETRY_WINDOW
    policy = sender.config.breaker
    out: dict[str, EndpointHealth] = {}
    for eid in endpoint_ids:
        def count(eid: str = eid) -> Any:
            return sender.store.endpoint_attempt_figures(tenant_id, eid, since,
                                                         created_since=created_since)

        figures = count() if cache is None else cache.get((tenant_id, eid), now, count)
        latest = sender.store.recent_attempts(tenant_id, eid, since,
                                              created_since=created_since,
                                              sample=HEALTH_SAMPLE)
        out[eid] = EndpointHealth(
            attempts=figures.attempts, delivered=figures.delivered,
            success_rate=figures.delivered / figures.attempts if figures.attempts else None,
            latency_p50_ms=figures.latency_p50_ms, latency_p95_ms=figures.latency_p95_ms,
            breaker=derive_breaker([(r.at, r.outcome) for r in latest], policy, now),
            last_attempt_at=figures.last_attempt_at)
    return out


def log_figures(sender: Sender, tenant_id: str, *, endpoint_id: Optional[str] = None,
                event_type: Optional[str] = None,
                now: Optional[float] = None) -> DeliveryFigures:
    """The delivery log's figures: what became of the deliveries created in the last
    :data:`WEEK` (and how many were created in the last :data:`DAY`), their attempts'
    latency and most common failure, all counted exactly by the store
    (:meth:`Store.delivery_figures`).

    Args:
        sender: The sender.
        tenant_id: The tenant; no other tenant's delivery is counted.
        endpoint_id: Only this endpoint's deliveries (the log's endpoint filter).
        event_type: Only this type (the log's event type filter).
        now: Unix time (default: now).

    Returns:
        The figures.
    """
    now = time.time() if now is None else now
    return sender.store.delivery_figures(tenant_id, now - WEEK, now, endpoint_id=endpoint_id,
                                         event_type=event_type, recent_since=now - DAY)


class TTLCache:
    """Results kept for :attr:`ttl` seconds by key (thread-safe, at most :attr:`size`),
    those that took at least :attr:`min_cost` seconds to compute (cheap ones stay fresh).

    Args:
        ttl: Seconds a result is reused.
        size: Most results kept (the oldest dropped first).
        min_cost: Results computed faster than this are not kept.
    """

    def __init__(self, ttl: float = 60.0, size: int = 1000, min_cost: float = 0.0) -> None:
        self.ttl, self.size, self.min_cost = ttl, size, min_cost
        self._items: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, now: float, compute: Callable[[], Any]) -> Any:
        """The result for ``key`` computed less than :attr:`ttl` seconds before ``now``,
        or ``compute()`` (then kept)."""
        with self._lock:
            hit = self._items.get(key)
        if hit is not None and 0 <= now - hit[0] < self.ttl:
            return hit[1]
        started = time.perf_counter()
        fresh = compute()
        if time.perf_counter() - started < self.min_cost:
            return fresh
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = (now, fresh)
            while len(self._items) > self.size:
                del self._items[next(iter(self._items))]
        return fresh


class FiguresCache:
    """The delivery log's figures, kept for a short while per tenant and filter.

    Paging through the log, or the page reloading, then costs nothing for the figures;
    a figure is at most :attr:`ttl` seconds old (the page says as of when). Thread-safe;
    holds at most :attr:`size` entries, dropping the oldest.

    Args:
        ttl: Seconds a result is reused.
        size: Most results kept.
    """

    def __init__(self, ttl: float = 60.0, size: int = 1000) -> None:
        self.ttl, self.size = ttl, size
        self._items: dict[tuple[str, Optional[str], Optional[str]], DeliveryFigures] = {}
        self._lock = threading.Lock()

    def get(self, sender: Sender, tenant_id: str, *, endpoint_id: Optional[str] = None,
            event_type: Optional[str] = None, now: Optional[float] = None) -> DeliveryFigures:
        """:func:`log_figures`, reused while younger than :attr:`ttl`.

        Args:
            sender: The sender.
            tenant_id: The tenant (part of the key: one tenant never sees another's).
            endpoint_id: The log's endpoint filter.
            event_type: The log's event type filter.
            now: Unix time (default: now).

        Returns:
            The figures, computed at most :attr:`ttl` seconds before ``now``.
        """
        now = time.time() if now is None else now
        key = (tenant_id, endpoint_id, event_type)
        with self._lock:
            hit = self._items.get(key)
        if hit is not None and 0 <= now - hit.until < self.ttl:
            return hit
        fresh = log_figures(sender, tenant_id, endpoint_id=endpoint_id, event_type=event_type,
                            now=now)
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = fresh
            while len(self._items) > self.size:
                del self._items[next(iter(self._items))]
        return fresh


__all__ = [
    "DAY",
    "HEALTH_SAMPLE",
    "MAX_PAGE",
    "WEEK",
    "DeliveryFigures",
    "DeliveryPage",
    "EndpointHealth",
    "FiguresCache",
    "TTLCache",
    "derive_breaker",
    "endpoint_health",
    "id_at",
    "log_figures",
    "page_deliveries",
]
