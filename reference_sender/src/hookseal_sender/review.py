"""The periodic health review: what the delivery log says about a period, in figures.

:func:`collect` reads the store once (a few aggregate queries and one pass over the
period's attempts) and returns a :class:`Review`; :func:`render_html` turns it into a
self-contained HTML report with charts (``hookseal-sender review``). The review sees what
the store still holds: finished deliveries older than ``retention_days`` are purged.
"""

from __future__ import annotations

import asyncio
import re
import time
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

from .errors import ConfigError, DestinationRefusedError, InvalidRequestError
from .models import Endpoint
from .sender import Sender
from .ssrf import Resolve, validate_url
from .storage.base import PeriodAttempt, Store

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
class _Tally:
    attempts: int = 0
    delivered: int = 0
    last_success: float = 0.0
    retries: int = 0
    retry_ms: float = 0.0
    latencies: array[float] = field(default_factory=lambda: array("d"))


@dataclass
class _Pass:
    """What the one pass over the period's attempts adds up, per day and per endpoint."""

    tallies: dict[str, _Tally] = field(default_factory=dict)
    day_first: dict[int, list[int]] = field(default_factory=dict)  # [attempts, delivered]
    day_latency: dict[int, array[float]] = field(default_factory=dict)
    all_latency: array[float] = field(default_factory=lambda: array("d"))

    def first(self) -> tuple[int, int]:
        """First attempts in the period, and how many of them were answered 2xx."""
        return (sum(f[0] for f in self.day_first.values()),
                sum(f[1] for f in self.day_first.values()))

    def dead(self) -> list[str]:
        """The endpoints with attempts in the period and not one 2xx, by id."""
        return sorted(i for i, t in self.tallies.items() if t.attempts and not t.delivered)


def _tally(rows: Iterable[PeriodAttempt]) -> _Pass:
    """Add up the period's attempts (millions of rows: plain loops, no per-row objects)."""
    out = _Pass()
    tallies, day_first, day_latency = out.tallies, out.day_first, out.day_latency
    all_latency = out.all_latency
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
    return out


def _p95(values: Sequence[float]) -> Optional[float]:
    if not len(values):
        return None
    import numpy

    return float(numpy.percentile(numpy.asarray(values, dtype=float), 95))


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


def _days(by_day: Mapping[int, tuple[int, int]], seen: _Pass) -> list[Day]:
    """Each day with deliveries or attempts, oldest first."""
    day_numbers = sorted(set(by_day) | set(seen.day_first) | set(seen.day_latency))
    return [Day(start=d * DAY, deliveries=by_day.get(d, (0, 0))[0],
                dead_lettered=by_day.get(d, (0, 0))[1],
                first_attempts=seen.day_first.get(d, [0, 0])[0],
                first_delivered=seen.day_first.get(d, [0, 0])[1],
                p95_ms=_p95(seen.day_latency.get(d, array("d"))))
            for d in day_numbers]


def _top_tenants(store: Store, since: float, until: float, top: int,
                 endpoints: Mapping[str, Endpoint],
                 tallies: Mapping[str, _Tally]) -> list[TenantVolume]:
    """The ``top`` tenants with the most deliveries, with their endpoints' health."""

    def health(ep_id: str) -> EndpointHealth:
        ep, tally = endpoints.get(ep_id), tallies.get(ep_id, _Tally())
        return EndpointHealth(
            ep_id, ep.tenant_id if ep else "", ep.url if ep else "", ep.status if ep else "deleted",
            tally.attempts, tally.delivered, _p95(tally.latencies),
            tally.last_success or None)

    counts = sorted(store.deliveries_per_tenant(since, until),
                    key=lambda c: (-c.deliveries, c.tenant_id))
    top_tenants = []
    for c in counts[:top]:
        ids = sorted(ep.id for ep in endpoints.values() if ep.tenant_id == c.tenant_id
                     and (ep.status != "deleted" or ep.id in tallies))
        top_tenants.append(TenantVolume(c.tenant_id, c.deliveries, c.delivered,
                                        c.dead_lettered, [health(i) for i in ids]))
    return top_tenants


