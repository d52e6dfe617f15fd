"""The SQL schema and its migrations (from older schemas to this one)."""

# Statements are constant text; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import re
from typing import Any

from ._columns import IS_PARKED, LIVE
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
    version INTEGER NOT NULL DEFAULT 1,
    versions TEXT,
    filter TEXT,
    headers TEXT,
    redact TEXT,
    rate_limit {REAL},
    batch TEXT,
    ordering TEXT,
    auth TEXT,
    tls_ca_pem TEXT
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
    updated_at {REAL} NOT NULL,
    batch_id TEXT,
    -- Ordered delivery (contract 4.5): the event's key and its number for this endpoint.
    order_key TEXT,
    sequence INTEGER
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
    lease_owner TEXT,
    -- Ordered deliveries only: a row is claimed only while no row of the same endpoint and
    -- key with a smaller seq is left in the queue (pending, retrying or in flight).
    order_key TEXT,
    seq INTEGER
);
CREATE INDEX IF NOT EXISTS queue_due ON queue (due);
CREATE INDEX IF NOT EXISTS queue_order ON queue (endpoint_id, order_key, seq)
    WHERE order_key IS NOT NULL;
-- Parked rows only (their endpoint's breaker is open: due moved past 10^10, see
-- storage/_columns.py PARKED): plain claims never read or change it.
CREATE INDEX IF NOT EXISTS queue_parked ON queue (endpoint_id) WHERE <IS_PARKED>;
-- The last sequence number given to each endpoint and ordering key.
CREATE TABLE IF NOT EXISTS order_counters (
    endpoint_id TEXT NOT NULL,
    order_key TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, order_key)
);
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
-- Owner alerts (owner_watch.py): one row per (kind, subject) holding its latest episode,
-- so an owner is told once per episode by whichever process sees it first.
CREATE TABLE IF NOT EXISTS owner_alerts (
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    episode TEXT NOT NULL,
    opened_at {REAL} NOT NULL,
    closed_at {REAL},
    PRIMARY KEY (kind, subject)
);
-- When each endpoint was last attempted and last delivered to, kept past the retention
-- purge (the 90-day stale check needs more history than the log keeps).
CREATE TABLE IF NOT EXISTS endpoint_activity (
    endpoint_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    first_seen {REAL} NOT NULL,
    last_attempted_at {REAL},
    last_delivered_at {REAL}
);
-- Corrections of an event's data (replay with a corrected payload): each row keeps the
-- body the event had before that correction (events.payload holds the current one).
CREATE TABLE IF NOT EXISTS event_revisions (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    at {REAL} NOT NULL
);
CREATE INDEX IF NOT EXISTS event_revisions_event ON event_revisions (event_id, id);
-- The admin console's background jobs (bulk replays): progress, and a stop request.
CREATE TABLE IF NOT EXISTS admin_jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    params TEXT NOT NULL,
    total INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    replayed INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    created_at {REAL} NOT NULL,
    updated_at {REAL} NOT NULL
);
-- Per rate-limited endpoint: the earliest time of its next send (contract 4.3), shared by
-- every worker and process (hookseal_sender.rate_limit).
CREATE TABLE IF NOT EXISTS send_slots (
    endpoint_id TEXT PRIMARY KEY,
    next_at {REAL} NOT NULL,
    granted_at {REAL}
);
-- Per endpoint whose circuit breaker is not closed: shared by every worker and process
-- (hookseal_sender._breakers). ``open_until``: when a probe may be taken (state 'open'),
-- or when the probe's right runs out if its taker died (state 'half_open'). Closed
-- breakers have no row.
CREATE TABLE IF NOT EXISTS endpoint_breakers (
    endpoint_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    open_until {REAL} NOT NULL,
    opened_by TEXT NOT NULL,
    probed_by TEXT,
    updated_at {REAL} NOT NULL
);
-- Sunset notices sent (contract 4.2), one row each: its key says which (endpoint, type,
-- version, days before), so a restarted or second process never sends it again.
CREATE TABLE IF NOT EXISTS sunset_notices (
    id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL,
    at {REAL} NOT NULL
);
-- The idempotency keys of sends: the primary key is what makes a repeated key, from any
-- process, wait for the first send's transaction and then find its row (the row is
-- written in the event's transaction: no read-then-write). ``deliveries`` is the first
-- send's answer as JSON, ``fingerprint`` a hash of its type and data.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    tenant_id TEXT NOT NULL,
    key TEXT NOT NULL,
    event_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    deliveries TEXT,
    created_at {REAL} NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
