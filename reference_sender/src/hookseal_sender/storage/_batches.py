"""The SQL store's batches (contract 4.4): gathering, claims, write-back, replay."""

# Queries are assembled only from constant text and generated placeholders; every value
# is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from ..models import Attempt, Batch, ClaimedBatch, Gathered, new_id
from ._columns import LIVE, headers_json
from ._connections import Connections

#: Ids per ``IN (...)`` list (SQLite's old limit is 999 parameters a statement).
ID_CHUNK = 500
#: The states of a batch still to be sent (``due`` set).
BATCH_LIVE = ("gathering", "pending")

_BATCH_COLS = ("id, tenant_id, endpoint_id, status, size, body_bytes, attempt_count,"
               " round_attempts, due, created_at, updated_at")


@dataclass
class _Open:
    """A batch as one gathering transaction changes it."""

    id: str
    size: int
    body_bytes: int
    due: float
    new: bool
    status: str = "gathering"
    members: list[str] = field(default_factory=list)


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i:i + ID_CHUNK] for i in range(0, len(ids), ID_CHUNK)]


class Batches(Connections):
    """An endpoint's deliveries gathered into batches, each sent and retried as one."""

    def _lock_suffix(self) -> str:
        # Row locks where writers run concurrently (PostgreSQL); SQLite's BEGIN IMMEDIATE
        # already serializes every write transaction.
        return " FOR UPDATE" if self.concurrent_writers else ""

    def gather(
        self, owner: str, tenant_id: str, endpoint_id: str, items: Sequence[tuple[str, str]],
        limits: Mapping[str, float], now: float, lease_until: float,
    ) -> Gathered:
        """Move claimed deliveries of one endpoint out of the queue into its batches.

        In one transaction: each delivery still leased by ``owner`` is appended, in
        enqueue order, to the endpoint's open batch (one is opened, due its first event's
        enqueue time plus ``max_wait``); a batch that reaches ``max_events``, that the
        next event would take past ``max_bytes``, or whose ``max_wait`` has passed is
        sealed and leased to ``owner`` until ``lease_until``, to be sent now. Concurrent
        gatherers of one endpoint are serialized (a row lock on PostgreSQL).

        Args:
            owner: The worker's lease token.
            tenant_id: The endpoint's tenant.
            endpoint_id: The endpoint.
            items: ``(delivery_id, payload)`` of the claimed deliveries.
            limits: The endpoint's ``batch`` setting (``max_events``, ``max_bytes``,
                ``max_wait``).
            now: Unix time.
            lease_until: When the leases of the sealed batches end.

        Returns:
            What was taken, what must be sent alone, and the batches sealed.
        """
        out = Gathered()
        if not items:
            return out
        sizes = {d: len(p.encode("utf-8")) for d, p in items}
        max_events, max_bytes = int(limits["max_events"]), int(limits["max_bytes"])
        max_wait = float(limits["max_wait"])
        with self.transaction() as conn:
            if self.concurrent_writers:
                self._exec(conn, "SELECT id FROM endpoints WHERE id = ? FOR UPDATE",
                           [endpoint_id])
            rows: list[Any] = []
            for chunk in _chunks(list(sizes)):
                clause, vals = self._in("id", list(chunk))
                rows += self._exec(conn, f"SELECT id, batch_id, created_at FROM deliveries"
                                   f" WHERE {clause}", vals).fetchall()
            # A delivery that was a batch's member before is a replay of that member alone.
            out.alone = [r[0] for r in rows if r[1] is not None]
            fresh = {r[0]: r[2] for r in rows if r[1] is None}
            taken: set[str] = set()
            for chunk in _chunks(list(fresh)):
                clause, vals = self._in("delivery_id", list(chunk))
                taken.update(r[0] for r in self._exec(
                    conn, f"DELETE FROM queue WHERE {clause} AND lease_owner = ?"
                    " RETURNING delivery_id", [*vals, owner]).fetchall())
            order = sorted(taken, key=lambda d: (fresh[d], d))
            out.taken = order
            if not order:
                return out
            found = self._exec(
                conn, "SELECT id, size, body_bytes, due FROM batches WHERE endpoint_id = ?"
                f" AND status = 'gathering'{self._lock_suffix()}", [endpoint_id]).fetchall()
            cur = None
            if found:
                f = found[0]
                cur = _Open(f[0], int(f[1]), int(f[2]), float(f[3]), new=False)
            touched: list[_Open] = [cur] if cur is not None else []

            def seal(b: _Open) -> None:
                b.status, b.due = "pending", lease_until

            for d in order:
                size = sizes[d]
                if cur is not None and cur.size and cur.body_bytes + 1 + size > max_bytes:
                    seal(cur)
                    cur = None
                if cur is None:
                    cur = _Open(new_id("bat"), 0, 2, fresh[d] + max_wait, new=True)
                    touched.append(cur)
                cur.body_bytes += size + (1 if cur.size else 0)
                cur.size += 1
                cur.members.append(d)
                if cur.size >= max_events or cur.body_bytes >= max_bytes:
                    seal(cur)
                    cur = None
            if cur is not None and cur.due <= now:
                seal(cur)
            self._write_gathered(conn, owner, tenant_id, endpoint_id, touched, now)
            out.sealed = [self._claimed_batch(conn, b.id, tenant_id, endpoint_id, 0, 0)
                          for b in touched if b.status == "pending"]
            if cur is not None and cur.status == "gathering":
                out.open_due = cur.due
        return out

    def _write_gathered(self, conn: Any, owner: str, tenant_id: str, endpoint_id: str,
                        touched: Sequence[_Open], now: float) -> None:
        for b in touched:
            lease = owner if b.status == "pending" else None
            if b.new:
                self._exec(conn, f"INSERT INTO batches ({_BATCH_COLS}, lease_owner) VALUES"
                           " (?,?,?,?,?,?,0,0,?,?,?,?)",
                           [b.id, tenant_id, endpoint_id, b.status, b.size, b.body_bytes,
                            b.due, now, now, lease])
                start = 0
            else:
                start = int(self._exec(conn, "SELECT COUNT(*) FROM batch_members WHERE"
                                       " batch_id = ?", [b.id]).fetchone()[0])
                self._exec(conn, "UPDATE batches SET status = ?, size = ?, body_bytes = ?,"
                           " due = ?, lease_owner = ?, updated_at = ? WHERE id = ?",
                           [b.status, b.size, b.body_bytes, b.due, lease, now, b.id])
            self._many(conn, "INSERT INTO batch_members (batch_id, position, delivery_id)"
                       " VALUES (?,?,?)",
                       [(b.id, start + i, d) for i, d in enumerate(b.members)])
            for chunk in _chunks(b.members):
                clause, vals = self._in("id", list(chunk))
                self._exec(conn, "UPDATE deliveries SET batch_id = ?, next_attempt_at = ?,"
                           f" updated_at = ? WHERE {clause}",
                           [b.id, now if b.status == "pending" else b.due, now, *vals])

    def _claimed_batch(self, conn: Any, batch_id: str, tenant_id: str, endpoint_id: str,
                 attempt_count: int, round_attempts: int) -> ClaimedBatch:
        """A leased batch with its members still to deliver, in enqueue order.

        A member replayed on its own and still live (in the queue) is left out.
        """
        version = self._exec(conn, "SELECT version FROM endpoints WHERE id = ?",
                             [endpoint_id]).fetchall()
        members = self._exec(
            conn, "SELECT m.delivery_id, e.payload FROM batch_members m"
            " JOIN deliveries d ON d.id = m.delivery_id JOIN events e ON e.id = d.event_id"
            " WHERE m.batch_id = ? AND d.status = 'pending' AND NOT EXISTS"
            " (SELECT 1 FROM queue q WHERE q.delivery_id = m.delivery_id)"
            " ORDER BY m.position", [batch_id]).fetchall()
        return ClaimedBatch(batch_id, tenant_id, endpoint_id, attempt_count, round_attempts,
                            int(version[0][0]) if version else 0,
                            [(r[0], r[1]) for r in members])

    def claim_batches(self, owner: str, limit: int, now: float,
                      lease_until: float) -> list[ClaimedBatch]:
        """Lease up to ``limit`` due batches: open ones whose ``max_wait`` has passed
        (sealed now), sealed ones due (a retry), and those whose lease ran out.

        Args:
            owner: The worker's lease token.
            limit: Most to claim.
            now: Unix time.
            lease_until: When the leases end.

        Returns:
            The batches with their members.
        """
        rows_sql = f"FROM batches WHERE due <= ? ORDER BY due LIMIT ?{self._claim_suffix()}"
        with self.transaction() as conn:
            rows = self._exec(
                conn, "UPDATE batches SET status = 'pending', lease_owner = ?, due = ?,"
                f" updated_at = ? WHERE {self._id_in('id', rows_sql)}"
                " RETURNING id, tenant_id, endpoint_id, attempt_count, round_attempts",
                [owner, lease_until, now, now, limit]).fetchall()
            return [self._claimed_batch(conn, *r) for r in rows]

    def complete_batch(
        self, owner: str, batch_id: str, delivery_ids: Sequence[str], attempt: Attempt,
        status: str, next_attempt_at: Optional[float], round_attempts: int, now: float,
    ) -> bool:
        """Record one attempt of a batch on each member's delivery, and the new state of
        the batch and its members.

        Args:
            owner: The lease token; a batch re-leased by another worker meanwhile keeps
                its state (the attempt is still recorded).
            batch_id: The batch.
            delivery_ids: The members the attempt sent.
            attempt: The attempt (its ``number`` is ignored: each delivery counts its own).
            status: The new status of the batch and its members.
            next_attempt_at: When it is due again, if ``pending``.
            round_attempts: Attempts in this round, this one included.
            now: Unix time.

        Returns:
            Whether the lease was still held.
        """
        a = attempt
        with self.transaction() as conn:
            held = self._exec(conn, f"SELECT lease_owner FROM batches WHERE id = ?"
                              f"{self._lock_suffix()}", [batch_id]).fetchall()
            mine = bool(held) and held[0][0] == owner
            for chunk in _chunks(list(delivery_ids)):
                clause, vals = self._in("id", list(chunk))
                self._exec(
                    conn, "INSERT INTO attempts (delivery_id, number, at, status_code, error,"
                    " latency_ms, response_headers, response_body, outcome) SELECT id,"
                    f" attempt_count + 1, ?, ?, ?, ?, ?, ?, ? FROM deliveries WHERE {clause}",
                    [a.at, a.status_code, a.error, a.latency_ms, headers_json(a.response_headers),
                     a.response_body, a.outcome, *vals])
                if mine:
                    self._exec(
                        conn, "UPDATE deliveries SET status = ?, attempt_count ="
                        " attempt_count + 1, round_attempts = ?, next_attempt_at = ?,"
                        " last_status_code = ?, last_error = ?, updated_at = ?"
                        f" WHERE {clause} AND status = 'pending'",
                        [status, round_attempts, next_attempt_at, a.status_code, a.error,
                         now, *vals])
            if mine:
                self._exec(conn, "UPDATE batches SET status = ?, attempt_count = attempt_count"
                           " + 1, round_attempts = ?, due = ?, lease_owner = NULL,"
                           " updated_at = ? WHERE id = ?",
                           [status, round_attempts,
                            next_attempt_at if status == "pending" else None, now, batch_id])
        return mine

    def renew_batches(self, owner: str, batch_ids: Sequence[str],
                      lease_until: float) -> list[str]:
        """Extend the leases ``owner`` still holds on batches (see :meth:`Queue.renew`).

        Args:
            owner: The lease token.
            batch_ids: The batches.
            lease_until: The leases' new end.

        Returns:
            The ids renewed.
        """
        return self._renew_leases("batches", "id", owner, batch_ids, lease_until)

    def release_batches(self, owner: str, batch_ids: Sequence[str], at: float) -> None:
        """Give leased batches back, due at ``at``, without an attempt.

        Args:
            owner: The lease token.
            batch_ids: The batches.
            at: When they are due again.
        """
        if batch_ids:
            with self.transaction() as conn:
                self._many(conn, "UPDATE batches SET lease_owner = NULL, due = ? WHERE id = ?"
                           " AND lease_owner = ?", [(at, b, owner) for b in batch_ids])

    def cancel_batch(self, owner: str, batch_id: str, now: float) -> int:
        """Cancel a leased batch and its pending members (its endpoint is gone or
        disabled, or it has no member left to send).

        Args:
            owner: The lease token.
            batch_id: The batch.
            now: Unix time.

        Returns:
            How many member deliveries were cancelled.
        """
        with self.transaction() as conn:
            if not self._exec(conn, "UPDATE batches SET status = 'cancelled', due = NULL,"
                              " lease_owner = NULL, updated_at = ? WHERE id = ? AND"
                              " lease_owner = ?", [now, batch_id, owner]).rowcount:
                return 0
            return int(self._exec(
                conn, "UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL,"
                " updated_at = ? WHERE batch_id = ? AND status = 'pending' AND id IN"
                " (SELECT delivery_id FROM batch_members WHERE batch_id = ?) AND NOT EXISTS"
                " (SELECT 1 FROM queue q WHERE q.delivery_id = deliveries.id)",
                [now, batch_id, batch_id]).rowcount)

    def get_batch(self, tenant_id: Optional[str], batch_id: str) -> Optional[Batch]:
        """One batch with its members' delivery ids, in enqueue order.

        Args:
            tenant_id: The tenant (``None`` only for internal reads).
            batch_id: The batch.

        Returns:
            The batch, or ``None`` (also when it is another tenant's).
        """
        params: list[Any] = [batch_id]
        where = "id = ?"
        if tenant_id is not None:
            where += " AND tenant_id = ?"
            params.append(tenant_id)
        rows = self._read(f"SELECT {_BATCH_COLS} FROM batches WHERE {where}", params)
        if not rows:
            return None
        members = self._read("SELECT delivery_id FROM batch_members WHERE batch_id = ?"
                             " ORDER BY position", [batch_id])
        r = rows[0]
        return Batch(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
                     delivery_ids=[m[0] for m in members])

    def replay_batch(self, tenant_id: str, batch_id: str, now: float) -> int:
        """Make a finished batch pending again, with the same id and members, due now.

        Members live on their own meanwhile (replayed alone and not finished) are left
        out of it.

        Args:
            tenant_id: The tenant.
            batch_id: The batch.
            now: Unix time.

        Returns:
            How many member deliveries were replayed (0: the batch is live, unknown, or
            has no finished member).
        """
        with self.transaction() as conn:
            found = self._exec(conn, "SELECT status FROM batches WHERE id = ? AND tenant_id = ?"
                               f"{self._lock_suffix()}", [batch_id, tenant_id]).fetchall()
            if not found or found[0][0] in BATCH_LIVE:
                return 0
            members = [r[0] for r in self._exec(
                conn, "SELECT m.delivery_id FROM batch_members m JOIN deliveries d ON"
                f" d.id = m.delivery_id WHERE m.batch_id = ? AND d.status NOT IN {LIVE}",
                [batch_id]).fetchall()]
            if not members:
                return 0
            for chunk in _chunks(members):
                clause, vals = self._in("id", list(chunk))
                self._exec(conn, "UPDATE deliveries SET status = 'pending', round_attempts = 0,"
                           f" next_attempt_at = ?, updated_at = ? WHERE {clause}",
                           [now, now, *vals])
            self._exec(conn, "UPDATE batches SET status = 'pending', round_attempts = 0,"
                       " due = ?, lease_owner = NULL, updated_at = ? WHERE id = ?",
                       [now, now, batch_id])
            return len(members)

    def _forget_batch_members(self, conn: Any, delivery_ids: list[str]) -> None:
        """Drop purged deliveries from their batches, and the finished batches they leave
        empty (called by the retention purge in its transaction)."""
        clause, vals = self._in("delivery_id", delivery_ids)
        batch_ids = [r[0] for r in self._exec(
            conn, f"DELETE FROM batch_members WHERE {clause} RETURNING batch_id",
            vals).fetchall()]
        if batch_ids:
            clause, vals = self._in("id", sorted(set(batch_ids)))
            self._exec(conn, f"DELETE FROM batches WHERE {clause} AND due IS NULL AND NOT"
                       " EXISTS (SELECT 1 FROM batch_members m WHERE m.batch_id = batches.id)",
                       vals)
