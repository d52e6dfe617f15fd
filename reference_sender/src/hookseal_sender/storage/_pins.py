"""The SQL store's part of pinned versions (contract 4.2): pinned endpoints, the sunset
notices already sent, and moving a pin past its sunset."""

# Queries are assembled only from constant column lists; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import json

from ..models import AuditEntry, Endpoint
from ._columns import ENDPOINT_COLS, to_endpoint
from ._connections import Connections


class Pins(Connections):
    """Pinned endpoints, sunset notices claimed once, and pin moves with their audit entry."""

    def pinned_endpoints(self) -> list[Endpoint]:
        """Every tenant's endpoints that pin a version, but deleted ones.

        Returns:
            The endpoints, by id.
        """
        return [to_endpoint(r) for r in self._read(
            f"SELECT {','.join(ENDPOINT_COLS)} FROM endpoints WHERE versions IS NOT NULL"
            " AND status <> 'deleted' ORDER BY id")]

    def claim_sunset_notice(self, key: str, endpoint_id: str, now: float) -> bool:
        """Record that a sunset notice is being sent, unless one was already.

        A unique key, not a read then a write: of several processes that try at once, one
        wins, and a restarted one finds it taken.

        Args:
            key: The notice (endpoint, type, version and how many days before).
            endpoint_id: The endpoint.
            now: Unix time.

        Returns:
            True if this call claimed it (send the notice); False if it was taken.
        """
        with self.transaction() as conn:
            return bool(self._exec(
                conn, "INSERT INTO sunset_notices (id, endpoint_id, at) VALUES (?,?,?)"
                " ON CONFLICT (id) DO NOTHING", [key, endpoint_id, now]).rowcount)

    def move_pins(self, endpoint: Endpoint, versions: dict[str, int],
                  entry: AuditEntry) -> bool:
        """Set an endpoint's pins and append the audit entry, in one transaction, if the
        endpoint is still as read (its ``version``): of several processes, one moves it.

        Args:
            endpoint: The endpoint as read.
            versions: Its new pins.
            entry: The audit entry recording the move.

        Returns:
            True if this call moved it.
        """
        with self.transaction() as conn:
            moved = bool(self._exec(
                conn, "UPDATE endpoints SET versions = ?, version = version + 1, updated_at = ?"
                " WHERE id = ? AND version = ?",
                [json.dumps(versions), entry.at, endpoint.id, endpoint.version]).rowcount)
            if moved:
                self._exec(
                    conn, "INSERT INTO audit_log (id, tenant_id, actor, action, reason, target,"
                    " at) VALUES (?,?,?,?,?,?,?)",
                    [entry.id, entry.tenant_id, entry.actor, entry.action, entry.reason,
                     json.dumps(entry.target), entry.at])
            return moved
