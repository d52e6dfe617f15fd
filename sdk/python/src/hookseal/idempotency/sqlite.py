"""An idempotency store in a SQLite file (stdlib ``sqlite3``), shared by local processes."""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from typing import Any, Optional, Union

from .._deprecated import resolve
from .store import ClaimState, StoreAnswer

__all__ = ["SQLiteIdempotencyStore"]

_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}\Z")


class SQLiteIdempotencyStore:
    """Keeps claims in a SQLite table; safe across threads and processes on one host.

    Every claim runs in a ``BEGIN IMMEDIATE`` transaction, which takes SQLite's write
    lock before reading, so two processes claiming one id serialise and exactly one wins.
    Expired rows are deleted on a later claim of the same id or by :meth:`purge_expired`.

    Args:
        path: The database file (created if missing). ``":memory:"`` works within one
            process only.
        table: The table name (created if missing).
        timeout: Seconds to wait for another writer's lock before raising
            ``sqlite3.OperationalError``.
    """

    def __init__(
        self,
        path: Union[str, os.PathLike[str]],
        *,
        table: str = "hookseal_idempotency",
        timeout: float = 30.0,
    ) -> None:
        """Open (and if needed create) the store; see the class docstring."""
        if not _TABLE_NAME.match(table):
            raise ValueError(f"invalid SQLite table name: {table!r}")
        self._path = os.fspath(path)
        self._table = table
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: Optional[sqlite3.Connection] = None
        self._pid = -1
        with self._lock:
            self._connection().execute(
                f"CREATE TABLE IF NOT EXISTS {table} ("
                " key TEXT PRIMARY KEY, state TEXT NOT NULL, token TEXT NOT NULL,"
                " lease_until REAL NOT NULL, expires_at REAL NOT NULL)"
            )

    def _connection(self) -> sqlite3.Connection:
        # One connection per process (a forked child must not reuse its parent's), shared
        # by this store's threads under self._lock.
        if self._conn is None or self._pid != os.getpid():
            self._conn = sqlite3.connect(
                self._path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            self._pid = os.getpid()
        return self._conn

    def close(self) -> None:
        """Close the underlying connection (the store reopens it if used again)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def try_claim(
        self, key: str, token: str, *, now: float, lease: float, ttl: float
    ) -> StoreAnswer:
        """See :meth:`IdempotencyStore.try_claim`."""
        t = self._table
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    f"SELECT state, lease_until, expires_at FROM {t} WHERE key = ?",  # noqa: S608
                    (key,),
                ).fetchone()
                if row is not None and row[2] > now:
                    if row[0] == ClaimState.COMPLETED.value:
                        conn.execute("COMMIT")
                        return StoreAnswer(ClaimState.COMPLETED)
                    if row[1] > now:
                        conn.execute("COMMIT")
                        return StoreAnswer(ClaimState.IN_PROGRESS, float(row[1]))
                conn.execute(
                    f"INSERT OR REPLACE INTO {t} (key, state, token, lease_until, expires_at)"  # noqa: S608
                    " VALUES (?, ?, ?, ?, ?)",
                    (key, ClaimState.IN_PROGRESS.value, token, now + lease, now + max(ttl, lease)),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return StoreAnswer(ClaimState.ACQUIRED)

    def complete(self, key: str, token: str, *, now: float, ttl: float) -> bool:
        """See :meth:`IdempotencyStore.complete`."""
        with self._lock:
            cur = self._connection().execute(
                f"UPDATE {self._table} SET state = ?, expires_at = ?"  # noqa: S608
                " WHERE key = ? AND token = ?",
                (ClaimState.COMPLETED.value, now + ttl, key, token),
            )
            return cur.rowcount == 1

    def release(self, key: str, token: str) -> bool:
        """See :meth:`IdempotencyStore.release`."""
        with self._lock:
            cur = self._connection().execute(
                f"DELETE FROM {self._table} WHERE key = ? AND token = ? AND state = ?",  # noqa: S608
                (key, token, ClaimState.IN_PROGRESS.value),
            )
            return cur.rowcount == 1

    def purge_expired(self, now: float) -> int:
        """Delete every record whose TTL ended before ``now``; return how many."""
        with self._lock:
            cur = self._connection().execute(
                f"DELETE FROM {self._table} WHERE expires_at <= ?",  # noqa: S608
                (now,),
            )
            return cur.rowcount


# Old names, kept as deprecated aliases (they did not say what they store, and the sender
# has an unrelated SQLiteStore).
_RENAMED = {"SQLiteStore": "hookseal.idempotency.SQLiteIdempotencyStore"}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _RENAMED, name)
