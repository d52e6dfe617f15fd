"""The periodic health review: what the delivery log says about a period, in figures.

:func:`collect` reads the store once (a few aggregate queries and one pass over the
period's attempts) and returns a :class:`Review`; :func:`render_html` turns it into a
self-contained HTML report with charts (``hookseal-sender review``). The review sees what
the store still holds: finished deliveries older than ``retention_days`` are purged.
"""

# Queries are assembled only from constant text; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import asyncio
import json
import re
import time
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from .errors import ConfigError, DestinationRefusedError, InvalidRequestError
from .sender import Sender
from .ssrf import Resolve, validate_url
from .storage._sql import SQLStore

DAY = 86400.0
#: An endpoint whose newest secret or signing key is older than this is listed.
ROTATION_AGE = 365 * DAY
#: Tenants shown with their endpoints.
TOP_TENANTS = 10
#: DNS look-ups of the SSRF re-check at a time.
DNS_CONCURRENCY = 20
#: Event types the sender sends by itself (not the provider's events).
_INTERNAL_TYPES = {"test.ping"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": DAY, "w": 7 * DAY}


def parse_duration(text: str) -> float:
    """Seconds in ``90d``, ``12h``, ``2w``, ``30m`` or ``45s``.

    Args:
        text: A number and one unit: s, m, h, d or w.

    Returns:
        The seconds (more than zero).

    Raises:
        InvalidRequestError: The text is not such a duration.
    """
    match = _DURATION.match(text)
    seconds = float(match.group(1)) * _UNITS[match.group(2)] if match else 0.0
    if seconds <= 0:
        raise InvalidRequestError(f"not a duration: {text!r} (use e.g. 90d, 12h, 2w)")
    return seconds


@dataclass(frozen=True)
class Day:
    """One UTC day of the period.

    Attributes:
        start: Unix time of its midnight (UTC).
        deliveries: Deliveries created that day.
        dead_lettered: Of those, how many are dead-lettered now.
        first_attempts: First attempts made that day.
        first_delivered: Of those, answered 2xx.
        p95_ms: 95th percentile latency of that day's answered attempts, or ``None``.
    """

    start: float
    deliveries: int
    dead_lettered: int
    first_attempts: int
    first_delivered: int
    p95_ms: Optional[float]

    @property
    def first_success_rate(self) -> Optional[float]:
        """``first_delivered / first_attempts``, or ``None`` without first attempts."""
        return self.first_delivered / self.first_attempts if self.first_attempts else None

    @property
    def dead_letter_rate(self) -> Optional[float]:
        """``dead_lettered / deliveries``, or ``None`` without deliveries."""
        return self.dead_lettered / self.deliveries if self.deliveries else None


@dataclass(frozen=True)
class EndpointHealth:
    """One endpoint over the period.

    Attributes:
        id: Endpoint id.
        tenant_id: Its tenant.
        url: Its URL.
        status: ``active``, ``paused``, ``disabled`` or ``deleted`` now.
        attempts: Attempts in the period.
        delivered: Of those, answered 2xx.
        p95_ms: 95th percentile latency of its answered attempts, or ``None``.
        last_success_at: Its latest 2xx in the period, or ``None``.
    """

    id: str
    tenant_id: str
    url: str
    status: str
    attempts: int
    delivered: int
    p95_ms: Optional[float]
    last_success_at: Optional[float]

    @property
    def success_rate(self) -> Optional[float]:
        """``delivered / attempts``, or ``None`` without attempts."""
        return self.delivered / self.attempts if self.attempts else None


@dataclass(frozen=True)
class TenantVolume:
    """A tenant's deliveries in the period, and its endpoints' health.

    Attributes:
        tenant_id: The tenant.
        deliveries: Deliveries created in the period.
        delivered: Of those, delivered now.
        dead_lettered: Of those, dead-lettered now.
        endpoints: Its endpoints (deleted ones only if they had attempts).
    """

    tenant_id: str
    deliveries: int
    delivered: int
    dead_lettered: int
    endpoints: list[EndpointHealth]


@dataclass(frozen=True)
class EventTypeVolume:
    """One event type in the period.

    Attributes:
        type: The event type.
        events: Events of that type sent in the period.
        unrouted: Of those, how many went to no endpoint at all.
    """

    type: str
    events: int
    unrouted: int


@dataclass(frozen=True)
class Finding:
    """An endpoint the review flags.

    Attributes:
        endpoint_id: The endpoint.
        tenant_id: Its tenant.
        url: Its URL.
        detail: Why it is listed.
        at: The time the detail refers to (a key's creation, a last success), if any.
    """

    endpoint_id: str
    tenant_id: str
    url: str
    detail: str
    at: Optional[float] = None


@dataclass(frozen=True)
class Review:
    """The health review of a period.

    Attributes:
        since: Unix time the period starts.
        until: Unix time it ends (when the review was made).
        deliveries: Deliveries created in the period.
        dead_lettered: Of those, dead-lettered now.
        attempts: Attempts made in the period.
        first_attempts: First attempts made in the period.
        first_delivered: Of those, answered 2xx.
        p95_ms: 95th percentile latency of the period's answered attempts, or ``None``.
        success_trend: Change of the daily first-attempt success rate per week (least
            squares; ``0.01`` is one point a week better), or ``None`` under two days.
        days: Each UTC day of the period with deliveries or attempts, oldest first.
        top_tenants: The tenants with the most deliveries, most first.
        event_types: Every event type sent in the period, most events first.
        unsubscribed_types: Catalog event types no active or paused endpoint subscribes to.
        unrotated: Active or paused endpoints whose newest key is over a year old.
        stale: Active or paused endpoints older than the period with no 2xx in it.
        refused: Active or paused endpoints whose destination the SSRF rules refuse today
            (names resolved again now).
        dead_endpoints: Endpoints with attempts in the period and not one 2xx.
        dead_attempts: Attempts to those endpoints.
        dead_retry_attempts: Of those, retries (attempt number 2 or more).
        dead_retry_seconds: Seconds those retries took (their latencies added up).
    """

    since: float
    until: float
    deliveries: int
    dead_lettered: int
    attempts: int
    first_attempts: int
    first_delivered: int
    p95_ms: Optional[float]
    success_trend: Optional[float]
    days: list[Day]
    top_tenants: list[TenantVolume]
    event_types: list[EventTypeVolume]
    unsubscribed_types: list[str]
    unrotated: list[Finding]
    stale: list[Finding]
    refused: list[Finding]
    dead_endpoints: list[Finding]
    dead_attempts: int
    dead_retry_attempts: int
    dead_retry_seconds: float

    @property
    def first_success_rate(self) -> Optional[float]:
        """The period's first-attempt success rate, or ``None`` without first attempts."""
        return self.first_delivered / self.first_attempts if self.first_attempts else None

    @property
    def dead_letter_rate(self) -> Optional[float]:
        """The share of the period's deliveries dead-lettered, or ``None``."""
        return self.dead_lettered / self.deliveries if self.deliveries else None


@dataclass
class _EndpointRow:
    id: str
    tenant_id: str
    url: str
    status: str
    created_at: float
    allow_local: bool
    event_types: Optional[list[str]]


@dataclass
class _Tally:
    attempts: int = 0
    delivered: int = 0
    last_success: float = 0.0
    retries: int = 0
    retry_ms: float = 0.0
    latencies: array[float] = field(default_factory=lambda: array("d"))


def _sql_store(sender: Sender) -> SQLStore:
    store = sender.store
    if not isinstance(store, SQLStore):  # pragma: no cover - every shipped store is SQL
        raise InvalidRequestError("the health review needs a SQL store")
    return store


def _server_side(store: SQLStore, sql: str, params: Sequence[Any]) -> Iterator[Any]:
    conn = store.conn()
    with conn.transaction():  # a server-side cursor lives in a transaction
        cur = conn.cursor(name="hookseal_review")
        cur.itersize = 20_000
        cur.execute(store._q(sql), tuple(params))
        yield from cur
        cur.close()


def _stream(store: SQLStore, sql: str, params: Sequence[Any]) -> Iterator[Any]:
    """The rows of a large query without holding them all in memory."""
    if store.dialect == "postgresql":
        return _server_side(store, sql, params)
    # SQLite's cursor steps through the result as it is read; iterated directly (a
    # generator around it cost a fifth of the pass).
    return iter(store._exec(store.conn(), sql, params))


def _p95(values: Sequence[float]) -> Optional[float]:
    if not len(values):
        return None
    import numpy

    return float(numpy.percentile(numpy.asarray(values, dtype=float), 95))


def _day(store: SQLStore, column: str) -> str:
    """SQL for the UTC day number of a Unix time column (PostgreSQL's CAST rounds)."""
    if store.dialect == "postgresql":
        return f"CAST(FLOOR({column} / 86400) AS BIGINT)"
    return f"CAST({column} / 86400 AS INTEGER)"


def _trend(days: Sequence[Day]) -> Optional[float]:
    points = [(d.start / DAY, rate) for d in days
              if (rate := d.first_success_rate) is not None]
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return 7 * sum((x - mx) * (y - my) for x, y in points) / sxx


def _endpoints(store: SQLStore) -> dict[str, _EndpointRow]:
    return {r[0]: _EndpointRow(r[0], r[1], r[2], r[3], float(r[4]), bool(r[5]),
                               json.loads(r[6]) if r[6] else None)
            for r in store._read("SELECT id, tenant_id, url, status, created_at, allow_local,"
                                 " event_types FROM endpoints")}


def _refused(endpoints: Sequence[_EndpointRow], resolve: Optional[Resolve]) -> list[Finding]:
    async def check_all() -> list[Finding]:
        gate = asyncio.Semaphore(DNS_CONCURRENCY)

        async def check(ep: _EndpointRow) -> Optional[Finding]:
            async with gate:
                try:
                    await validate_url(ep.url, allow_local=ep.allow_local, resolve=resolve)
                except DestinationRefusedError as exc:
                    return Finding(ep.id, ep.tenant_id, ep.url, exc.detail)
            return None

        found = await asyncio.gather(*(check(ep) for ep in endpoints))
        return [f for f in found if f is not None]

    return asyncio.run(check_all()) if endpoints else []


def collect(sender: Sender, period: float, *, now: Optional[float] = None,
            top: int = TOP_TENANTS, resolve: Optional[Resolve] = None) -> Review:
    """Read the store and make the health review of the last ``period`` seconds.

    Args:
        sender: The sender whose store is reviewed.
        period: Seconds back from ``now`` (``parse_duration("90d")``).
        now: The end of the period (default: now).
        top: How many tenants to show with their endpoints.
        resolve: The resolver of the SSRF re-check (default: the sender's, else the
            system's).

    Returns:
        The review.
    """
    store = _sql_store(sender)
    until = time.time() if now is None else now
    since = until - period
    window = [since, until]
    endpoints = _endpoints(store)

    # One pass over the period's attempts: per day and per endpoint.
    day_first: dict[int, list[int]] = {}
    day_latency: dict[int, array[float]] = {}
    tallies: dict[str, _Tally] = {}
    all_latency: array[float] = array("d")
    rows = _stream(store, "SELECT d.endpoint_id, a.at, a.number, a.outcome, a.status_code,"
                   " a.latency_ms FROM attempts a JOIN deliveries d ON d.id = a.delivery_id"
                   " WHERE a.at >= ? AND a.at < ?", window)
    for endpoint_id, at, number, outcome, status_code, latency_ms in rows:
        day = int(at // DAY)
        tally = tallies.get(endpoint_id)
        if tally is None:
            tally = tallies[endpoint_id] = _Tally()
        tally.attempts += 1
        ok = outcome == "delivered"
        if ok:
            tally.delivered += 1
            tally.last_success = max(tally.last_success, at)
        if number == 1:
            first = day_first.get(day)
            if first is None:
                first = day_first[day] = [0, 0]
            first[0] += 1
            first[1] += ok
        else:
            tally.retries += 1
            tally.retry_ms += latency_ms
        if status_code is not None:
            tally.latencies.append(latency_ms)
            lat = day_latency.get(day)
            if lat is None:
                lat = day_latency[day] = array("d")
            lat.append(latency_ms)
            all_latency.append(latency_ms)

    day_sql = _day(store, "created_at")
    by_day = {int(r[0]): (int(r[1]), int(r[2])) for r in store._read(
        f"SELECT {day_sql}, COUNT(*), SUM(CASE WHEN status = 'dead_lettered' THEN 1 ELSE 0"
        f" END) FROM deliveries WHERE created_at >= ? AND created_at < ? GROUP BY {day_sql}",
        window)}
    day_numbers = sorted(set(by_day) | set(day_first) | set(day_latency))
    days = [Day(start=d * DAY, deliveries=by_day.get(d, (0, 0))[0],
                dead_lettered=by_day.get(d, (0, 0))[1],
                first_attempts=day_first.get(d, [0, 0])[0],
                first_delivered=day_first.get(d, [0, 0])[1],
                p95_ms=_p95(day_latency.get(d, array("d"))))
            for d in day_numbers]

    def health(ep_id: str) -> EndpointHealth:
        ep, tally = endpoints.get(ep_id), tallies.get(ep_id, _Tally())
        return EndpointHealth(
            ep_id, ep.tenant_id if ep else "", ep.url if ep else "", ep.status if ep else "deleted",
            tally.attempts, tally.delivered, _p95(tally.latencies),
            tally.last_success or None)

    tenant_rows = store._read(
        "SELECT tenant_id, COUNT(*), SUM(CASE WHEN status = 'delivered' THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN status = 'dead_lettered' THEN 1 ELSE 0 END) FROM deliveries"
        " WHERE created_at >= ? AND created_at < ? GROUP BY tenant_id", window)
    tenant_rows.sort(key=lambda r: (-int(r[1]), r[0]))
    top_tenants = []
    for tenant_id, n, delivered, dead in tenant_rows[:top]:
        ids = sorted(ep.id for ep in endpoints.values() if ep.tenant_id == tenant_id
                     and (ep.status != "deleted" or ep.id in tallies))
        top_tenants.append(TenantVolume(tenant_id, int(n), int(delivered), int(dead),
                                        [health(i) for i in ids]))

    events = {r[0]: int(r[1]) for r in store._read(
        "SELECT type, COUNT(*) FROM events WHERE created_at >= ? AND created_at < ?"
        " GROUP BY type", window)}
    routed = {r[0]: int(r[1]) for r in store._read(
        "SELECT event_type, COUNT(DISTINCT event_id) FROM deliveries WHERE created_at >= ?"
        " AND created_at < ? GROUP BY event_type", window)}
    event_types = sorted((EventTypeVolume(t, n, max(0, n - routed.get(t, 0)))
                          for t, n in events.items()), key=lambda e: (-e.events, e.type))

    live = [ep for ep in endpoints.values() if ep.status in ("active", "paused")]
    subscribed: set[str] = set()
    everything = any(ep.event_types is None for ep in live)
    for ep in live:
        subscribed.update(ep.event_types or ())
    from .catalog import _catalog

    catalog_types = sorted(set(_catalog().events) - _INTERNAL_TYPES)
    unsubscribed = [] if everything else [t for t in catalog_types if t not in subscribed]

    newest_key = {r[0]: float(r[1]) for r in store._read(
        "SELECT endpoint_id, MAX(created_at) FROM endpoint_keys GROUP BY endpoint_id")}
    unrotated = [Finding(ep.id, ep.tenant_id, ep.url, "newest key created over a year ago",
                         newest_key[ep.id])
                 for ep in live if ep.id in newest_key and newest_key[ep.id] < until - ROTATION_AGE]

    stale = []
    for ep in live:
        tally = tallies.get(ep.id)
        if ep.created_at >= since or (tally and tally.delivered):
            continue
        detail = (f"{tally.attempts} attempts, none delivered" if tally
                  else "no attempt in the period")
        stale.append(Finding(ep.id, ep.tenant_id, ep.url, detail))

    dead = sorted((ep_id for ep_id, t in tallies.items() if t.attempts and not t.delivered))
    dead_findings = [Finding(i, endpoints[i].tenant_id if i in endpoints else "",
                             endpoints[i].url if i in endpoints else "",
                             f"{tallies[i].attempts} attempts, none delivered") for i in dead]

    first_attempts = sum(f[0] for f in day_first.values())
    return Review(
        since=since, until=until,
        deliveries=sum(d.deliveries for d in days),
        dead_lettered=sum(d.dead_lettered for d in days),
        attempts=sum(t.attempts for t in tallies.values()),
        first_attempts=first_attempts,
        first_delivered=sum(f[1] for f in day_first.values()),
        p95_ms=_p95(all_latency),
        success_trend=_trend(days),
        days=days,
        top_tenants=top_tenants,
        event_types=event_types,
        unsubscribed_types=unsubscribed,
        unrotated=sorted(unrotated, key=lambda f: (f.at or 0.0, f.endpoint_id)),
        stale=sorted(stale, key=lambda f: (f.tenant_id, f.endpoint_id)),
        refused=sorted(_refused(live, resolve or sender.resolve),
                       key=lambda f: (f.tenant_id, f.endpoint_id)),
        dead_endpoints=dead_findings,
        dead_attempts=sum(tallies[i].attempts for i in dead),
        dead_retry_attempts=sum(tallies[i].retries for i in dead),
        dead_retry_seconds=sum(tallies[i].retry_ms for i in dead) / 1000.0,
    )


def render_html(review: Review) -> str:
    """The review as one self-contained HTML page (charts inline; it opens offline).

    Args:
        review: The review.

    Returns:
        The HTML.

    Raises:
        ConfigError: matplotlib, which draws the charts, is not installed.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ConfigError("the health review draws its charts with matplotlib: "
                          "pip install 'hookseal-sender[review]'") from None
    from ._review_html import render

    return render(review)


__all__ = ["Day", "EndpointHealth", "EventTypeVolume", "Finding", "Review", "TenantVolume",
           "collect", "parse_duration", "render_html"]
