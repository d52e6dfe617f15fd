"""The SQL store's reads of a tenant's recent events (the portal's filter preview)."""

from __future__ import annotations

from ..models import id_at
from ._connections import Connections


class RecentEvents(Connections):
    """The newest events of a tenant, whatever their deliveries."""

    def recent_events(self, tenant_id: str, limit: int,
                      since: float) -> list[tuple[str, str, float, str]]:
        """A tenant's newest events enqueued at or after ``since``, newest first.

        The range on the event id (ids sort by creation time) bounds the scan of a store
        holding many events of other tenants.

        Args:
            tenant_id: The tenant.
            limit: Most events returned.
            since: Unix time.

        Returns:
            ``(event_id, event_type, created_at, payload)`` rows.
        """
        rows = self._read("SELECT id, type, created_at, payload FROM events WHERE id >= ?"
                          " AND tenant_id = ? ORDER BY id DESC LIMIT ?",
                          [id_at("evt", since), tenant_id, limit])
        return [(r[0], r[1], float(r[2]), r[3]) for r in rows]
