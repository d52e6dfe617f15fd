"""The SQL store's backfill: events written with their own ids, each at most once."""

# Queries are assembled only from constant column lists and generated placeholders;
# every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from ..models import new_id
from ._queue import Queue
from .base import BackfillRow


class Backfill(Queue):
    """Inserts events that never reached the outbox, keyed by their own ids (with the
    queue's delivery inserts, which each dialect writes its own way)."""

    _INSERT_EVENT_IF_ABSENT = (
        "INSERT INTO events (id, tenant_id, type, payload, created_at) VALUES (?,?,?,?,?)"
        " ON CONFLICT (id) DO NOTHING RETURNING id")

    def backfill_events(
        self, rows: Sequence[BackfillRow], now: float,
    ) -> list[Optional[list[tuple[str, str]]]]:
        """Insert each event unless its id is stored already, with a delivery for each
        endpoint of its tenant subscribed to its type, all in one transaction.

        The event and its deliveries are written together: an event id is the primary
        key, so the insert-if-absent decides, under the database's own locking, which of
        two concurrent backfills (or processes) writes it; the other writes nothing.

        Args:
            rows: The events.
            now: Unix time: the deliveries' creation and due time.

        Returns:
            Per row, the ``(delivery_id, endpoint_id)`` pairs written, or ``None`` if an
            event with that id was already stored.
        """
        out: list[Optional[list[tuple[str, str]]]] = [None] * len(rows)
        # In id order: every transaction takes its rows' key locks in one global order,
        # so two backfills overlapping in any way wait for each other, never deadlock.
        order = sorted(range(len(rows)), key=lambda i: rows[i].event_id)
        with self.transaction() as conn:
            subscribers: dict[tuple[str, str], list[str]] = {}
            for i in order:
                row = rows[i]
                inserted = self._exec(conn, self._INSERT_EVENT_IF_ABSENT, [
                    row.event_id, row.tenant_id, row.event_type, row.payload,
                    row.created]).fetchall()
                if not inserted:
                    continue
                key = (row.tenant_id, row.event_type)
                if key not in subscribers:
                    subscribers[key] = self.subscribed_endpoints(conn, *key)
                deliveries = [(new_id("dlv"), ep) for ep in subscribers[key]]
                self._insert_deliveries(conn, row.event_id, row.tenant_id, row.event_type,
                                        deliveries, now)
                out[i] = deliveries
        return out

    def stored_event_ids(self, event_ids: Sequence[str]) -> set[str]:
        """Which of these event ids are stored already.

        Args:
            event_ids: Event ids.

        Returns:
            Those found.
        """
        found: set[str] = set()
        ids = list(event_ids)
        for start in range(0, len(ids), 500):
            clause, vals = self._in("id", ids[start:start + 500])
            found.update(r[0] for r in self._read(f"SELECT id FROM events WHERE {clause}",
                                                  vals))
        return found

    def subscriber_counts(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """How many endpoints would receive an event of each ``(tenant, type)`` now.

        Args:
            keys: ``(tenant_id, event_type)`` pairs.

        Returns:
            The number of subscribed endpoints of each.
        """
        conn = self.conn()
        return {key: len(self.subscribed_endpoints(conn, *key)) for key in set(keys)}
