"""The SQL store's plumbing: a DB-API connection per thread, transactions, dialect hooks."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..secretbox import SecretBox
from .base import Store

#: Most ids per statement of a lease renewal.
RENEW_CHUNK = 500


class Connections(Store):
    """Connections, statements and transactions for the SQL store's parts.

    Every part of :class:`~hookseal_sender.storage._sql.SQLStore` (endpoints, queue, log,
    statistics, retention, schema) derives from this class and runs its SQL through
    :meth:`_exec` and :meth:`_read`. Dialects override the hooks.

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

    def _day(self, column: str) -> str:
        """SQL for the UTC day number of a Unix time column."""
        return f"CAST({column} / 86400 AS INTEGER)"

    def _stream(self, sql: str, params: Sequence[Any]) -> Iterator[Any]:
        """The rows of a large query without holding them all in memory."""
        # SQLite's cursor steps through the result as it is read; iterated directly (a
        # generator around it cost a fifth of the pass).
        return iter(self._exec(self.conn(), sql, params))

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

    def _renew_leases(self, table: str, key: str, owner: str, ids: Sequence[str],
                      lease_until: float) -> list[str]:
        """Move the leases ``owner`` holds on ``table``'s rows ``ids`` to ``lease_until``
        (a lease is the row's ``lease_owner`` and its ``due``); returns the keys renewed.

        A row locked meanwhile (its write-back, on another of the worker's connections) is
        skipped, not waited for: a renewal that waited while holding the rows it had
        locked deadlocked with a write-back locking the same rows in another order. The
        skipped row is finishing; if not, the next renewal takes it.
        """
        ids, renewed = list(ids), []
        with self.transaction() as conn:
            for start in range(0, len(ids), RENEW_CHUNK):  # SQLite's limit on parameters
                clause, params = self._in(key, ids[start:start + RENEW_CHUNK])
                # ``table`` and ``key`` are the callers' constants; values are bound.
                rows = (f"FROM {table} WHERE lease_owner = ? AND {clause}"
                        f"{self._claim_suffix()}")
                sql = (f"UPDATE {table} SET due = ? WHERE {self._id_in(key, rows)}"  # noqa: S608
                       f" RETURNING {key}")
                renewed += [r[0] for r in self._exec(
                    conn, sql, [lease_until, owner, *params]).fetchall()]
        return renewed

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
