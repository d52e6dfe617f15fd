"""The portal's figures, shaped from :class:`~hookseal_sender.storage.Store` reads.

The reads themselves are store methods, scoped by tenant like every store read (see
``reference_sender/README.md``, "The store"); this module only shapes them for pages:

- :func:`page_deliveries`: the delivery log paged by cursor in both directions, the page
  size bounded for the portal (:meth:`Store.page_deliveries` does the read).
- :func:`endpoint_health`: an endpoint's success rate and latency over the last day and
  its circuit breaker's state as the workers' breaker policy derives it from the
  recorded attempts (:meth:`Store.recent_attempts` does the read).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from ..breaker import CLOSED, HALF_OPEN, OPEN
from ..config import MAX_RETRY_WINDOW, BreakerPolicy
from ..models import DeliveryFilter, id_at
from ..outcome import DELIVERED, RETRY
from ..sender import Sender
from ..storage.base import DeliveryPage

#: Most deliveries of one endpoint that the health figures look at.
HEALTH_SAMPLE = 1000
#: The health window: one day.
DAY = 86400.0
#: The largest page of the portal's delivery log.
MAX_PAGE = 200


@dataclass(frozen=True)
class EndpointHealth:
    """How an endpoint has been doing.

    Attributes:
        attempts: Attempts counted (last day, latest deliveries).
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


def _percentile(values: Sequence[float], q: float) -> Optional[float]:
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1])


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
                    now: Optional[float] = None) -> dict[str, EndpointHealth]:
    """Success rate, latency and breaker state of a tenant's endpoints over the last day.

    Looks at the attempts of each endpoint's latest :data:`HEALTH_SAMPLE` deliveries
    made in the last day, so the cost is bounded however large the log is.

    Args:
        sender: The sender.
        tenant_id: The tenant; endpoints of other tenants get no figures.
        endpoint_ids: The endpoints.
        now: Unix time (default: now).

    Returns:
        Endpoint id to its health.
    """
    now = time.time() if now is None else now
    since = now - DAY
    out: dict[str, EndpointHealth] = {}
    for eid in endpoint_ids:
        # A delivery attempted in the last day may have been created up to a retry
        # window before.
        rows = sender.store.recent_attempts(tenant_id, eid, since,
                                            created_since=since - MAX_RETRY_WINDOW,
                                            sample=HEALTH_SAMPLE)
        answered = sorted(r.latency_ms for r in rows if r.status_code is not None)
        delivered = sum(1 for r in rows if r.outcome == DELIVERED)
        out[eid] = EndpointHealth(
            attempts=len(rows), delivered=delivered,
            success_rate=delivered / len(rows) if rows else None,
            latency_p50_ms=_percentile(answered, 50), latency_p95_ms=_percentile(answered, 95),
            breaker=derive_breaker([(r.at, r.outcome) for r in rows],
                                   sender.config.breaker, now),
            last_attempt_at=rows[0].at if rows else None)
    return out


__all__ = ["DAY", "HEALTH_SAMPLE", "MAX_PAGE", "DeliveryPage", "EndpointHealth",
           "derive_breaker", "endpoint_health", "id_at", "page_deliveries"]
