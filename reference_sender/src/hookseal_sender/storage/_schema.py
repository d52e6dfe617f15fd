"""The SQL schema and its migrations (from older schemas to this one)."""

# Statements are constant text; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from typing import Any

from ._columns import LIVE
from ._connections import Connections

#: The tables and indexes, with ``{REAL}`` and ``{SERIAL}`` left to each dialect.
SCHEMA = """
CREATE TABLE IF NOT EXISTS endpoints (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    url TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    profile TEXT NOT NULL,
    header_prefix TEXT NOT NULL,
    event_types TEXT,
    signing TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    retry_schedule TEXT,
    retry_after_cap {REAL},
    timeout {REAL},
    allow_local INTEGER NOT NULL DEFAULT 0,
    notify_email TEXT,
    failing_since {REAL},
    created_at {REAL} NOT NULL,
    updated_at {REAL} NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS endpoints_tenant ON endpoints (tenant_id, id);
CREATE TABLE IF NOT EXISTS endpoint_keys (
    id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    secret_enc TEXT NOT NULL,
    public_key TEXT,
    created_at {REAL} NOT NULL,
    expires_at {REAL}
);
CREATE INDEX IF NOT EXISTS endpoint_keys_endpoint ON endpoint_keys (endpoint_id);
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at {REAL} NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    status TEXT NOT NULL,
    attempt_count INTEGER NOT NULL DEFAULT 0,
    round_attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at {REAL},
    -- Leases live in the queue now: unused, kept so that stores made before open as is.
    lease_owner TEXT,
    last_status_code INTEGER,
    last_error TEXT,
    created_at {REAL} NOT NULL,
    updated_at {REAL} NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_tenant ON deliveries (tenant_id, id);
CREATE INDEX IF NOT EXISTS deliveries_endpoint ON deliveries (endpoint_id, id);
-- The queue: one row per live delivery (pending or leased), deleted when it finishes.
-- Claims, releases and leases change only this table and its two indexes: the log's
-- indexes (deliveries) change when a delivery is created and when it finishes. (A claim
-- that updated the deliveries row wrote an entry into every deliveries index: on
-- PostgreSQL, with 1,000,000 rows, that made claims 20 % slower than with 10,000.)
-- It carries what a claim hands the worker, so a claim reads nothing else but the payload.
CREATE TABLE IF NOT EXISTS queue (
    delivery_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    attempt_count INTEGER NOT NULL DEFAULT 0,
    round_attempts INTEGER NOT NULL DEFAULT 0,
    due {REAL} NOT NULL,
    lease_owner TEXT
);
CREATE INDEX IF NOT EXISTS queue_due ON queue (due);
CREATE TABLE IF NOT EXISTS attempts (
    id {SERIAL},
    delivery_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    at {REAL} NOT NULL,
    status_code INTEGER,
    error TEXT,
    latency_ms {REAL} NOT NULL,
    response_headers TEXT NOT NULL,
    response_body TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_delivery ON attempts (delivery_id, number);
CREATE TABLE IF NOT EXISTS audit_log (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    target TEXT NOT NULL,
    at {REAL} NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_tenant ON audit_log (tenant_id, id);
"""


class Schema(Connections):
    """Creates the schema and brings an older one up to date."""

    def migrate(self) -> None:
        """Create the schema, or bring an older one up to date (idempotent)."""
        with self.transaction() as conn:
            self._apply_schema(conn)

    def _apply_schema(self, conn: Any) -> None:
        """Run the schema's statements and the migrations in the caller's transaction."""
        for stmt in self._schema().split(";"):
            if stmt.strip():
                conn.execute(stmt)
        if self._has_index(conn, "deliveries_claim"):
            self._move_live_deliveries_to_queue(conn)

    def _has_index(self, conn: Any, name: str) -> bool:
        """Whether the database has an index of this name."""
        raise NotImplementedError

    def _move_live_deliveries_to_queue(self, conn: Any) -> None:
        """From the schema before the queue table (until 5 Dec 2026): live deliveries were
        claimed in the deliveries table itself, through its index deliveries_claim."""
        self._exec(
            conn,
            "INSERT INTO queue (delivery_id, tenant_id, endpoint_id, event_id, event_type,"
            " attempt_count, round_attempts, due, lease_owner) SELECT id, tenant_id,"
            " endpoint_id, event_id, event_type, attempt_count, round_attempts,"
            f" COALESCE(next_attempt_at, 0), lease_owner FROM deliveries WHERE status IN {LIVE}"
            " ON CONFLICT (delivery_id) DO NOTHING",
        )
        self._exec(conn, "UPDATE deliveries SET status = 'pending', lease_owner = NULL"
                   " WHERE status = 'delivering'")
        self._exec(conn, "DROP INDEX deliveries_claim")
