"""The SQL store's changes to the delivery log an operator asks for: replay and cancel."""

# Queries are assembled only from constant text and generated placeholders; every value
# is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Optional

from ..models import DeliveryFilter
from ._columns import JOINED, LIVE
from ._log import DeliveryLog


class ReplayAndCancel(DeliveryLog):
    """Finished deliveries back into the queue (replay), pending ones out of it (cancel)."""

    def replay(
        self, tenant_id: str, delivery_ids: Sequence[str], start: float, interval: float,
    ) -> int:
        """Make finished deliveries pending again, spaced ``interval`` apart.

        Args:
            tenant_id: The tenant.
            delivery_ids: The deliveries (others' or live ones are skipped).
            start: When the first is due.
            interval: Seconds between consecutive ones (the replay rate limit).

        Returns:
            How many were replayed.
        """
        count = 0
        with self.transaction() as conn:
            for d in delivery_ids:
                due = start + count * interval
                # Back into the queue first: the row's lock (PostgreSQL) or the write lock
                # (SQLite) makes a concurrent replay of the same delivery find it there.
                cur = self._exec(
                    conn,
                    "INSERT INTO queue (delivery_id, tenant_id, endpoint_id, event_id,"
                    " event_type, attempt_count, round_attempts, due, order_key, seq) SELECT"
                    " id, tenant_id, endpoint_id, event_id, event_type, attempt_count, 0, ?,"
                    " order_key, sequence FROM deliveries"
                    f" WHERE id = ? AND tenant_id = ? AND status NOT IN {LIVE}"
                    " ON CONFLICT (delivery_id) DO NOTHING",
                    [due, d, tenant_id],
                )
                if cur.rowcount != 1:
                    continue
                self._exec(
                    conn,
                    "UPDATE deliveries SET status = 'pending', round_attempts = 0,"
                    " next_attempt_at = ?, lease_owner = NULL, updated_at = ? WHERE id = ?",
                    [due, start, d],
                )
                count += 1
        return count

    def cancel(self, tenant_id: Optional[str], flt: DeliveryFilter,
               delivery_ids: Optional[Sequence[str]] = None, *,
               owner: Optional[str] = None) -> int:
        """Cancel pending deliveries matching a filter (or these ids).

        Deliveries a worker holds (leased) are left alone, except those of ``owner``.

        Args:
            tenant_id: The tenant (``None`` for internal use).
            flt: Filters.
            delivery_ids: Restrict to these ids.
            owner: A worker's lease token: its own leased deliveries may be cancelled too.

        Returns:
            How many were cancelled.
        """
        where, params = self._filter(tenant_id, flt)
        if delivery_ids is not None:
            if not delivery_ids:
                return 0
            clause, vals = self._in("d.id", list(delivery_ids))
            where += f" AND {clause}"
            params.extend(vals)
        lease = "lease_owner IS NULL" + (" OR lease_owner = ?" if owner else "")
        now = time.time()
        count = 0
        with self.transaction() as conn:
            # Out of the queue first (on PostgreSQL that locks the rows against claims, and
            # the lease is checked on the row as locked), then into the log, a bounded
            # number of ids per statement.
            gone = [r[0] for r in self._exec(
                conn,
                f"DELETE FROM queue WHERE delivery_id IN (SELECT d.id FROM {JOINED} WHERE"
                f" {where}) AND ({lease}) RETURNING delivery_id",
                [*params, *([owner] if owner else [])],
            ).fetchall()]
            for i in range(0, len(gone), self._STATUS_CHUNK):
                clause, vals = self._in("id", gone[i:i + self._STATUS_CHUNK])
                count += self._exec(
                    conn,
                    "UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL,"
                    f" lease_owner = NULL, updated_at = ? WHERE {clause}", [now, *vals],
                ).rowcount
        return count