def _event_types(store: Store, since: float, until: float) -> list[EventTypeVolume]:
    """Every event type sent in the period, most events first."""
    return sorted((EventTypeVolume(t, n, max(0, n - routed))
                   for t, (n, routed) in store.events_per_type(since, until).items()),
                  key=lambda e: (-e.events, e.type))


def _unsubscribed(live: Sequence[Endpoint], catalog_types: Sequence[str]) -> list[str]:
    """The sender's catalog event types no live endpoint subscribes to."""
    if any(ep.event_types is None for ep in live):
        return []
    subscribed: set[str] = set()
    for ep in live:
        subscribed.update(ep.event_types or ())
    return [t for t in catalog_types if t not in subscribed and t not in _INTERNAL_TYPES]


def _unrotated(store: Store, live: Sequence[Endpoint], until: float) -> list[Finding]:
    """Live endpoints whose newest key is over :data:`ROTATION_AGE` old, oldest first."""
    newest_key = store.newest_key_times()
    found = [Finding(ep.id, ep.tenant_id, ep.url, "newest key created over a year ago",
                     newest_key[ep.id])
             for ep in live if ep.id in newest_key and newest_key[ep.id] < until - ROTATION_AGE]
    return sorted(found, key=lambda f: (f.at or 0.0, f.endpoint_id))


def _stale(live: Sequence[Endpoint], tallies: Mapping[str, _Tally],
           since: float) -> list[Finding]:
    """Live endpoints older than the period without a 2xx in it."""
    stale = []
    for ep in live:
        tally = tallies.get(ep.id)
        if ep.created_at >= since or (tally and tally.delivered):
            continue
        detail = (f"{tally.attempts} attempts, none delivered" if tally
                  else "no attempt in the period")
        stale.append(Finding(ep.id, ep.tenant_id, ep.url, detail))
    return sorted(stale, key=lambda f: (f.tenant_id, f.endpoint_id))


def _dead(dead: Sequence[str], endpoints: Mapping[str, Endpoint],
          tallies: Mapping[str, _Tally]) -> list[Finding]:
    """Findings for endpoints with attempts and no 2xx (deleted ones' rows may be gone)."""
    found = []
    for i in dead:
        ep = endpoints.get(i)
        found.append(Finding(i, ep.tenant_id if ep else "", ep.url if ep else "",
                             f"{tallies[i].attempts} attempts, none delivered"))
    return found


def _refused(endpoints: Sequence[Endpoint], resolve: Optional[Resolve]) -> list[Finding]:
    async def check_all() -> list[Finding]:
        gate = asyncio.Semaphore(DNS_CONCURRENCY)

        async def check(ep: Endpoint) -> Optional[Finding]:
            async with gate:
                try:
                    await validate_url(ep.url, allow_local=ep.allow_local, resolve=resolve)
                except DestinationRefusedError as exc:
                    return Finding(ep.id, ep.tenant_id, ep.url, exc.detail)
            return None

        found = await asyncio.gather(*(check(ep) for ep in endpoints))
        return sorted((f for f in found if f is not None),
                      key=lambda f: (f.tenant_id, f.endpoint_id))

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
    store = sender.store
    until = time.time() if now is None else now
    since = until - period
    endpoints = {ep.id: ep for ep in store.all_endpoints()}
    seen = _tally(store.period_attempts(since, until))
    tallies = seen.tallies
    days = _days(store.deliveries_per_day(since, until), seen)
    live = [ep for ep in endpoints.values() if ep.status in ("active", "paused")]
    dead = seen.dead()
    first_attempts, first_delivered = seen.first()
    return Review(
        since=since, until=until,
        deliveries=sum(d.deliveries for d in days),
        dead_lettered=sum(d.dead_lettered for d in days),
        attempts=sum(t.attempts for t in tallies.values()),
        first_attempts=first_attempts,
        first_delivered=first_delivered,
        p95_ms=_p95(seen.all_latency),
        success_trend=_trend(days),
        days=days,
        top_tenants=_top_tenants(store, since, until, top, endpoints, tallies),
        event_types=_event_types(store, since, until),
        unsubscribed_types=_unsubscribed(live, sender.catalog.event_types()),
        unrotated=_unrotated(store, live, until),
        stale=_stale(live, tallies, since),
        refused=_refused(live, resolve or sender.resolve),
        dead_endpoints=_dead(dead, endpoints, tallies),
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