-- Batches (contract 4.4): an endpoint's open batch gathers deliveries taken out of the
-- queue. Sealed, it is leased, sent and retried as one (due NULL once finished).
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    status TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    body_bytes INTEGER NOT NULL DEFAULT 2,
    attempt_count INTEGER NOT NULL DEFAULT 0,
    round_attempts INTEGER NOT NULL DEFAULT 0,
    due {REAL},
    lease_owner TEXT,
    created_at {REAL} NOT NULL,
    updated_at {REAL} NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_due ON batches (due);
CREATE INDEX IF NOT EXISTS batches_endpoint ON batches (endpoint_id, status);
CREATE TABLE IF NOT EXISTS batch_members (
    batch_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    delivery_id TEXT NOT NULL
);
-- One batch per delivery, ever: no event goes in two batches.
CREATE UNIQUE INDEX IF NOT EXISTS batch_members_delivery ON batch_members (delivery_id);
CREATE INDEX IF NOT EXISTS batch_members_batch ON batch_members (batch_id, position);
""".replace("<IS_PARKED>", IS_PARKED)

#: First words of a table's lines that are constraints, not columns.
_CONSTRAINTS = ("PRIMARY", "UNIQUE", "CONSTRAINT", "FOREIGN", "CHECK")


# Lines of a CREATE TABLE that are table constraints, not columns.
_CONSTRAINTS = ("PRIMARY KEY", "UNIQUE", "FOREIGN KEY", "CHECK", "CONSTRAINT")
_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\n\);", re.S)


def table_columns(schema: str) -> dict[str, list[tuple[str, str]]]:
    """The columns of each table in ``schema`` text: ``{table: [(name, definition)]}``.

    Args:
        schema: ``CREATE TABLE IF NOT EXISTS`` statements, one column per line.

    Returns:
        Each table's columns in order, with the rest of each line as its definition
        (table constraints such as ``PRIMARY KEY (a, b)`` are not columns).
    """
    tables: dict[str, list[tuple[str, str]]] = {}
    for name, body in _TABLE.findall(schema):
        cols: list[tuple[str, str]] = []
        for raw in body.splitlines():
            line = raw.strip().rstrip(",")
            if line and not line.startswith("--") and not line.startswith(_CONSTRAINTS):
                col, _, definition = line.partition(" ")
                cols.append((col, definition))
        tables[name] = cols
    return tables


class Schema(Connections):
    """Creates the schema and brings an older one up to date."""

    def migrate(self) -> None:
        """Create the schema, or bring an older one up to date (idempotent).

        A column added to a table in :data:`SCHEMA` is added to a store made before it
        (``ALTER TABLE ... ADD COLUMN``), so a new column needs no migration of its own:
        it must be nullable or have a default.
        """
        with self.transaction() as conn:
            self._apply_schema(conn)

    def _apply_schema(self, conn: Any) -> None:
        """Run the schema's statements and the migrations in the caller's transaction:
        tables, then the columns an older store lacks, then the indexes (an index may be
        on a column just added)."""
        schema = self._schema()
        statements = [s for s in schema.split(";") if s.strip()]
        tables = [s for s in statements if "CREATE TABLE" in s]
        for stmt in tables:
            conn.execute(stmt)
        self._add_missing_columns(conn, schema)
        for stmt in statements:
            if stmt not in tables:
                conn.execute(stmt)
        if self._has_index(conn, "deliveries_claim"):
            self._move_live_deliveries_to_queue(conn)

    def _add_missing_columns(self, conn: Any, schema: str) -> None:
        for table, cols in table_columns(schema).items():
            have = self._column_names(conn, table)
            for col, definition in cols:
                if col not in have:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {col} {definition}")

    def _has_index(self, conn: Any, name: str) -> bool:
        """Whether the database has an index of this name."""
        raise NotImplementedError

    def _column_names(self, conn: Any, table: str) -> set[str]:
        """The names of a table's columns in the database."""
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
