"""The SQL store's owner alerts: episodes told once, recent attempt counts, activity."""

# Queries are assembled only from constant column lists and generated placeholders;
# every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence

from ._connections import Connections
from .base import EndpointAttempts, StaleEndpoint


class OwnerAlerts(Connections):
    """Alert episodes (one row per kind and subject), recent attempts, endpoint activity."""

    def open_owner_alert(self, kind: str, subject: str, tenant_id: str, episode: str,
                         now: float) -> bool:
        """Open an episode unless this one is open already.

        One statement decides it, under the row's lock: of several processes seeing the
        same episode, exactly one gets ``True``.

        Args:
            kind: The alert (``endpoint_down``, ``tenant_failing``, ...).
            subject: What it is about (an endpoint or tenant id).
            tenant_id: Whose it is.
            episode: Names the episode (two episodes of a subject differ in it, or the
                first was closed).
            now: Unix time.

        Returns:
            Whether this call opened it (so the caller tells the owner).
        """
        with self.transaction() as conn:
            return bool(self._exec(
                conn,
                "INSERT INTO owner_alerts (kind, subject, tenant_id, episode, opened_at,"
                " closed_at) VALUES (?,?,?,?,?,NULL) ON CONFLICT (kind, subject) DO UPDATE"
                " SET tenant_id = excluded.tenant_id, episode = excluded.episode,"
                " opened_at = excluded.opened_at, closed_at = NULL"
                " WHERE owner_alerts.closed_at IS NOT NULL"
                " OR owner_alerts.episode <> excluded.episode RETURNING kind",
                [kind, subject, tenant_id, episode, now]).fetchall())

    def close_owner_alert(self, kind: str, subject: str, now: float) -> bool:
        """End an open episode.

        Args:
            kind: The alert.
            subject: What it is about.
            now: Unix time.

        Returns:
            Whether one was open.
        """
        with self.transaction() as conn:
            return bool(self._exec(
                conn, "UPDATE owner_alerts SET closed_at = ? WHERE kind = ? AND subject = ?"
                " AND closed_at IS NULL", [now, kind, subject]).rowcount)

    def open_owner_alerts(self, kind: str) -> list[tuple[str, str, str]]:
        """The open episodes of an alert.

        Args:
            kind: The alert.

        Returns:
            ``(subject, tenant_id, episode)`` of each.
        """
        return [(r[0], r[1], r[2]) for r in self._read(
            "SELECT subject, tenant_id, episode FROM owner_alerts WHERE kind = ?"
            " AND closed_at IS NULL ORDER BY subject", [kind])]

    def attempt_id_before(self, since: float) -> int:
        """A row id such that the attempts with larger ids are those made since ``since``.

        Attempts get their row ids as they are written, a few seconds after they are made,
        so ids follow time: a binary search over the primary key finds the first attempt
        made at or after ``since`` in about 20 index lookups, however large the table.
        Callers give ``since`` a margin for attempts written late.

        Args:
            since: Unix time.

        Returns:
            The id before that attempt (0 if none is older).
        """
        lo, hi = self._read("SELECT MIN(id), MAX(id) FROM attempts")[0]
        if lo is None:
            return 0
        lo, hi = int(lo), int(hi) + 1
        while lo < hi:
            mid = (lo + hi) // 2
            row = self._read("SELECT id, at FROM attempts WHERE id >= ? ORDER BY id LIMIT 1",
                             [mid])
            if not row or row[0][1] >= since:
                hi = mid
            else:
                lo = int(row[0][0]) + 1
        return lo - 1

    def recent_attempts_by_endpoint(self, after_id: int, since: float) -> list[EndpointAttempts]:
        """Each endpoint's attempts made since ``since`` with a row id above ``after_id``.

        ``after_id`` bounds the read to the newest rows (the primary key's range), so a
        caller that remembers an id from before ``since`` reads only the recent attempts.

        Args:
            after_id: Only attempts with a larger row id (0: all).
            since: Only attempts made at or after this Unix time.

        Returns:
            Per endpoint with such attempts: counts and the newest times.
        """
        return [EndpointAttempts(r[0], r[1], int(r[2]), int(r[3]), float(r[4]),
                                 None if r[5] is None else float(r[5]))
                for r in self._read(
            "SELECT d.tenant_id, d.endpoint_id, COUNT(*),"
            " SUM(CASE WHEN a.outcome = 'delivered' THEN 0 ELSE 1 END), MAX(a.at),"
            " MAX(CASE WHEN a.outcome = 'delivered' THEN a.at END)"
            " FROM attempts a JOIN deliveries d ON d.id = a.delivery_id"
            " WHERE a.id > ? AND a.at >= ? GROUP BY d.tenant_id, d.endpoint_id"
            " ORDER BY d.endpoint_id", [after_id, since])]

    def record_endpoint_activity(self, rows: Sequence[EndpointAttempts], now: float) -> None:
        """Move endpoints' last-attempted and last-delivered times forward (never back).

        Args:
            rows: Recent attempts per endpoint.
            now: Unix time (when tracking of a new endpoint starts).
        """
        def newer(col: str) -> str:
            return (f"CASE WHEN excluded.{col} IS NULL THEN endpoint_activity.{col}"
                    f" WHEN endpoint_activity.{col} IS NULL OR excluded.{col} >"
                    f" endpoint_activity.{col} THEN excluded.{col}"
                    f" ELSE endpoint_activity.{col} END")

        if not rows:
            return
        with self.transaction() as conn:
            self._many(
                conn,
                "INSERT INTO endpoint_activity (endpoint_id, tenant_id, first_seen,"
                " last_attempted_at, last_delivered_at) VALUES (?,?,?,?,?)"
                " ON CONFLICT (endpoint_id) DO UPDATE SET"
                f" last_attempted_at = {newer('last_attempted_at')},"
                f" last_delivered_at = {newer('last_delivered_at')}",
                [(r.endpoint_id, r.tenant_id, now, r.last_attempt_at, r.last_delivered_at)
                 for r in rows])

    def stale_endpoints(self, before: float) -> list[StaleEndpoint]:
        """Active endpoints attempted but not delivered to since ``before``.

        An endpoint counts only if its activity has been tracked since ``before``, it
        was attempted at least once, nothing was delivered to it since ``before``, and
        it was neither created nor changed (a resume, an edit) since then.

        Args:
            before: Unix time.

        Returns:
            The endpoints, oldest last delivery first.
        """
        return [StaleEndpoint(r[0], r[1], float(r[2]), None if r[3] is None else float(r[3]))
                for r in self._read(
            "SELECT e.id, e.tenant_id, a.last_attempted_at, a.last_delivered_at"
            " FROM endpoints e JOIN endpoint_activity a ON a.endpoint_id = e.id"
            " WHERE e.status = 'active' AND a.first_seen <= ? AND e.created_at <= ?"
            " AND e.updated_at <= ? AND a.last_attempted_at IS NOT NULL"
            " AND (a.last_delivered_at IS NULL OR a.last_delivered_at < ?)"
            " ORDER BY COALESCE(a.last_delivered_at, 0), e.id",
            [before, before, before, before])]
