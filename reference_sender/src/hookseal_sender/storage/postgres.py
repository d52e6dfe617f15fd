"""The PostgreSQL backend: several worker processes share one queue.

Claims use ``FOR UPDATE SKIP LOCKED``, so concurrent workers lease disjoint deliveries
without waiting on each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..models import AttemptResult, new_id
from ..secretbox import SecretBox
from ._sql import SCHEMA, SQLStore, _subscribed


class PostgresStore(SQLStore):
    """A store in a PostgreSQL database.

    Args:
        dsn: A libpq connection string or ``postgresql://`` URL.
        box: Encrypts keys at rest.
    """

    dialect = "postgresql"
    placeholder = "%s"

    def __init__(self, dsn: str, box: SecretBox) -> None:
        super().__init__(box)
        self.dsn = dsn

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.dsn, autocommit=True)

    def _schema(self) -> str:
        return SCHEMA.format(
            REAL="DOUBLE PRECISION", SERIAL="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
        )

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
        deliveries = [(new_id("dlv"), ep) for ep in _subscribed(rows, event_type)]
        self._insert_deliveries(conn, event_id, tenant_id, event_type, deliveries, now)
        return deliveries

    _claim_in_transaction = False

    def _claim_suffix(self) -> str:
        return " FOR UPDATE SKIP LOCKED"

    def _id_in(self, rows: str) -> str:
        # Evaluated once, then looked up through the primary key. Written as IN, the
        # planner hash-joins the claimed ids with a scan of the whole table for as long
        # as the table looks small (2.7 ms instead of 1.1 ms a claim of 100 at 10,000 rows).
        return f"id = ANY(ARRAY(SELECT id {rows}))"

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [list(values)]

    def _orphan_events_query(self) -> str:
        # A hash anti-join; NOT IN over a subquery larger than work_mem re-scans per row.
        return ("SELECT e.id FROM events e WHERE e.created_at < ? AND NOT EXISTS "
                "(SELECT 1 FROM deliveries d WHERE d.event_id = e.id)")

    # The write-back sends whole batches in binary: psycopg turns values into binary
    # wire format in C, where text (or a row at a time through executemany) runs Python
    # per value. Measured on 100-row batches: attempts 15-19 -> 2.4 us of client CPU a
    # row (COPY instead of executemany), states 6.5 -> 3.8 us (typed binary arrays
    # instead of text ones); the write-back runs on the sender's own core.
    _ATTEMPT_TYPES = ("text", "int4", "float8", "int4", "text", "float8", "text", "text", "text")

    def _insert_attempts(self, conn: Any, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        with conn.cursor().copy(f"COPY attempts {self._ATTEMPT_COLUMNS} FROM STDIN (FORMAT BINARY)"
                                ) as copy:
            copy.set_types(self._ATTEMPT_TYPES)
            for row in rows:
                copy.write_row(row)

    def _update_states(self, conn: Any, owner: str, results: Sequence[AttemptResult],
                       now: float) -> set[str]:
        # One statement for the whole batch: a round trip per row would cost more than
        # the HTTP work it records.
        rows = conn.execute(
            "UPDATE deliveries AS d SET status = v.status, attempt_count = v.num,"
            " round_attempts = v.rnd, next_attempt_at = v.nxt, lease_owner = NULL,"
            " last_status_code = v.code, last_error = v.err, updated_at = %b"
            " FROM unnest(%b::text[], %b::text[], %b::int[], %b::int[], %b::float8[],"
            " %b::int[], %b::text[]) AS v(id, status, num, rnd, nxt, code, err)"
            " WHERE d.id = v.id AND d.lease_owner = %b RETURNING d.id",
            [now, [r.delivery_id for r in results], [r.status for r in results],
             [r.attempt.number for r in results], [r.round_attempts for r in results],
             # floats only: a binary array holds one type, and a whole number may come as int
             [None if r.next_attempt_at is None else float(r.next_attempt_at) for r in results],
             [r.attempt.status_code for r in results],
             [r.attempt.error for r in results], owner],
        ).fetchall()
        return {r[0] for r in rows}
