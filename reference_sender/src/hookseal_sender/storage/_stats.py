"""The SQL store's aggregate reads: endpoint health, the portal's figures, the periodic review."""

# Queries are assembled only from constant text; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Optional

from ..models import id_at
from ._connections import Connections
from ._log import ID_SLACK
from .base import (
    AttemptFigures,
    AttemptSample,
    DeliveryFigures,
    FailureCount,
    PeriodAttempt,
    TenantCounts,
)

#: The attempts of the deliveries a ``WHERE`` over ``d`` selects, as ``a``.
_ATTEMPTS = "attempts a JOIN deliveries d ON d.id = a.delivery_id"


class Aggregates(Connections):
    """Counts and samples over periods (see :class:`~hookseal_sender.storage.base.Statistics`)."""

    def recent_attempts(
        self, tenant_id: str, endpoint_id: str, since: float, *, created_since: float,
        sample: int,
    ) -> list[AttemptSample]:
        """A tenant endpoint's recent attempts, newest first.

        Args:
            tenant_id: The tenant; another tenant's endpoint has no attempts here.
            endpoint_id: The endpoint.
            since: Only attempts made at or after this time.
            created_since: Only attempts of deliveries created at or after this time.
            sample: Only attempts of the endpoint's latest ``sample`` such deliveries.

        Returns:
            The attempts.
        """
        # Ids begin with their creation time: the lowest id bounds the index range.
        lowest = id_at("dlv", created_since - ID_SLACK)
        return [AttemptSample(float(r[0]), str(r[1]), r[2], float(r[3])) for r in self._read(
            "SELECT a.at, a.outcome, a.status_code, a.latency_ms FROM attempts a"
            " WHERE a.at >= ? AND a.delivery_id IN (SELECT id FROM deliveries"
            " WHERE tenant_id = ? AND endpoint_id = ? AND id >= ? ORDER BY id DESC LIMIT ?)"
            " ORDER BY a.at DESC", [since, tenant_id, endpoint_id, lowest, sample])]

    def period_attempts(self, since: float, until: float) -> Iterator[PeriodAttempt]:
        """Every attempt made in the period, streamed.

        Args:
            since: Start (included).
            until: End (excluded).

        Returns:
            ``(endpoint_id, at, number, outcome, status_code, latency_ms)`` rows.
        """
        return self._stream("SELECT d.endpoint_id, a.at, a.number, a.outcome, a.status_code,"
                            " a.latency_ms FROM attempts a JOIN deliveries d ON d.id ="
                            " a.delivery_id WHERE a.at >= ? AND a.at < ?", [since, until])

    def deliveries_per_day(self, since: float, until: float) -> dict[int, tuple[int, int]]:
        """Deliveries created per UTC day of the period, and how many are dead-lettered.

        Args:
            since: Start (included).
            until: End (excluded).

        Returns:
            Day number (Unix time // 86400) to ``(deliveries, dead_lettered)``.
        """
        day = self._day("created_at")
        return {int(r[0]): (int(r[1]), int(r[2])) for r in self._read(
            f"SELECT {day}, COUNT(*), SUM(CASE WHEN status = 'dead_lettered' THEN 1 ELSE 0"
            f" END) FROM deliveries WHERE created_at >= ? AND created_at < ? GROUP BY {day}",
            [since, until])}

    def deliveries_per_tenant(self, since: float, until: float) -> list[TenantCounts]:
        """Each tenant's deliveries created in the period.

        Args:
            since: Start (included).
            until: End (excluded).

        Returns:
            The counts, a tenant each.
        """
        return [TenantCounts(r[0], int(r[1]), int(r[2]), int(r[3])) for r in self._read(
            "SELECT tenant_id, COUNT(*), SUM(CASE WHEN status = 'delivered' THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN status = 'dead_lettered' THEN 1 ELSE 0 END) FROM deliveries"
            " WHERE created_at >= ? AND created_at < ? GROUP BY tenant_id", [since, until])]

    def events_per_type(self, since: float, until: float) -> dict[str, tuple[int, int]]:
        """Events created in the period per type, and how many of them have deliveries.

        Args:
            since: Start (included).
            until: End (excluded).

        Returns:
            Event type to ``(events, routed)``.
        """
        window = [since, until]
        routed = {r[0]: int(r[1]) for r in self._read(
            "SELECT event_type, COUNT(DISTINCT event_id) FROM deliveries WHERE created_at >= ?"
            " AND created_at < ? GROUP BY event_type", window)}
        return {r[0]: (int(r[1]), routed.get(r[0], 0)) for r in self._read(
            "SELECT type, COUNT(*) FROM events WHERE created_at >= ? AND created_at < ?"
            " GROUP BY type", window)}

    def newest_key_times(self) -> dict[str, float]:
        """When each endpoint's newest key was created.

        Returns:
            Endpoint id to Unix time, for endpoints with keys.
        """
        return {r[0]: float(r[1]) for r in self._read(
            "SELECT endpoint_id, MAX(created_at) FROM endpoint_keys GROUP BY endpoint_id")}

    # figures for the portal --------------------------------------------------
    def _percentiles(self, where: str, params: Sequence[Any], n: int,
                     qs: Sequence[float]) -> list[Optional[float]]:
        """Percentiles of ``a.latency_ms`` over the ``n`` answered attempts ``where``
        selects, interpolated as PostgreSQL's ``percentile_cont`` (and Python's
        ``statistics.quantiles(method="inclusive")``): the same answer on both backends,
        and only the one or two rows around each rank are read back."""
        out: list[Optional[float]] = []
        for q in qs:
            if n == 0:
                out.append(None)
                continue
            rank = (n - 1) * q
            low = int(rank)
            rows = self._read(f"SELECT a.latency_ms FROM {_ATTEMPTS} WHERE {where}"
                              " AND a.status_code IS NOT NULL ORDER BY a.latency_ms"
                              " LIMIT 2 OFFSET ?", [*params, low])
            lo = float(rows[0][0])
            hi = float(rows[1][0]) if len(rows) > 1 else lo
            out.append(lo + (hi - lo) * (rank - low))
        return out

    def _attempt_figures(self, where: str, params: Sequence[Any]) -> AttemptFigures:
        """Counts and latency of the attempts ``where`` (over ``a`` and ``d``) selects."""
        row = self._read(
            "SELECT COUNT(*), SUM(CASE WHEN a.outcome = 'delivered' THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN a.status_code IS NOT NULL THEN 1 ELSE 0 END), MAX(a.at)"
            f" FROM {_ATTEMPTS} WHERE {where}", params)[0]
        answered = int(row[2] or 0)
        p50, p95 = self._percentiles(where, params, answered, (0.5, 0.95))
        return AttemptFigures(attempts=int(row[0]), delivered=int(row[1] or 0),
                              answered=answered, latency_p50_ms=p50, latency_p95_ms=p95,
                              last_attempt_at=None if row[3] is None else float(row[3]))

    def endpoint_attempt_figures(
        self, tenant_id: str, endpoint_id: str, since: float, *, created_since: float,
    ) -> AttemptFigures:
        """Every attempt to a tenant's endpoint made since ``since``, counted exactly.

        Args:
            tenant_id: The tenant; another tenant's endpoint has no attempts here.
            endpoint_id: The endpoint.
            since: Only attempts made at or after this time.
            created_since: Only attempts of deliveries created at or after this time (a
                delivery attempted since ``since`` was created at most a retry window
                before; ids begin with their creation time, so this bounds the index range).

        Returns:
            How many attempts, how many delivered, their latency and the latest one's time.
        """
        return self._attempt_figures(
            "d.tenant_id = ? AND d.endpoint_id = ? AND d.id >= ? AND a.at >= ?",
            [tenant_id, endpoint_id, id_at("dlv", created_since - ID_SLACK), since])

    def delivery_figures(
        self, tenant_id: str, since: float, until: float, *, endpoint_id: Optional[str] = None,
        event_type: Optional[str] = None, recent_since: Optional[float] = None,
    ) -> DeliveryFigures:
        """What became of a tenant's deliveries created in a period.

        Every figure is an exact count over the period's deliveries (and their attempts),
        read through the ``(tenant_id, id)`` index: ids begin with their creation time, so
        the period is an index range and the cost follows the period's deliveries, not
        the size of the log.

        Args:
            tenant_id: The tenant; no other tenant's delivery is ever counted.
            since: Start of the period (included).
            until: End of the period (excluded).
            endpoint_id: Only deliveries to this endpoint.
            event_type: Only deliveries of this event type.
            recent_since: Also count the deliveries created since this time (a shorter
                period inside this one, e.g. the last day of the last week).

        Returns:
            The figures.
        """
        conds = ["d.tenant_id = ?", "d.id >= ?", "d.id < ?", "d.created_at >= ?",
                 "d.created_at < ?"]
        params: list[Any] = [tenant_id, id_at("dlv", since - ID_SLACK),
                             id_at("dlv", until + ID_SLACK), since, until]
        if endpoint_id:
            conds.append("d.endpoint_id = ?")
            params.append(endpoint_id)
        if event_type:
            conds.append("d.event_type = ?")
            params.append(event_type)
        where = " AND ".join(conds)
        recent = until if recent_since is None else recent_since
        row = self._read(
            "SELECT COUNT(*), SUM(CASE WHEN d.created_at >= ? THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN d.status = 'delivered' AND d.attempt_count <= 1 THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN d.status = 'delivered' AND d.attempt_count > 1 THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN d.status IN ('failed', 'dead_lettered') THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN d.status = 'cancelled' THEN 1 ELSE 0 END)"
            f" FROM deliveries d WHERE {where}", [recent, *params])[0]
        total, first, retried, failed, cancelled = (int(row[i] or 0) for i in (0, 2, 3, 4, 5))
        # An answered attempt failed by its status; an unanswered one by its error.
        top = self._read(
            "SELECT a.status_code, CASE WHEN a.status_code IS NULL THEN a.error END, COUNT(*)"
            f" FROM {_ATTEMPTS} WHERE {where} AND a.outcome <> 'delivered'"
            " GROUP BY a.status_code, CASE WHEN a.status_code IS NULL THEN a.error END"
            " ORDER BY COUNT(*) DESC, COALESCE(a.status_code, 0),"
            " CASE WHEN a.status_code IS NULL THEN a.error END LIMIT 1", params)
        return DeliveryFigures(
            since=since, until=until, deliveries=total, recent_since=recent_since,
            recent=int(row[1] or 0), delivered_first=first, delivered_retried=retried,
            failed=failed, in_progress=total - first - retried - failed - cancelled,
            cancelled=cancelled, attempts=self._attempt_figures(where, params),
            top_failure=FailureCount(top[0][0], top[0][1], int(top[0][2])) if top else None)
