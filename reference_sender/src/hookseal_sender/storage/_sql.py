"""The SQL implementation shared by the SQLite and PostgreSQL backends."""

# Queries are assembled only from this module's constant column lists and generated
# placeholders; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from json.encoder import encode_basestring_ascii
from typing import Any, Optional

from ..errors import ConfigError
from ..models import (
    Attempt,
    AttemptResult,
    AuditEntry,
    Claimed,
    Delivery,
    DeliveryFilter,
    Endpoint,
    EndpointKey,
    new_id,
)
from ..secretbox import SecretBox
from .base import MAX_PURGE_BATCH_SIZE, PURGE_BATCH_SIZE, PurgeProgress, Store

_LIVE = "('pending','delivering')"

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

_ENDPOINT_COLS = (
    "id", "tenant_id", "url", "description", "profile", "header_prefix", "event_types",
    "signing", "status", "status_reason", "retry_schedule", "retry_after_cap", "timeout",
    "allow_local", "notify_email", "failing_since", "created_at", "updated_at", "version",
)
_JSON_COLS = frozenset({"event_types", "retry_schedule"})
_DELIVERY_COLS = (
    "id", "tenant_id", "event_id", "endpoint_id", "event_type", "status", "attempt_count",
    "round_attempts", "next_attempt_at", "last_status_code", "last_error", "created_at",
    "updated_at",
)
_UPDATABLE = frozenset(_ENDPOINT_COLS) - {"id", "tenant_id", "created_at", "version"}
#: A delivery's status as read: "delivering" while a worker holds its lease (the log row
#: of a live delivery says "pending" throughout; claims change only the queue).
_STATUS = "CASE WHEN q.lease_owner IS NULL THEN d.status ELSE 'delivering' END"
#: The deliveries with their queue rows (live ones only), as ``d`` and ``q``.
_JOINED = "deliveries d LEFT JOIN queue q ON q.delivery_id = d.id"
#: :data:`_DELIVERY_COLS` as read from :data:`_JOINED`; a live delivery's next attempt is
#: its queue row's due time (while leased, when the lease ends).
_DELIVERY_SELECT = ", ".join(
    _STATUS if c == "status" else "COALESCE(q.due, d.next_attempt_at)"
    if c == "next_attempt_at" else f"d.{c}" for c in _DELIVERY_COLS)


def _id_scope(row_id: str, tenant_id: Optional[str], table: str = "") -> tuple[str, list[Any]]:
    """``WHERE`` text and parameters for one row by id, within a tenant unless ``None``.

    ``table`` qualifies the columns (``"d."``).

    ``None`` is for the sender's internal reads (workers); every tenant-facing path
    passes its tenant, so one tenant's id never finds another tenant's row.
    """
    if tenant_id is None:
        return f"{table}id = ?", [row_id]
    return f"{table}id = ? AND {table}tenant_id = ?", [row_id, tenant_id]


def _endpoint(row: Sequence[Any]) -> Endpoint:
    values = dict(zip(_ENDPOINT_COLS, row))
    for col in _JSON_COLS:
        if values[col] is not None:
            values[col] = json.loads(values[col])
    values["allow_local"] = bool(values["allow_local"])
    return Endpoint(**values)


def _delivery(row: Sequence[Any]) -> Delivery:
    return Delivery(**dict(zip(_DELIVERY_COLS, row)))


def _subscribed(rows: Sequence[Sequence[Any]], event_type: str) -> list[str]:
    """The endpoint ids among ``(id, event_types JSON or NULL)`` rows subscribed to a type."""
    return [eid for eid, types in rows if types is None or event_type in json.loads(types)]


def headers_json(headers: Mapping[str, str]) -> str:
    """``json.dumps(headers)``, byte for byte, at half its cost for a flat dict of strings.

    Every attempt's response headers are stored as JSON; the general encoder's per-call
    set-up cost more than encoding a handful of short strings does.
    """
    try:
        return "{" + ", ".join([encode_basestring_ascii(k) + ": " + encode_basestring_ascii(v)
                                for k, v in headers.items()]) + "}"
    except TypeError:  # a value that is not a str: the general encoder knows what to do
        return json.dumps(headers)


