"""Tenant-scoped reads the portal needs beyond :class:`~hookseal_sender.Sender`.

Two additions to the library, both scoped by tenant like every store read:

- :func:`page_deliveries`: the delivery log paged by cursor in both directions, with
  time ranges turned into id ranges (ids start with their creation time in
  milliseconds), so a page costs the same with a million deliveries as with none.
- :func:`endpoint_health`: an endpoint's success rate and latency over the last day and
  its circuit breaker's state as the workers' breaker policy derives it from the
  recorded attempts.
"""

# SQL here is built from constant text and the store's own filter builder; every value is
# a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

from ..breaker import CLOSED, HALF_OPEN, OPEN
from ..config import MAX_RETRY_WINDOW, BreakerPolicy
from ..errors import InvalidRequestError
from ..models import Delivery, DeliveryFilter
from ..outcome import DELIVERED, RETRY
from ..sender import Sender
from ..storage._sql import _DELIVERY_SELECT, _JOINED, SQLStore, _delivery

#: Most deliveries of one endpoint that the health figures look at.
HEALTH_SAMPLE = 1000
#: The health window: one day.
DAY = 86400.0
#: Slack between an id's embedded time and the row's ``created_at``.
_ID_SLACK = 60.0


@dataclass(frozen=True)
class DeliveryPage:
    """One page of the delivery log, newest first.

    Attributes:
        deliveries: The page.
        older: Cursor for the next (older) page, or ``None`` at the end.
        newer: Cursor for the previous (newer) page, or ``None`` on the first page.
    """

    deliveries: list[Delivery]
    older: Optional[str]
    newer: Optional[str]


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


def id_at(prefix: str, unix_time: float) -> str:
    """The smallest id of a kind created at a time (ids sort by creation time).

    Args:
        prefix: ``dlv``, ``evt``, ...
        unix_time: The time.

    Returns:
        An id bound for range queries.
    """
    return f"{prefix}_{max(0, int(unix_time * 1000)):012x}"


def _sql_store(sender: Sender) -> SQLStore:
    store = sender.store
    if not isinstance(store, SQLStore):  # pragma: no cover - every shipped store is SQL
        raise InvalidRequestError("the portal needs a SQL store")
    return store


def page_deliveries(
    sender: Sender, tenant_id: str, flt: Optional[DeliveryFilter] = None, *,
    limit: int = 50, before: Optional[str] = None, after: Optional[str] = None,
) -> DeliveryPage:
    """A page of a tenant's deliveries, newest first, paged by cursor.

    Args:
        sender: The sender.
        tenant_id: The tenant; no other tenant's delivery is ever returned.
        flt: Filters (endpoint, type, statuses, ``created_at`` range).
        limit: Page size (1 to 200).
        before: Cursor: deliveries older than this id (the next page).
        after: Cursor: deliveries newer than this id (the previous page).

    Returns:
        The page and the cursors around it.
    """
    store = _sql_store(sender)
    flt = flt or DeliveryFilter()
    limit = max(1, min(int(limit), 200))
    where, params = store._filter(tenant_id, flt)
    # Ids begin with their creation time: bound the index range, not just the rows.
    if flt.since is not None:
        where += " AND d.id >= ?"
        params.append(id_at("dlv", flt.since - _ID_SLACK))
    if flt.until is not None:
        where += " AND d.id < ?"
        params.append(id_at("dlv", flt.until + _ID_SLACK))
    if after:
        rows = store._read(f"SELECT {_DELIVERY_SELECT} FROM {_JOINED} WHERE {where}"
                           " AND d.id > ? ORDER BY d.id ASC LIMIT ?", [*params, after, limit + 1])
        more_newer = len(rows) > limit
        page = [_delivery(r) for r in rows[:limit]][::-1]
        older = page[-1].id if page else None
        return DeliveryPage(page, older, page[0].id if page and more_newer else None)
    if before:
        where += " AND d.id < ?"
        params.append(before)
    rows = store._read(f"SELECT {_DELIVERY_SELECT} FROM {_JOINED} WHERE {where}"
                       " ORDER BY d.id DESC LIMIT ?", [*params, limit + 1])
    page = [_delivery(r) for r in rows[:limit]]
    older = page[-1].id if len(rows) > limit else None
    newer = page[0].id if before and page else None
    return DeliveryPage(page, older, newer)


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
    store = _sql_store(sender)
    now = time.time() if now is None else now
    since = now - DAY
    # A delivery attempted in the last day may have been created up to a retry window ago.
    lowest = id_at("dlv", since - MAX_RETRY_WINDOW - _ID_SLACK)
    out: dict[str, EndpointHealth] = {}
    for eid in endpoint_ids:
        rows: list[Any] = store._read(
            "SELECT a.at, a.outcome, a.status_code, a.latency_ms FROM attempts a"
            " WHERE a.at >= ? AND a.delivery_id IN (SELECT id FROM deliveries"
            " WHERE tenant_id = ? AND endpoint_id = ? AND id >= ? ORDER BY id DESC LIMIT ?)"
            " ORDER BY a.at DESC", [since, tenant_id, eid, lowest, HEALTH_SAMPLE])
        answered = sorted(float(r[3]) for r in rows if r[2] is not None)
        delivered = sum(1 for r in rows if r[1] == DELIVERED)
        out[eid] = EndpointHealth(
            attempts=len(rows), delivered=delivered,
            success_rate=delivered / len(rows) if rows else None,
            latency_p50_ms=_percentile(answered, 50), latency_p95_ms=_percentile(answered, 95),
            breaker=derive_breaker([(float(r[0]), str(r[1])) for r in rows],
                                   sender.config.breaker, now),
            last_attempt_at=float(rows[0][0]) if rows else None)
    return out
