"""The SQL store's aggregate reads: endpoint health samples and the periodic review."""

# Queries are assembled only from constant text; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterator

from ..models import id_at
from ._connections import Connections
from ._log import ID_SLACK
from .base import AttemptSample, PeriodAttempt, TenantCounts


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
