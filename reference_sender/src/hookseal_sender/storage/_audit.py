"""The SQL store's audit log."""

# Queries are assembled only from constant column lists and generated placeholders;
# every value is a bound parameter.

from __future__ import annotations

import json

from ..models import AuditEntry
from ._connections import Connections


class Audit(Connections):
    """Appends to and reads a tenant's audit log."""

    def add_audit(self, entry: AuditEntry) -> None:
        """Append to the audit log.

        Args:
            entry: The entry.
        """
        with self.transaction() as conn:
            self._exec(
                conn,
                "INSERT INTO audit_log (id, tenant_id, actor, action, reason, target, at)"
                " VALUES (?,?,?,?,?,?,?)",
                [entry.id, entry.tenant_id, entry.actor, entry.action, entry.reason,
                 json.dumps(entry.target), entry.at],
            )

    def list_audit(self, tenant_id: str, limit: int = 100) -> list[AuditEntry]:
        """A tenant's audit log, newest first.

        Args:
            tenant_id: The tenant.
            limit: Most entries.

        Returns:
            The entries.
        """
        return [
            AuditEntry(id=r[0], tenant_id=r[1], actor=r[2], action=r[3], reason=r[4],
                       target=json.loads(r[5]), at=r[6])
            for r in self._read(
                "SELECT id, tenant_id, actor, action, reason, target, at FROM audit_log"
                " WHERE tenant_id = ? ORDER BY id DESC LIMIT ?", [tenant_id, limit])
        ]
