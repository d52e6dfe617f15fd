"""The SQL store's circuit breakers: one row per endpoint whose breaker is open or being
probed, shared by every worker and process on the store."""

# Queries are assembled only from constants; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from ._columns import IS_PARKED, PARKED
from ._connections import Connections
from .base import BreakerRow

# Each is one statement, atomic on both backends (autocommit). The probe's UPDATE is the
# one that must be: PostgreSQL re-checks its WHERE on the row a concurrent taker just
# committed (open_until moved ahead), so of two takers one finds no row; SQLite runs
# writes one at a time.
_OPEN = (
    "INSERT INTO endpoint_breakers (endpoint_id, state, open_until, opened_by, probed_by,"
    " updated_at) VALUES (?, 'open', ?, ?, NULL, ?) ON CONFLICT (endpoint_id) DO UPDATE SET"
    " state = 'open', open_until = excluded.open_until, opened_by = excluded.opened_by,"
    " probed_by = NULL, updated_at = excluded.updated_at"
)
# An endpoint's waiting rows, found through the log's endpoint index (the queue has none
# of its own, so that claims keep few indexes up to date); its parked rows, through the
# partial index of parked rows.
_PARK = (f"UPDATE queue SET due = due + {PARKED} WHERE delivery_id IN (SELECT id FROM"
         " deliveries WHERE endpoint_id = ? AND status = 'pending') AND lease_owner IS NULL"
         f" AND due < {PARKED}")
_UNPARK = f"UPDATE queue SET due = due - {PARKED} WHERE endpoint_id = ? AND {IS_PARKED}"
_TAKE_PROBE = (
    "UPDATE endpoint_breakers SET state = 'half_open', open_until = ?, probed_by = ?,"
    " updated_at = ? WHERE endpoint_id = ? AND open_until <= ?"
)


class Breakers(Connections):
    """Open, probe and close endpoints' circuit breakers for every worker at once."""

    def breakers(self) -> list[BreakerRow]:
        """The endpoints whose breaker is not closed, but disabled and deleted ones.

        A disabled endpoint's row stays (it is listed again if the endpoint is enabled),
        but no worker follows or probes it meanwhile.

        Returns:
            One row each (closed breakers have none).
        """
        return [BreakerRow(r[0], r[1], float(r[2]), r[3], r[4], float(r[5])) for r in self._read(
            "SELECT endpoint_id, state, open_until, opened_by, probed_by, updated_at"
            " FROM endpoint_breakers b WHERE NOT EXISTS (SELECT 1 FROM endpoints e"
            " WHERE e.id = b.endpoint_id AND e.status IN ('disabled', 'deleted'))")]

    def open_breaker(self, endpoint_id: str, owner: str, now: float, until: float) -> None:
        """Open an endpoint's breaker (or open it again after a failed probe) until
        ``until``, for every worker.

        Opening a closed breaker parks the endpoint's waiting deliveries (not those
        leased) in the same transaction: no plain claim reads them until it closes, its
        probe claims one by endpoint. Opening it again parks nothing (what came since is
        parked by the workers whose claims bring it: :meth:`park`).

        Args:
            endpoint_id: The endpoint.
            owner: The worker that opened it.
            now: Unix time.
            until: When a probe may be taken.
        """
        with self.transaction() as conn:
            was_open = self._exec(conn, "SELECT 1 FROM endpoint_breakers WHERE endpoint_id = ?",
                                  [endpoint_id]).fetchone()
            self._exec(conn, _OPEN, [endpoint_id, until, owner, now])
            if was_open is None:
                self._exec(conn, _PARK, [endpoint_id])

    def take_breaker_probe(self, endpoint_id: str, owner: str, now: float,
                           until: float) -> bool:
        """Take the right to probe an open endpoint whose open period has ended.

        Atomic: of any number of workers asking at once, one gets it. The breaker is then
        half-open until ``until``; if its taker has not closed or reopened it by then (it
        died), the right may be taken again.

        Args:
            endpoint_id: The endpoint.
            owner: The worker asking.
            now: Unix time.
            until: When the right lapses (the probe's lease).

        Returns:
            Whether this call took it.
        """
        cur = self._exec(self.conn(), _TAKE_PROBE, [until, owner, now, endpoint_id, now])
        return int(cur.rowcount) == 1

    def close_breaker(self, endpoint_id: str) -> bool:
        """Close an endpoint's breaker for every worker (its probe succeeded), and take its
        parked deliveries off again in the same transaction: each is due when it was
        before it was parked (those waiting: at once).

        Args:
            endpoint_id: The endpoint.

        Returns:
            Whether it was open or half-open.
        """
        with self.transaction() as conn:
            cur = self._exec(conn, "DELETE FROM endpoint_breakers WHERE endpoint_id = ?",
                             [endpoint_id])
            self._exec(conn, _UNPARK, [endpoint_id])
        return int(cur.rowcount) > 0
