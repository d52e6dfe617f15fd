"""The PostgreSQL backend: several worker processes share one queue.

Claims use ``FOR UPDATE SKIP LOCKED``, so concurrent workers lease disjoint deliveries
without waiting on each other.
"""

# Queries are assembled only from constant fragments and generated placeholders; every
# value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any, Optional

from ..filters import matching
from ..models import AttemptResult, new_id
from ..secretbox import SecretBox
from ._columns import headers_json
from ._queue import CLAIM_CANDIDATES, DUE, ORDERED_HEAD
from ._schema import table_columns
from ._sql import SCHEMA, SQLStore

#: Seconds a connection attempt may take.
CONNECT_TIMEOUT = 10
#: The advisory lock (a constant key) that serialises capped claims across workers.
CLAIM_LOCK = 0x686B_736C_636C_6D00
#: The leased rows by endpoint, for the per-endpoint cap of claims (PostgreSQL only:
#: SQLite has one worker process). Without it the cap's count read every row due later
#: through ``queue_due``: with 300,000 retries waiting, 154 ms a claim instead of 3.5 ms.
_LEASED_INDEX = ("\nCREATE INDEX IF NOT EXISTS queue_leased ON queue (endpoint_id)"
                 " WHERE lease_owner IS NOT NULL;\n")
#: The advisory lock that lets one process at a time change the schema.
MIGRATE_LOCK = 0x686B_736C_6D69_6700
#: Seconds a connection may sit unused before it is checked (``SELECT 1``) at its next use.
IDLE_CHECK = 2.0


