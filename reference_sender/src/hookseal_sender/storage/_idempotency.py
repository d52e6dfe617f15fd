"""The SQL store's idempotency keys: taking a key for a send, atomically across processes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Optional

from ._connections import Connections
from .base import IdempotencyRecord

# Taking the key is one statement: the primary key (tenant_id, key) makes a second
# transaction with the same key wait for the first to end (PostgreSQL), or run after it
# (SQLite's one writer), and then conflict, so two sends can never both take it. An
# expired row is taken over in the same statement; a live one is left alone and RETURNING
# gives nothing.
_TAKE = (
    "INSERT INTO idempotency_keys (tenant_id, key, event_id, fingerprint, created_at)"
    " VALUES (?,?,?,?,?) ON CONFLICT (tenant_id, key) DO UPDATE SET"
    " event_id = excluded.event_id, fingerprint = excluded.fingerprint, deliveries = NULL,"
    " created_at = excluded.created_at WHERE idempotency_keys.created_at < ?"
    " RETURNING event_id"
)
# Run after a conflict, so (READ COMMITTED, and SQLite's one writer) it sees the row the
# other transaction committed.
_HOLDER = (
    "SELECT k.event_id, k.fingerprint, k.deliveries, e.payload FROM idempotency_keys k"
    " LEFT JOIN events e ON e.id = k.event_id WHERE k.tenant_id = ? AND k.key = ?"
)
#: Tries to take a key whose holder vanished between the two statements (purged).
_TRIES = 3


class IdempotencyKeys(Connections):
    """The keys of idempotent sends, written in the event's own transaction."""

    def claim_idempotency_key(
        self, conn: Any, tenant_id: str, key: str, event_id: str, fingerprint: str,
        now: float, expired_before: float,
    ) -> Optional[IdempotencyRecord]:
        """See :meth:`Store.claim_idempotency_key`.

        Args:
            conn: The open transaction's connection.
            tenant_id: The tenant.
            key: The idempotency key.
            event_id: The new event's id.
            fingerprint: The new event's fingerprint.
            now: Unix time (the key's creation time if taken).
            expired_before: Rows created before this are expired.

        Returns:
            ``None`` if taken, else the send holding the key.
        """
        for _ in range(_TRIES):
            taken = self._exec(conn, _TAKE, [tenant_id, key, event_id, fingerprint, now,
                                             expired_before]).fetchall()
            if taken:
                return None
            row = self._exec(conn, _HOLDER, [tenant_id, key]).fetchone()
            if row is not None:
                pairs = json.loads(row[2]) if row[2] else []
                return IdempotencyRecord(row[0], row[1], [(d, e) for d, e in pairs],
                                         row[3] or "")
        raise RuntimeError(f"idempotency key {key!r} of {tenant_id!r} kept vanishing")

    def record_idempotency_deliveries(
        self, conn: Any, tenant_id: str, key: str, deliveries: Sequence[tuple[str, str]],
    ) -> None:
        """See :meth:`Store.record_idempotency_deliveries`.

        Args:
            conn: The open transaction's connection.
            tenant_id: The tenant.
            key: The idempotency key, taken by this transaction.
            deliveries: The event's ``(delivery_id, endpoint_id)`` pairs.
        """
        self._exec(conn, "UPDATE idempotency_keys SET deliveries = ? WHERE tenant_id = ?"
                   " AND key = ?", [json.dumps([list(p) for p in deliveries]), tenant_id, key])