class SQLStore(Store):
    """A :class:`Store` over a DB-API connection per thread; dialects override the hooks.

    Args:
        box: Encrypts keys at rest.
    """

    placeholder = "?"

    def __init__(self, box: SecretBox) -> None:
        self.box = box
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    # dialect hooks -----------------------------------------------------------
    def _connect(self) -> Any:
        raise NotImplementedError

    def _schema(self) -> str:
        raise NotImplementedError

    def _begin(self, conn: Any) -> None:
        conn.execute("BEGIN")

    #: Whether the claim statement runs inside BEGIN ... COMMIT. SQLite needs it (BEGIN
    #: IMMEDIATE takes the write lock before reading); on PostgreSQL one UPDATE is atomic
    #: on its own, and the two extra round trips cost more than the claim's own work.
    _claim_in_transaction = True

    def _claim_suffix(self) -> str:
        return ""

    def _id_in(self, key: str, rows: str) -> str:
        """The condition "this row is one of ``SELECT {key} {rows}``" (``rows``: FROM on)."""
        return f"{key} IN (SELECT {key} {rows})"

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} IN ({','.join('?' * len(values))})", list(values)

    # plumbing ---------------------------------------------------------------
    def _q(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def _healthy(self, conn: Any, idle: float) -> bool:
        """Whether this thread's connection, unused for ``idle`` seconds, still works
        (checked before each use; a dialect whose server can go away overrides it)."""
        return True

    def conn(self) -> Any:
        """This thread's connection (opened on first use, and again when it broke).

        Returns:
            A DB-API connection in autocommit mode.
        """
        local = self._local
        conn = getattr(local, "conn", None)
        now = time.monotonic()
        if conn is not None and not self._healthy(conn, now - local.used):
            self._discard(conn)  # lost (a database restart): the next line reconnects
            conn = None
        if conn is None:
            conn = self._connect()
            local.conn = conn
            with self._lock:
                self._all.append(conn)
        local.used = now
        return conn

    def _discard(self, conn: Any) -> None:
        self._local.conn = None
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)
        with contextlib.suppress(Exception):  # it is broken already
            conn.close()

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(Exception):  # best effort, maybe from another thread
                conn.close()
        self._local = threading.local()

    def _exec(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        return conn.execute(self._q(sql), tuple(params))

    def _many(self, conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            cur = conn.cursor()
            cur.executemany(self._q(sql), [tuple(r) for r in rows])

    @contextmanager
    def transaction(self, conn: Any = None) -> Iterator[Any]:
        """A write transaction, or the caller's own when ``conn`` is given.

        Args:
            conn: The caller's connection with its transaction open, or ``None``.

        Yields:
            The connection to use.
        """
        if conn is not None:
            yield conn
            return
        own = self.conn()
        self._begin(own)
        try:
            yield own
        except BaseException:
            # On a lost connection ROLLBACK fails too (the server rolled back already):
            # the caller gets the first error, not that one.
            with contextlib.suppress(Exception):
                own.execute("ROLLBACK")
            raise
        own.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(self._exec(self.conn(), sql, params).fetchall())

    def migrate(self) -> None:
        """Create the schema, or bring an older one up to date (idempotent)."""
        with self.transaction() as conn:
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
            f" COALESCE(next_attempt_at, 0), lease_owner FROM deliveries WHERE status IN {_LIVE}"
            " ON CONFLICT (delivery_id) DO NOTHING",
        )
        self._exec(conn, "UPDATE deliveries SET status = 'pending', lease_owner = NULL"
                   " WHERE status = 'delivering'")
        self._exec(conn, "DROP INDEX deliveries_claim")

    # endpoints -------------------------------------------------------------
    def _key_rows(self, keys: Sequence[EndpointKey]) -> list[tuple[Any, ...]]:
        return [
            (k.id, k.endpoint_id, k.kind, self.box.encrypt(k.secret), k.public_key,
             k.created_at, k.expires_at)
            for k in keys
        ]

    _INSERT_KEY = (
        "INSERT INTO endpoint_keys (id, endpoint_id, kind, secret_enc, public_key, created_at,"
        " expires_at) VALUES (?,?,?,?,?,?,?)"
    )

    def insert_endpoint(self, endpoint: Endpoint, keys: Sequence[EndpointKey]) -> None:
        """Insert an endpoint with its (plaintext) keys, which the store encrypts.

        Args:
            endpoint: The endpoint.
            keys: Its keys.
        """
        values = []
        for col in _ENDPOINT_COLS:
            v = getattr(endpoint, col)
            if col in _JSON_COLS and v is not None:
                v = json.dumps(v)
            if col == "allow_local":
                v = int(v)
            values.append(v)
        with self.transaction() as conn:
            self._exec(
                conn,
                f"INSERT INTO endpoints ({','.join(_ENDPOINT_COLS)}) "
                f"VALUES ({','.join('?' * len(_ENDPOINT_COLS))})",
                values,
            )
            self._many(conn, self._INSERT_KEY, self._key_rows(keys))

    def get_endpoint(self, tenant_id: Optional[str], endpoint_id: str) -> Optional[Endpoint]:
        """One endpoint; ``tenant_id=None`` only for workers (internal use).

        Args:
            tenant_id: The tenant, or ``None`` for internal reads.
            endpoint_id: The endpoint.

        Returns:
            The endpoint, or ``None``.
        """
        where, params = _id_scope(endpoint_id, tenant_id)
        rows = self._read(f"SELECT {','.join(_ENDPOINT_COLS)} FROM endpoints WHERE {where}", params)
        return _endpoint(rows[0]) if rows else None

    def list_endpoints(self, tenant_id: str, *, include_deleted: bool = False) -> list[Endpoint]:
        """A tenant's endpoints, oldest first.

        Args:
            tenant_id: The tenant.
            include_deleted: Include soft-deleted endpoints.

        Returns:
            The endpoints.
        """
        sql = f"SELECT {','.join(_ENDPOINT_COLS)} FROM endpoints WHERE tenant_id = ?"
        if not include_deleted:
            sql += " AND status <> 'deleted'"
        return [_endpoint(r) for r in self._read(sql + " ORDER BY id", [tenant_id])]

    def update_endpoint(self, tenant_id: Optional[str], endpoint_id: str, **fields: Any) -> bool:
        """Change fields of an endpoint.

        Args:
            tenant_id: The tenant (``None`` for internal changes by workers).
            endpoint_id: The endpoint.
            **fields: Column values.

        Returns:
            Whether the endpoint exists (for that tenant).
        """
        sets, params = ["version = version + 1"], []
        for col, value in fields.items():
            if col not in _UPDATABLE:
                raise ValueError(f"not an updatable endpoint field: {col}")
            v = value
            if col in _JSON_COLS and v is not None:
                v = json.dumps(v)
            if col == "allow_local":
                v = int(v)
            sets.append(f"{col} = ?")
            params.append(v)
        where, scope = _id_scope(endpoint_id, tenant_id)
        with self.transaction() as conn:
            return bool(self._exec(conn, f"UPDATE endpoints SET {', '.join(sets)} WHERE {where}",
                                   [*params, *scope]).rowcount)

    _SUBSCRIBERS = ("SELECT id, event_types FROM endpoints WHERE tenant_id = ? "
                    "AND status IN ('active','paused') ORDER BY id")

    def subscribed_endpoints(self, conn: Any, tenant_id: str, event_type: str) -> list[str]:
        """Ids of a tenant's active or paused endpoints subscribed to a type.

        Args:
            conn: Connection.
            tenant_id: The tenant.
            event_type: The type.

        Returns:
            Endpoint ids.
        """
        return _subscribed(self._exec(conn, self._SUBSCRIBERS, [tenant_id]).fetchall(), event_type)

    def check_master_key(self) -> bool:
        """Check that the master key decrypts the secrets already stored (the newest one).

        Returns:
            ``True`` if the store holds encrypted secrets, ``False`` if none yet.

        Raises:
            ConfigError: They were encrypted with another master key.
        """
        rows = self._read("SELECT secret_enc FROM endpoint_keys ORDER BY created_at DESC, id"
                          " LIMIT 1")
        if not rows:
            return False
        try:
            self.box.decrypt(rows[0][0])
        except ConfigError:
            raise ConfigError(
                "the master key does not decrypt the endpoint secrets stored in the "
                "database: they were encrypted with another key. Restore the master key "
                "they were made with (hookseal-sender init never replaces one)") from None
        return True

    def keys(self, endpoint_id: str, *, now: Optional[float] = None) -> list[EndpointKey]:
        """An endpoint's keys, decrypted.

        Args:
            endpoint_id: The endpoint.
            now: Only keys still signing at this time, if given.

        Returns:
            The keys, oldest first.
        """
        sql = (
            "SELECT id, endpoint_id, kind, secret_enc, public_key, created_at, expires_at "
            "FROM endpoint_keys WHERE endpoint_id = ?"
        )
        params: list[Any] = [endpoint_id]
        if now is not None:
            sql += " AND (expires_at IS NULL OR expires_at > ?)"
            params.append(now)
        return [
            EndpointKey(id=r[0], endpoint_id=r[1], kind=r[2], secret=self.box.decrypt(r[3]),
                        public_key=r[4], created_at=r[5], expires_at=r[6])
            for r in self._read(sql + " ORDER BY created_at, id", params)
        ]

    def rotate_keys(
        self, endpoint_id: str, new_keys: Sequence[EndpointKey], expires_at: float,
    ) -> None:
        """Add keys; the same kinds' current keys expire at ``expires_at``.

        Args:
            endpoint_id: The endpoint.
            new_keys: The new keys.
            expires_at: When the old keys stop signing.
        """
        with self.transaction() as conn:
            for kind in {k.kind for k in new_keys}:
                self._exec(
                    conn,
                    "UPDATE endpoint_keys SET expires_at = ? WHERE endpoint_id = ? AND kind = ?"
                    " AND (expires_at IS NULL OR expires_at > ?)",
                    [expires_at, endpoint_id, kind, expires_at],
                )
            self._many(conn, self._INSERT_KEY, self._key_rows(new_keys))
            self._exec(conn, "UPDATE endpoints SET version = version + 1 WHERE id = ?",
                       [endpoint_id])

    # events and deliveries ------------------------------------------------
    def insert_event(
        self, conn: Any, event_id: str, tenant_id: str, event_type: str, payload: str,
        deliveries: Sequence[tuple[str, str]], now: float,
    ) -> None:
        """Insert an event and its deliveries in the caller's transaction.

        Args:
            conn: The open transaction's connection.
            event_id: Event id.
            tenant_id: Tenant.
            event_type: Type.
            payload: The JSON body.
            deliveries: ``(delivery_id, endpoint_id)`` pairs.
            now: Unix time.
        """
        self._exec(conn, self._INSERT_EVENT, [event_id, tenant_id, event_type, payload, now])
        self._insert_deliveries(conn, event_id, tenant_id, event_type, deliveries, now)

    def insert_event_for_subscribers(
        self, conn: Any, event_id: str, tenant_id: str, event_type: str, payload: str,
        now: float,
    ) -> list[tuple[str, str]]:
        """Insert an event and a new delivery for each of the tenant's endpoints subscribed
        to its type (see :meth:`subscribed_endpoints`), in the caller's transaction.

        Takes :meth:`insert_event`'s arguments but ``deliveries``, which it makes.

        Returns:
            The ``(delivery_id, endpoint_id)`` pairs written.
        """
        deliveries = [(new_id("dlv"), ep)
                      for ep in self.subscribed_endpoints(conn, tenant_id, event_type)]
        self.insert_event(conn, event_id, tenant_id, event_type, payload, deliveries, now)
        return deliveries

    _INSERT_EVENT = ("INSERT INTO events (id, tenant_id, type, payload, created_at)"
                     " VALUES (?,?,?,?,?)")

    def _insert_deliveries(
        self, conn: Any, event_id: str, tenant_id: str, event_type: str,
        deliveries: Sequence[tuple[str, str]], now: float,
    ) -> None:
        self._many(
            conn,
            "INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type, status,"
            " next_attempt_at, created_at, updated_at) VALUES (?,?,?,?,?,'pending',?,?,?)",
            [(d, tenant_id, event_id, e, event_type, now, now, now) for d, e in deliveries],
        )
        self._many(conn, self._INSERT_QUEUE,
                   [(d, tenant_id, e, event_id, event_type, now) for d, e in deliveries])

    _INSERT_QUEUE = ("INSERT INTO queue (delivery_id, tenant_id, endpoint_id, event_id,"
                     " event_type, due) VALUES (?,?,?,?,?,?)")

    def claim(
        self, owner: str, limit: int, now: float, lease_until: float,
        exclude_endpoints: Sequence[str] = (),
    ) -> list[Claimed]:
        """Lease up to ``limit`` due deliveries (pending, or with an expired lease).

        Args:
            owner: This worker's lease token.
            limit: Most to claim.
            now: Unix time.
            lease_until: When the leases expire.
            exclude_endpoints: Endpoints not to claim for (saturated or breaker open).

        Returns:
            The claimed deliveries with their payloads.
        """
        where, params = "", []  # type: tuple[str, list[Any]]
        if exclude_endpoints:
            clause, params = self._in("endpoint_id", list(exclude_endpoints))
            where = f" AND NOT ({clause})"
        sql = self._claim_sql(where)
        params += [limit]
        if self._claim_in_transaction:
            with self.transaction() as conn:
                rows = self._exec(conn, sql, [owner, lease_until, now, *params]).fetchall()
        else:
            rows = self._exec(self.conn(), sql, [owner, lease_until, now, *params]).fetchall()
        return self._claimed(rows)

    def claim_probe(self, owner: str, endpoint_id: str, now: float,
                    lease_until: float) -> list[Claimed]:
        """Lease one due delivery of an endpoint to probe it, a retry if one is due.

        A circuit breaker's probe asks whether the endpoint delivers now; a delivery that
        failed before answers that, where a first attempt (which some endpoints always
        refuse) may not. So due retries go first, oldest first, then the oldest due first
        attempt.

        Args:
            owner: This worker's lease token.
            endpoint_id: The endpoint.
            now: Unix time.
            lease_until: When the lease expires.

        Returns:
            The claimed delivery, or nothing if none of the endpoint's is due.
        """
        sql = self._claim_sql(" AND endpoint_id = ?", order="round_attempts = 0, due")
        params = [owner, lease_until, now, endpoint_id, 1]
        if self._claim_in_transaction:
            with self.transaction() as conn:
                rows = self._exec(conn, sql, params).fetchall()
        else:
            rows = self._exec(self.conn(), sql, params).fetchall()
        return self._claimed(rows)

    @staticmethod
    def _claimed(rows: Sequence[Sequence[Any]]) -> list[Claimed]:
        return [
            Claimed(id=r[0], tenant_id=r[1], endpoint_id=r[2], event_type=r[3],
                    attempt_count=r[4], round_attempts=r[5], payload=r[7],
                    endpoint_version=r[8] or 0, event_id=r[6])
            for r in rows
        ]

    def _claim_sql(self, where: str = "", order: str = "due") -> str:
        """The claim statement; parameters: owner, lease_until, now, ``where``'s, limit.

        A lease is the queue row's owner and a due time moved to the lease's end: a worker
        that dies leaves rows that come due again when their leases run out.
        """
        due = (f"FROM queue WHERE due <= ?{where} ORDER BY {order} LIMIT ?"
               f"{self._claim_suffix()}")
        return (
            "UPDATE queue SET lease_owner = ?, due = ?"
            f" WHERE {self._id_in('delivery_id', due)} RETURNING delivery_id, tenant_id,"
            " endpoint_id, event_type, attempt_count, round_attempts, event_id,"
            # The payload and the endpoint's version come with the rows: one statement (on
            # PostgreSQL one round trip) instead of three.
            " (SELECT payload FROM events WHERE events.id = queue.event_id),"
            " (SELECT version FROM endpoints WHERE endpoints.id = queue.endpoint_id)"
        )

    def release(self, owner: str, delivery_ids: Sequence[str], at: float) -> None:
        """Give leased deliveries back, due at ``at``, without an attempt.

        Args:
            owner: The lease token.
            delivery_ids: The deliveries.
            at: When they are due again.
        """
        if not delivery_ids:
            return
        with self.transaction() as conn:
            self._many(
                conn,
                "UPDATE queue SET lease_owner = NULL, due = ? WHERE delivery_id = ?"
                " AND lease_owner = ?",
                [(at, d, owner) for d in delivery_ids],
            )

    def complete(self, owner: str, results: Sequence[AttemptResult], now: float) -> list[str]:
        """Record attempts and the deliveries' new states.

        Args:
            owner: The lease token; a delivery re-leased by another worker meanwhile keeps
                its state (the attempt is still recorded).
            results: The outcomes.
            now: Unix time.

        Returns:
            Ids of deliveries whose lease had been lost.
        """
        with self.transaction() as conn:
            self._insert_attempts(conn, [
                (r.delivery_id, r.attempt.number, r.attempt.at, r.attempt.status_code,
                 r.attempt.error, r.attempt.latency_ms, headers_json(r.attempt.response_headers),
                 r.attempt.response_body, r.attempt.outcome)
                for r in results
            ])
            updated = self._update_states(conn, owner, results, now)
            lost = [r.delivery_id for r in results if r.delivery_id not in updated]
        return lost

    _ATTEMPT_COLUMNS = ("(delivery_id, number, at, status_code, error, latency_ms,"
                        " response_headers, response_body, outcome)")
    _INSERT_ATTEMPTS = f"INSERT INTO attempts {_ATTEMPT_COLUMNS} VALUES "

    def _insert_attempts(self, conn: Any, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert attempt rows (the columns of :attr:`_INSERT_ATTEMPTS`)."""
        self._many(conn, self._INSERT_ATTEMPTS + "(?,?,?,?,?,?,?,?,?)", rows)

    def _update_states(self, conn: Any, owner: str, results: Sequence[AttemptResult],
                       now: float) -> set[str]:
        """Write the deliveries' new states; returns the ids still leased by ``owner``.

        Each dialect writes a whole batch in one statement (a statement per row cost more
        than the rows), in the form its database and driver run fastest.
        """
        raise NotImplementedError

    def endpoint_health(
        self, succeeded: Sequence[str], failed: Sequence[str], now: float,
    ) -> dict[str, float]:
        """Track failing streaks.

        Args:
            succeeded: Endpoints that answered 2xx.
            failed: Endpoints whose attempts failed.
            now: Unix time.

        Returns:
            ``failing_since`` of each failed endpoint.
        """
        with self.transaction() as conn:
            if succeeded:
                clause, ids = self._in("id", list(succeeded))
                self._exec(conn, "UPDATE endpoints SET failing_since = NULL WHERE "
                           f"failing_since IS NOT NULL AND {clause}", ids)
            if not failed:
                return {}
            clause, ids = self._in("id", list(failed))
            self._exec(conn, "UPDATE endpoints SET failing_since = ? WHERE failing_since IS "
                       f"NULL AND {clause}", [now, *ids])
            rows = self._exec(conn, f"SELECT id, failing_since FROM endpoints WHERE {clause}",
                              ids).fetchall()
        return {r[0]: r[1] for r in rows if r[1] is not None}

    def get_delivery(
        self, tenant_id: Optional[str], delivery_id: str, *, detail: bool = True,
    ) -> Optional[Delivery]:
        """One delivery with its attempts and payload.

        Args:
            tenant_id: The tenant (``None`` only for internal reads).
            delivery_id: The delivery.
            detail: Also read the attempts and the payload.

        Returns:
            The delivery, or ``None``.
        """
        where, params = _id_scope(delivery_id, tenant_id, "d.")
        rows = self._read(f"SELECT {_DELIVERY_SELECT} FROM {_JOINED} WHERE {where}", params)
        if not rows:
            return None
        d = _delivery(rows[0])
        if detail:
            d.attempts = [
                Attempt(number=r[0], at=r[1], status_code=r[2], error=r[3], latency_ms=r[4],
                        response_headers=json.loads(r[5]), response_body=r[6], outcome=r[7])
                for r in self._read(
                    "SELECT number, at, status_code, error, latency_ms, response_headers,"
                    " response_body, outcome FROM attempts WHERE delivery_id = ?"
                    " ORDER BY number, id", [delivery_id])
            ]
            payload = self._read("SELECT payload FROM events WHERE id = ?", [d.event_id])
            d.payload = payload[0][0] if payload else None
        return d

    def _filter(self, tenant_id: Optional[str], flt: DeliveryFilter) -> tuple[str, list[Any]]:
        """``WHERE`` text over :data:`_JOINED` (``d`` and ``q``) and its parameters."""
        conds: list[str] = []
        params: list[Any] = []
        if tenant_id is not None:
            conds.append("d.tenant_id = ?")
            params.append(tenant_id)
        if flt.endpoint_id:
            conds.append("d.endpoint_id = ?")
            params.append(flt.endpoint_id)
        if flt.event_type:
            conds.append("d.event_type = ?")
            params.append(flt.event_type)
        if flt.status:
            clause, vals = self._in(_STATUS, flt.status)
            conds.append(clause)
            params.extend(vals)
        if flt.since is not None:
            conds.append("d.created_at >= ?")
            params.append(flt.since)
        if flt.until is not None:
            conds.append("d.created_at < ?")
            params.append(flt.until)
        return " AND ".join(conds) or "1=1", params

    def list_deliveries(
        self, tenant_id: str, flt: DeliveryFilter, *, limit: int = 50,
        before: Optional[str] = None,
    ) -> list[Delivery]:
        """A tenant's deliveries, newest first, paged by id.

        Args:
            tenant_id: The tenant.
            flt: Filters.
            limit: Page size.
            before: Cursor: the last id of the previous page.

        Returns:
            The page.
        """
        where, params = self._filter(tenant_id, flt)
        if before:
            where += " AND d.id < ?"
            params.append(before)
        return [_delivery(r) for r in self._read(
            f"SELECT {_DELIVERY_SELECT} FROM {_JOINED} WHERE {where}"
            " ORDER BY d.id DESC LIMIT ?", [*params, limit])]

    def select_ids(self, tenant_id: str, flt: DeliveryFilter, limit: int) -> list[str]:
        """Ids of a tenant's deliveries matching a filter, oldest first.

        Args:
            tenant_id: The tenant.
            flt: Filters.
            limit: Most ids.

        Returns:
            The ids.
        """
        where, params = self._filter(tenant_id, flt)
        return [r[0] for r in self._read(
            f"SELECT d.id FROM {_JOINED} WHERE {where} ORDER BY d.id LIMIT ?", [*params, limit])]

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
                    " event_type, attempt_count, round_attempts, due) SELECT id, tenant_id,"
                    " endpoint_id, event_id, event_type, attempt_count, 0, ? FROM deliveries"
                    f" WHERE id = ? AND tenant_id = ? AND status NOT IN {_LIVE}"
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
                f"DELETE FROM queue WHERE delivery_id IN (SELECT d.id FROM {_JOINED} WHERE"
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

    def resume_endpoint_deliveries(self, endpoint_id: str, now: float) -> int:
        """Make an endpoint's pending deliveries due now.

        Args:
            endpoint_id: The endpoint.
            now: Unix time.

        Returns:
            How many.
        """
        with self.transaction() as conn:
            return int(self._exec(
                conn,
                # Found through the log's endpoint index: the queue has none of its own,
                # so that claims keep only two indexes up to date.
                "UPDATE queue SET due = ? WHERE delivery_id IN (SELECT id FROM deliveries"
                " WHERE endpoint_id = ? AND status = 'pending') AND lease_owner IS NULL"
                " AND due > ?",
                [now, endpoint_id, now],
            ).rowcount)

    #: Ids per statement when reading statuses of many deliveries.
    _STATUS_CHUNK = 500

    def status_counts(self, tenant_id: str, delivery_ids: Sequence[str]) -> dict[str, int]:
        """How many of these deliveries are in each status, counting only the tenant's.

        Args:
            tenant_id: The tenant; other tenants' deliveries are never counted.
            delivery_ids: The deliveries.

        Returns:
            ``{status: count}`` with only the statuses present.
        """
        counts: dict[str, int] = {}
        ids = list(dict.fromkeys(delivery_ids))
        for i in range(0, len(ids), self._STATUS_CHUNK):
            clause, vals = self._in("d.id", ids[i:i + self._STATUS_CHUNK])
            for status, n in self._read(
                    f"SELECT {_STATUS}, COUNT(*) FROM {_JOINED} WHERE d.tenant_id = ? AND {clause}"
                    f" GROUP BY {_STATUS}", [tenant_id, *vals]):
                counts[status] = counts.get(status, 0) + int(n)
        return counts

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
        done_where = f"status NOT IN {_LIVE} AND updated_at < ?"
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
                with self.transaction() as tx:
                    self._exec(tx, f"DELETE FROM events WHERE {clause}", vals)
        finally:
            conn.execute("DROP TABLE IF EXISTS hookseal_purge_events")

    def queue_depth(self) -> int:
        """Deliveries pending or in flight.

        Returns:
            The count.
        """
        return int(self._read("SELECT COUNT(*) FROM queue")[0][0])

    def failing_endpoints(self) -> list[tuple[str, str, float]]:
        """The active endpoints whose latest attempts failed, and since when.

        Returns:
            ``(endpoint_id, tenant_id, failing_since)`` of each, oldest failure first.
        """
        return [(r[0], r[1], float(r[2])) for r in self._read(
            "SELECT id, tenant_id, failing_since FROM endpoints WHERE failing_since IS NOT NULL"
            " AND status = 'active' ORDER BY failing_since")]

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


__all__ = ["SCHEMA", "SQLStore", "new_id"]
