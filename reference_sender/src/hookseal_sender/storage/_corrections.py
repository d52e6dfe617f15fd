"""The SQL store's corrected events: the event as stored, and the bodies it replaced."""

# Queries are constant text; every value is a bound parameter.

from __future__ import annotations

from typing import Optional

from ..records import EventRevision, StoredEvent
from ._connections import Connections


class Corrections(Connections):
    """Reads an event, replaces its body keeping the old one, lists the old ones."""

    def get_event(self, tenant_id: str, event_id: str) -> Optional[StoredEvent]:
        """One of a tenant's events, as stored.

        Args:
            tenant_id: The tenant.
            event_id: The event.

        Returns:
            The event, or ``None``.
        """
        rows = self._read("SELECT id, tenant_id, type, payload, created_at FROM events"
                          " WHERE id = ? AND tenant_id = ?", [event_id, tenant_id])
        return StoredEvent(*rows[0]) if rows else None

    def correct_event(self, tenant_id: str, event_id: str, payload: str,
                      revision_id: str, actor: str, reason: str, now: float) -> bool:
        """Replace an event's body, keeping the one it had as a revision, atomically.

        Args:
            tenant_id: The tenant.
            event_id: The event.
            payload: The corrected body.
            revision_id: Id of the revision row keeping the replaced body.
            actor: Who (kept with the revision).
            reason: Why.
            now: Unix time.

        Returns:
            Whether the tenant has this event (nothing changes if not).
        """
        with self.transaction() as conn:
            cur = self._exec(
                conn,
                "INSERT INTO event_revisions (id, event_id, tenant_id, payload, actor, reason,"
                " at) SELECT ?, id, tenant_id, payload, ?, ?, ? FROM events"
                " WHERE id = ? AND tenant_id = ?",
                [revision_id, actor, reason, now, event_id, tenant_id])
            if cur.rowcount != 1:
                return False
            self._exec(conn, "UPDATE events SET payload = ? WHERE id = ? AND tenant_id = ?",
                       [payload, event_id, tenant_id])
        return True

    def event_revisions(self, tenant_id: str, event_id: str) -> list[EventRevision]:
        """The bodies an event had before each correction, oldest first (the first is
        the original).

        Args:
            tenant_id: The tenant.
            event_id: The event.

        Returns:
            The revisions (none if it was never corrected).
        """
        return [EventRevision(*r) for r in self._read(
            "SELECT id, event_id, tenant_id, payload, actor, reason, at FROM event_revisions"
            " WHERE event_id = ? AND tenant_id = ? ORDER BY id", [event_id, tenant_id])]
