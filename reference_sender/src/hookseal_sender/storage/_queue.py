"""The SQL store's queue: enqueue (events and deliveries), claims, leases, write-back."""

# Queries are assembled only from constant column lists and generated placeholders;
# every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from ..models import AttemptResult, Claimed, new_id
from ._columns import IS_PARKED, PARKED, headers_json
from ._connections import Connections

#: The claim's condition on an ordered row (contract 4.5): none of its endpoint and key
#: with a smaller number is left in the queue (pending, retrying or in flight).
ORDERED_HEAD = (" AND (order_key IS NULL OR NOT EXISTS (SELECT 1 FROM queue p WHERE"
                " p.endpoint_id = queue.endpoint_id AND p.order_key = queue.order_key"
                " AND p.seq < queue.seq))")
#: The plain claim's condition on a row: due now (waiting, or its lease ran out; a parked
#: row is not: :data:`PARKED`). Parameter: now. Every claim composes its rows' condition
#: from conditions like this one (see :meth:`Queue._lease`), none by appending to it.
DUE = "due <= ?"
#: A claim capped per endpoint reads this many due rows per row it may lease: rows beyond
#: an endpoint's cap are skipped, so it looks further than it takes.
CLAIM_CANDIDATES = 4


class Queue(Connections):
    """Events in, deliveries claimed and leased, attempts and new states written back."""

    #: The column by which a claim finds its rows again (``_id_in``'s key).
    _claim_key = "delivery_id"

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
        to its type whose filter matches ``payload`` (see :meth:`subscribed_endpoints`), in
        the caller's transaction.

        Takes :meth:`insert_event`'s arguments but ``deliveries``, which it makes.

        Returns:
            The ``(delivery_id, endpoint_id)`` pairs written.
        """
        deliveries = [(new_id("dlv"), ep)
                      for ep in self.subscribed_endpoints(conn, tenant_id, event_type, payload)]
        self.insert_event(conn, event_id, tenant_id, event_type, payload, deliveries, now)
        return deliveries

    def order_event(self, conn: Any, event_id: str, order_key: str) -> int:
        """Number an event's deliveries to ordered endpoints, in the caller's transaction.

        Each delivery of ``event_id`` to an endpoint with ``ordering = 'per_key'`` gets the
        next sequence number of its endpoint and ``order_key`` (from 1, no gaps). The
        counter's row lock makes concurrent enqueues of one key take their numbers in
        commit order, so a claim never sees a later number without the earlier one.

        Args:
            conn: The open transaction's connection (the event's deliveries are in it).
            event_id: The event.
            order_key: The value of its type's ordering key.

        Returns:
            How many deliveries were numbered.
        """
        rows = self._exec(
            conn, "SELECT q.delivery_id, q.endpoint_id FROM queue q JOIN endpoints e ON"
            " e.id = q.endpoint_id WHERE q.event_id = ? AND e.ordering = 'per_key'",
            [event_id]).fetchall()
        for delivery_id, endpoint_id in rows:
            seq = self._exec(
                conn, "INSERT INTO order_counters (endpoint_id, order_key, last_seq)"
                " VALUES (?, ?, 1) ON CONFLICT (endpoint_id, order_key) DO UPDATE SET"
                " last_seq = order_counters.last_seq + 1 RETURNING last_seq",
                [endpoint_id, order_key]).fetchone()[0]
            self._exec(conn, "UPDATE queue SET order_key = ?, seq = ? WHERE delivery_id = ?",
                       [order_key, seq, delivery_id])
            self._exec(conn, "UPDATE deliveries SET order_key = ?, sequence = ? WHERE id = ?",
                       [order_key, seq, delivery_id])
        return len(rows)

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
        exclude_endpoints: Sequence[str] = (), per_endpoint: Optional[int] = None,
        each: Optional[int] = None,
    ) -> list[Claimed]:
        """Lease up to ``limit`` due deliveries (pending, or with an expired lease).

        Args:
            owner: This worker's lease token.
            limit: Most to claim.
            now: Unix time.
            lease_until: When the leases expire.
            exclude_endpoints: Endpoints not to claim for (a full window waiting, held for a
                while): at most about what the worker holds. Endpoints whose breaker is open
                need not be listed: their rows are parked (:data:`PARKED`).
            per_endpoint: Most leases per endpoint across all workers (see
                :meth:`Store.claim`); only a store shared by worker processes applies it.
            each: Most deliveries of one endpoint this claim leases (the worker's room
                for it), or ``None``.

        Returns:
            The claimed deliveries with their payloads.
        """
        where, params = DUE, [now]  # type: tuple[str, list[Any]]
        if exclude_endpoints:
            clause, excluded = self._in("endpoint_id", list(exclude_endpoints))
            where, params = f"{DUE} AND NOT ({clause})", [now, *excluded]
        return self._claimed(self._lease(owner, limit, now, lease_until, where, params,
                                         "due", per_endpoint, each))

    def _lease(self, owner: str, limit: int, now: float, lease_until: float, where: str,
               where_params: list[Any], order: str, per_endpoint: Optional[int],
               each: Optional[int] = None) -> list[Any]:
        """Run the claim statement; returns its rows (see :meth:`_claimed`).

        ``where`` is the whole condition of the rows to lease (the ordered-head rule is
        added to it), ``where_params`` its parameters: a plain claim's is :data:`DUE`
        with more conditions, a probe's its own. ``per_endpoint`` is ignored here: one
        worker process per database (SQLite)."""
        if each is not None and each < limit:
            sql = self._each_claim_sql(where, order)
            params = [owner, lease_until, *where_params, limit * CLAIM_CANDIDATES, each, limit]
        else:
            sql = self._claim_sql(where, order)
            params = [owner, lease_until, *where_params, limit]
        if self._claim_in_transaction:
            with self.transaction() as conn:
                return list(self._exec(conn, sql, params).fetchall())
        return list(self._exec(self.conn(), sql, params).fetchall())

    def claim_probe(self, owner: str, endpoint_id: str, now: float,
                    lease_until: float, per_endpoint: Optional[int] = None) -> list[Claimed]:
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
            per_endpoint: As for :meth:`claim`.

        Returns:
            The claimed delivery, or nothing if none of the endpoint's is due.
        """
        due = self._claimed(self._lease(owner, 1, now, lease_until, f"{DUE} AND endpoint_id = ?",
                                        [now, endpoint_id], "round_attempts = 0, due",
                                        per_endpoint))
        if due:
            return due
        # None due unparked: the endpoint's parked rows, found through queue_parked, in the
        # same order (a parked row is due when it was before it was parked).
        found = self._read(
            f"SELECT delivery_id FROM queue WHERE endpoint_id = ? AND {IS_PARKED} AND due <= ?"
            f"{ORDERED_HEAD} ORDER BY round_attempts = 0, due LIMIT 1", [endpoint_id, now + PARKED])
        if not found:
            return []
        # Leased by id with the claim statement itself (the cap, the lease), on a condition
        # of its own: the row found, still parked (due when it was before it was parked)
        # or due, not leased since it was read (a lease moves due to its end).
        return self._claimed(self._lease(
            owner, 1, now, lease_until,
            f"delivery_id = ? AND ({IS_PARKED} AND due <= ? OR {DUE})",
            [found[0][0], now + PARKED, now], "due", per_endpoint))

    @staticmethod
    def _claimed(rows: Sequence[Sequence[Any]]) -> list[Claimed]:
        # Positional, in the order of Claimed's fields: keyword arguments cost twice as
        # much (0.8 against 0.36 us a row, on the store thread of every claim).
        return [Claimed(r[0], r[1], r[2], r[3], r[4], r[5], r[7], r[8] or 0, r[6], r[9])
                for r in rows]

    def _claim_sql(self, where: str = DUE, order: str = "due") -> str:
        """The claim statement; parameters: owner, lease_until, ``where``'s, limit.

        A lease is the queue row's owner and a due time moved to the lease's end: a worker
        that dies leaves rows that come due again when their leases run out.
        """
        # An ordered row waits while an earlier one of its endpoint and key is in the
        # queue (unordered rows never run the subquery: order_key IS NULL comes first).
        due = (f"FROM queue WHERE ({where}){ORDERED_HEAD}"
               f" ORDER BY {order} LIMIT ?{self._claim_suffix()}")
        return ("UPDATE queue SET lease_owner = ?, due = ?"
                f" WHERE {self._id_in('delivery_id', due)}{self._CLAIM_RETURNING}")

    def _each_claim_sql(self, where: str = DUE, order: str = "due") -> str:
        """The claim statement with a cap per endpoint on this claim's rows; parameters:
        owner, lease_until, ``where``'s, the candidates to read, the cap, the limit.

        Rows beyond an endpoint's cap would be given back at once (the worker has no room
        for them): they are skipped here, and the claim reads further for others."""
        key = self._claim_key  # carried up by its own name, for ``_id_in``
        due = (f"SELECT {key} AS {key}, endpoint_id, due, round_attempts FROM queue WHERE"
               f" ({where}){ORDERED_HEAD} ORDER BY {order} LIMIT ?{self._claim_suffix()}")
        rows = (f"FROM (SELECT {key}, due, round_attempts, row_number() OVER (PARTITION"
                f" BY endpoint_id ORDER BY {order}) AS k FROM ({due}) AS r) AS c WHERE c.k <= ?"
                f" ORDER BY {order} LIMIT ?")
        return ("UPDATE queue SET lease_owner = ?, due = ?"
                f" WHERE {self._id_in('delivery_id', rows)}{self._CLAIM_RETURNING}")

    _CLAIM_RETURNING = (
        " RETURNING delivery_id, tenant_id,"
        " endpoint_id, event_type, attempt_count, round_attempts, event_id,"
        # The payload and the endpoint's version come with the rows: one statement (on
        # PostgreSQL one round trip) instead of three.
        " (SELECT payload FROM events WHERE events.id = queue.event_id),"
        " (SELECT version FROM endpoints WHERE endpoints.id = queue.endpoint_id), seq"
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

    def renew(self, owner: str, delivery_ids: Sequence[str], lease_until: float) -> list[str]:
        """Extend leases that ``owner`` still holds (a worker's deliveries kept past a lease).

        Args:
            owner: The lease token.
            delivery_ids: The deliveries.
            lease_until: The leases' new end.

        Returns:
            The ids renewed; the others were finished or are leased by another worker.
        """
        return self._renew_leases("queue", "delivery_id", owner, delivery_ids, lease_until)

    def park(self, owner: str, delivery_ids: Sequence[str], now: float, at: float) -> int:
        """Give leased deliveries back parked if their endpoint's breaker is open or
        half-open in the store (taken off again, due at ``now``, when it closes), else due
        at ``at``.

        What a worker does with the deliveries of an endpoint whose breaker it sees open
        that a claim brought (those waiting when it opened were parked then). The
        breaker's row is read with a key-share lock on PostgreSQL: a close that deletes it
        meanwhile waits for this statement, then takes these off again; one that deleted
        it already makes them due at ``at``.

        Args:
            owner: The lease token.
            delivery_ids: The deliveries.
            now: Unix time.
            at: When they are due again if the breaker is closed in the store.

        Returns:
            How many were parked.
        """
        if not delivery_ids:
            return 0
        clause, params = self._in("delivery_id", list(delivery_ids))
        with self.transaction() as conn:  # one statement: the lock holds until it commits
            rows = self._exec(
                conn, "UPDATE queue SET lease_owner = NULL, due = CASE WHEN EXISTS"
                " (SELECT 1 FROM endpoint_breakers b WHERE b.endpoint_id ="
                f" queue.endpoint_id{self._breaker_lock}) THEN ? ELSE ? END"
                f" WHERE {clause} AND lease_owner = ? RETURNING due",
                [now + PARKED, at, *params, owner]).fetchall()
        return sum(1 for (due,) in rows if due >= PARKED)

    #: The row lock :meth:`park` takes on the breaker it reads (none on SQLite: one writer).
    _breaker_lock = ""

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

    def queue_depth(self) -> int:
        """Deliveries pending or in flight.

        Returns:
            The count.
        """
        return int(self._read("SELECT COUNT(*) FROM queue")[0][0])