class PostgresStore(SQLStore):
    """A store in a PostgreSQL database.

    Args:
        dsn: A libpq connection string or ``postgresql://`` URL.
        box: Encrypts keys at rest.
    """

    dialect = "postgresql"
    concurrent_writers = True
    placeholder = "%s"
    # park() reads an endpoint's breaker row with this lock: a close deleting it waits.
    _breaker_lock = " FOR KEY SHARE"

    def __init__(self, dsn: str, box: SecretBox) -> None:
        super().__init__(box)
        self.dsn = dsn

    def _connect(self) -> Any:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        # A server that is down fails at once; one that does not answer (a network
        # partition) must not hold a worker's store thread for minutes either.
        if "connect_timeout" in conninfo_to_dict(self.dsn):
            return psycopg.connect(self.dsn, autocommit=True)
        return psycopg.connect(self.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT)

    def _healthy(self, conn: Any, idle: float) -> bool:
        # A connection the server dropped (a restart) looks fine until it is used; one
        # that failed is marked closed. Busy connections are never idle this long, so
        # the check costs them nothing; an idle one (the admin API's, a quiet worker's)
        # is pinged, so the first request after a restart does not fail.
        if conn.closed or conn.broken:
            return False
        if idle < IDLE_CHECK:
            return True
        try:
            conn.execute("SELECT 1")
        except Exception:
            return False
        return True

    def unavailable(self, exc: BaseException) -> bool:
        """See :meth:`Store.unavailable`: psycopg's connection errors.

        Args:
            exc: An error raised by one of this store's methods.

        Returns:
            Whether it is a lost or refused connection.
        """
        import psycopg

        if isinstance(exc, psycopg.InterfaceError):
            return True
        # No SQLSTATE: the client lost or could not open the connection; class 08 is a
        # connection exception, 57P an operator intervention (shutdown, starting up). A
        # deadlock or a cancelled statement is an OperationalError too, but not this.
        return isinstance(exc, psycopg.OperationalError) and (
            exc.sqlstate is None or exc.sqlstate.startswith(("08", "57P")))

    def migrate(self) -> None:
        """Create the schema or bring it up to date; with it up to date already, do nothing.

        Each worker process opens the store when it starts, often while others deliver.
        ``CREATE INDEX IF NOT EXISTS`` locks its table (``SHARE``) before it finds the
        index there, and the schema's statements hold those locks until they commit:
        write-backs waiting on them deadlocked with a starting worker. So a schema whose
        tables and indexes all exist is left alone (one catalog read), and changes are
        made by one process at a time (an advisory lock).
        """
        schema = self._schema()
        names = re.findall(r"CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)", schema)
        columns = {(t, c) for t, cols in table_columns(schema).items() for c, _ in cols}
        conn = self.conn()
        present, old = conn.execute(
            "SELECT count(to_regclass(n)), to_regclass('deliveries_claim') IS NOT NULL"
            " FROM unnest(%s::text[]) AS n", [names]).fetchone()
        have = {(t, c) for t, c in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema()").fetchall()}
        # Every table, index and column there (a column added to a table since counts).
        if present == len(names) and not old and columns <= have:
            return
        with self.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATE_LOCK])
            self._apply_schema(conn)

    def _day(self, column: str) -> str:
        # PostgreSQL's CAST rounds (SQLite's truncates): floor first.
        return f"CAST(FLOOR({column} / 86400) AS BIGINT)"

    def _stream(self, sql: str, params: Sequence[Any]) -> Iterator[Any]:
        # A server-side cursor: psycopg's default one would fetch the whole result first.
        conn = self.conn()
        with conn.transaction():  # a server-side cursor lives in a transaction
            cur = conn.cursor(name="hookseal_stream")
            cur.itersize = 20_000
            cur.execute(self._q(sql), tuple(params))
            yield from cur
            cur.close()

    def _schema(self) -> str:
        return SCHEMA.format(
            REAL="DOUBLE PRECISION", SERIAL="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
        ) + _LEASED_INDEX

    def insert_event_for_subscribers(
        self, conn: Any, event_id: str, tenant_id: str, event_type: str, payload: str,
        now: float,
    ) -> list[tuple[str, str]]:
        """As :meth:`SQLStore.insert_event_for_subscribers`, one round trip shorter: the
        event's INSERT rides along with the subscription lookup (a data-modifying ``WITH``
        runs once, whether or not the query reads it). Each round trip wakes a server
        process, which costs the enqueuer more than the statements themselves."""
        rows = self._exec(conn, f"WITH event AS ({self._INSERT_EVENT}) {self._SUBSCRIBERS}",
                          [event_id, tenant_id, event_type, payload, now, tenant_id]).fetchall()
        deliveries = [(new_id("dlv"), ep) for ep in matching(rows, event_type, payload)]
        self._insert_deliveries(conn, event_id, tenant_id, event_type, deliveries, now)
        return deliveries

    def _insert_deliveries(
        self, conn: Any, event_id: str, tenant_id: str, event_type: str,
        deliveries: Sequence[tuple[str, str]], now: float,
    ) -> None:
        # The log rows and their queue rows in one statement: one round trip, not two.
        if not deliveries:
            return
        conn.execute(
            "WITH d AS (INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type,"
            " status, next_attempt_at, created_at, updated_at) SELECT v.id, %s, %s, v.ep, %s,"
            " 'pending', %s, %s, %s FROM unnest(%s::text[], %s::text[]) AS v(id, ep)"
            " RETURNING id, endpoint_id) INSERT INTO queue (delivery_id, tenant_id, endpoint_id,"
            " event_id, event_type, due) SELECT id, %s, endpoint_id, %s, %s, %s FROM d",
            [tenant_id, event_id, event_type, now, now, now, [d for d, _ in deliveries],
             [e for _, e in deliveries], tenant_id, event_id, event_type, now],
        )

    def order_event(self, conn: Any, event_id: str, order_key: str) -> int:
        """As :meth:`SQLStore.order_event`, in one statement (one round trip, not four per
        ordered endpoint): the counters' upsert and both updates as data-modifying WITHs."""
        return int(conn.execute(
            "WITH o AS (SELECT q.delivery_id, q.endpoint_id FROM queue q JOIN endpoints e"
            " ON e.id = q.endpoint_id WHERE q.event_id = %s AND e.ordering = 'per_key'),"
            " c AS (INSERT INTO order_counters (endpoint_id, order_key, last_seq)"
            " SELECT endpoint_id, %s, 1 FROM o ON CONFLICT (endpoint_id, order_key) DO UPDATE"
            " SET last_seq = order_counters.last_seq + 1 RETURNING endpoint_id, last_seq),"
            " u AS (UPDATE queue SET order_key = %s, seq = c.last_seq FROM o JOIN c ON"
            " c.endpoint_id = o.endpoint_id WHERE queue.delivery_id = o.delivery_id"
            " RETURNING queue.delivery_id, queue.seq)"
            " UPDATE deliveries SET order_key = %s, sequence = u.seq FROM u"
            " WHERE deliveries.id = u.delivery_id",
            [event_id, order_key, order_key, order_key]).rowcount)

    _claim_in_transaction = False

    def _lease(self, owner: str, limit: int, now: float, lease_until: float, where: str,
               where_params: list[Any], order: str, per_endpoint: Optional[int],
               each: Optional[int] = None) -> list[Any]:
        """The claim, with each endpoint's leases capped across all workers.

        The cap counts every worker's unexpired leases, so two claims must not count at
        once: claims take a transaction-scoped advisory lock first (the claim statement's
        snapshot is taken after it is granted, so it sees every earlier claim). The lock
        and the claim go in one simple query: one round trip, as before. Claims
        are a few per hundred deliveries, so the lock serialises little.
        """
        if per_endpoint is None:
            return super()._lease(owner, limit, now, lease_until, where, where_params, order,
                                  per_endpoint, each)
        import psycopg

        sql = self._q(self._capped_claim_sql(where, order))
        params = [CLAIM_LOCK, now, owner, lease_until, *where_params, per_endpoint,
                  limit * CLAIM_CANDIDATES, per_endpoint if each is None else each,
                  per_endpoint, limit]
        # Both statements in one simple query: one round trip and one implicit
        # transaction (the lock is held until the claim commits); in READ COMMITTED each
        # statement takes its own snapshot, so the claim's comes after the lock. psycopg's
        # pipeline mode did the same in twice the client CPU (340-570 against 220-250 us
        # a claim of 12 rows), on the worker's own core.
        cur = psycopg.ClientCursor(self.conn())
        cur.execute("SELECT pg_advisory_xact_lock(%s); " + sql, params)
        cur.nextset()
        return list(cur.fetchall())

    def _capped_claim_sql(self, where: str = DUE, order: str = "due") -> str:
        """The capped claim; parameters: now, owner, lease_until, ``where``'s, the cap,
        the candidates to read, the most of one endpoint this claim takes, the cap, the
        limit."""
        return (
            # Unexpired leases per endpoint: buffered or in flight in some worker.
            "WITH held AS (SELECT endpoint_id, count(*) AS n FROM queue"
            " WHERE lease_owner IS NOT NULL AND due > ? GROUP BY endpoint_id)"
            " UPDATE queue SET lease_owner = ?, due = ? WHERE delivery_id = ANY(ARRAY("
            "SELECT c.delivery_id FROM (SELECT q.delivery_id, q.pos, row_number() OVER"
            " (PARTITION BY q.endpoint_id ORDER BY q.pos) AS k, coalesce(h.n, 0) AS n"
            " FROM (SELECT delivery_id, endpoint_id, row_number() OVER () AS pos FROM"
            f" (SELECT delivery_id, endpoint_id FROM queue WHERE ({where}){ORDERED_HEAD}"
            " AND endpoint_id <> ALL(ARRAY(SELECT endpoint_id FROM held WHERE n >= ?))"
            f" ORDER BY {order} LIMIT ? FOR UPDATE SKIP LOCKED) AS r) AS q"
            " LEFT JOIN held h ON h.endpoint_id = q.endpoint_id) AS c"
            f" WHERE c.k <= ? AND c.k + c.n <= ? ORDER BY c.pos LIMIT ?)){self._CLAIM_RETURNING}")

    def _claim_suffix(self) -> str:
        return " FOR UPDATE SKIP LOCKED"

    def _id_in(self, key: str, rows: str) -> str:
        # Evaluated once, then looked up through the primary key. Written as IN, the
        # planner hash-joins the claimed ids with a scan of the whole table for as long
        # as the table looks small (2.7 ms instead of 1.1 ms a claim of 100 at 10,000 rows).
        return f"{key} = ANY(ARRAY(SELECT {key} {rows}))"

    def _has_index(self, conn: Any, name: str) -> bool:
        return conn.execute("SELECT to_regclass(%s)", [name]).fetchone()[0] is not None

    def _column_names(self, conn: Any, table: str) -> set[str]:
        rows = conn.execute("SELECT column_name FROM information_schema.columns WHERE"
                            " table_schema = current_schema() AND table_name = %s", [table])
        return {row[0] for row in rows.fetchall()}

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [list(values)]

    def _orphan_events_query(self) -> str:
        # A hash anti-join; NOT IN over a subquery larger than work_mem re-scans per row.
        return ("SELECT e.id FROM events e WHERE e.created_at < ? AND NOT EXISTS "
                "(SELECT 1 FROM deliveries d WHERE d.event_id = e.id)")

    # The write-back is one statement: the attempt rows and the new states as binary
    # arrays (psycopg turns values into binary wire format in C, where text, or a row at
    # a time through executemany, runs Python per value: measured on 100-row batches,
    # states 6.5 -> 3.8 us of client CPU a row), in autocommit, so one round trip. The
    # attempts' COPY inside BEGIN ... COMMIT took four, each a wake-up of the server and
    # of the client's store thread.
    def complete(self, owner: str, results: Sequence[AttemptResult], now: float) -> list[str]:
        """As :meth:`Queue.complete`, in one statement (one round trip)."""
        if not results:
            return []
        ids = [r.delivery_id for r in results]
        attempts = [r.attempt for r in results]
        rows = self.conn().execute(
            # The queue first, where the lease is: finished deliveries leave it, retried
            # ones wait there again; the log row is written only for deliveries still
            # leased by ``owner``. Every attempt is recorded.
            "WITH v AS (SELECT * FROM unnest(%b::text[], %b::text[], %b::int[], %b::int[],"
            " %b::float8[], %b::int[], %b::text[]) AS v(id, status, num, rnd, nxt, code, err)),"
            f" a AS (INSERT INTO attempts {self._ATTEMPT_COLUMNS} SELECT * FROM unnest("
            "%b::text[], %b::int[], %b::float8[], %b::int[], %b::text[], %b::float8[],"
            " %b::text[], %b::text[], %b::text[])),"
            " gone AS (DELETE FROM queue q USING v WHERE q.delivery_id = v.id"
            " AND v.status <> 'pending' AND q.lease_owner = %b RETURNING q.delivery_id),"
            " kept AS (UPDATE queue q SET due = v.nxt, attempt_count = v.num,"
            " round_attempts = v.rnd, lease_owner = NULL FROM v WHERE q.delivery_id = v.id"
            " AND v.status = 'pending' AND q.lease_owner = %b RETURNING q.delivery_id),"
            " mine AS (SELECT delivery_id FROM gone UNION ALL SELECT delivery_id FROM kept)"
            " UPDATE deliveries AS d SET status = v.status, attempt_count = v.num,"
            " round_attempts = v.rnd, next_attempt_at = v.nxt, last_status_code = v.code,"
            " last_error = v.err, updated_at = %b FROM v JOIN mine ON mine.delivery_id = v.id"
            " WHERE d.id = v.id RETURNING d.id",
            [ids, [r.status for r in results], [a.number for a in attempts],
             [r.round_attempts for r in results],
             # floats only: a binary array holds one type, and a whole number may come as int
             [None if r.next_attempt_at is None else float(r.next_attempt_at) for r in results],
             [a.status_code for a in attempts], [a.error for a in attempts],
             ids, [a.number for a in attempts], [float(a.at) for a in attempts],
             [a.status_code for a in attempts], [a.error for a in attempts],
             [float(a.latency_ms) for a in attempts],
             [headers_json(a.response_headers) for a in attempts],
             [a.response_body for a in attempts], [a.outcome for a in attempts],
             owner, owner, now],
        ).fetchall()
        updated = {r[0] for r in rows}
        return [d for d in ids if d not in updated]


__all__ = ["CLAIM_CANDIDATES", "CLAIM_LOCK", "CONNECT_TIMEOUT", "IDLE_CHECK", "MIGRATE_LOCK",
           "PostgresStore"]
