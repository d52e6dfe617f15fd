"""The SQL store's retention: purging finished deliveries and orphaned events."""

# Queries are assembled only from constant column lists and generated placeholders;
# every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from typing import Optional

from ._columns import LIVE
from ._connections import Connections
from .base import MAX_PURGE_BATCH_SIZE, PURGE_BATCH_SIZE, PurgeProgress


class Retention(Connections):
    """Deletes what the retention period lets go, in short batches."""

    def _orphan_events_query(self) -> str:
        # SQLite evaluates an uncorrelated NOT IN once into a temporary index; a correlated
        # NOT EXISTS would scan the deliveries once per event (no index on event_id).
        return ("SELECT id FROM events WHERE created_at < ? AND id NOT IN "
                "(SELECT event_id FROM deliveries)")

    def purge(
        self, before: float, *, batch_size: int = PURGE_BATCH_SIZE,
        on_progress: Optional[PurgeProgress] = None,
    ) -> int:
        """Delete finished deliveries older than ``before`` with their attempts and events.

        Each batch of at most ``batch_size`` deliveries (and their attempts) is deleted in
        its own short transaction, so enqueues and workers never wait for more than one
        batch. The candidates are read outside the transaction and re-checked by the
        delete, so a delivery replayed meanwhile is kept. Events older than ``before``
        left without deliveries are deleted last, in batches too.

        Args:
            before: Unix time: finished deliveries last updated before it go.
            batch_size: Most deliveries per transaction (1 to 10,000).
            on_progress: Called as ``on_progress(done, total)`` once before the first
                batch and after each committed one. ``total`` is counted first; if rows
                stop matching meanwhile (a replay), the last call reports
                ``(done, done)``.

        Returns:
            Deliveries deleted.
        """
        if not 1 <= batch_size <= MAX_PURGE_BATCH_SIZE:
            raise ValueError(f"batch_size must be 1 to {MAX_PURGE_BATCH_SIZE}")
        done_where = f"status NOT IN {LIVE} AND updated_at < ?"
        total = 0
        if on_progress is not None:
            total = int(self._read(f"SELECT COUNT(*) FROM deliveries WHERE {done_where}",
                                   [before])[0][0])
            on_progress(0, total)
        done, last = 0, ""
        while True:
            # Keyset over the primary key: the whole purge reads the table once.
            ids = [r[0] for r in self._read(
                f"SELECT id FROM deliveries WHERE id > ? AND {done_where} ORDER BY id LIMIT ?",
                [last, before, batch_size])]
            if not ids:
                break
            last = ids[-1]
            clause, vals = self._in("id", ids)
            with self.transaction() as conn:
                deleted = [r[0] for r in self._exec(
                    conn, f"DELETE FROM deliveries WHERE {clause} AND {done_where} RETURNING id",
                    [*vals, before]).fetchall()]
                if deleted:
                    clause, vals = self._in("delivery_id", deleted)
                    self._exec(conn, f"DELETE FROM attempts WHERE {clause}", vals)
            done += len(deleted)
            if on_progress is not None and deleted:
                total = max(total, done)
                on_progress(done, total)
            if len(ids) < batch_size:
                break
        if on_progress is not None and done != total:
            on_progress(done, done)
        self._purge_orphan_events(before, batch_size)
        return done

    def _purge_orphan_events(self, before: float, batch_size: int) -> None:
        """Delete events older than ``before`` that no delivery refers to, in batches."""
        # A deliveries-less event stays so: deliveries are only ever inserted with their
        # event. The orphans are found in one read into a connection-private temporary
        # table (no write lock held), then deleted batch by batch.
        conn = self.conn()
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS hookseal_purge_events "
                     "(id TEXT PRIMARY KEY)")
        try:
            conn.execute("DELETE FROM hookseal_purge_events")
            self._exec(conn, "INSERT INTO hookseal_purge_events "
                       f"{self._orphan_events_query()}", [before])
            last = ""
            while True:
                ids = [r[0] for r in self._read(
                    "SELECT id FROM hookseal_purge_events WHERE id > ? ORDER BY id LIMIT ?",
                    [last, batch_size])]
                if not ids:
                    break
                last = ids[-1]
                clause, vals = self._in("id", ids)
                revisions, rvals = self._in("event_id", ids)
                with self.transaction() as tx:
                    self._exec(tx, f"DELETE FROM events WHERE {clause}", vals)
                    # The bodies a corrected event replaced go with it.
                    self._exec(tx, f"DELETE FROM event_revisions WHERE {revisions}", rvals)
        finally:
            conn.execute("DROP TABLE IF EXISTS hookseal_purge_events")
