"""The SQLite backend (WAL): the embedded default, no server needed."""

# Multi-row statements format in generated placeholders only; every value is bound.
# ruff: noqa: S608

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from .._private import create_private
from ..models import AttemptResult
from ..secretbox import SecretBox
from ._sql import SCHEMA, SQLStore

#: Pages in the WAL before a commit checkpoints it itself (40 MB at 4 KiB pages).
WAL_BACKSTOP_PAGES = 10_000
#: Rows per multi-row statement: 9 parameters a row stays under SQLite's old limit of 999.
ROWS_PER_STATEMENT = 100
#: Prepared statements kept per connection. The write-back's statements differ with the
#: batch's size (a placeholder group per row), three of them per size: with sqlite3's
#: default of 128 they pushed each other out and were compiled again at most write-backs.
CACHED_STATEMENTS = 1024


class SQLiteStore(SQLStore):
    """A store in one SQLite file, in WAL mode; several processes may share it.

    ``synchronous=NORMAL`` (the default) in WAL mode survives any process crash; after a
    power loss or OS crash the last transactions may be lost, never corrupted. Use
    ``FULL`` to survive those too, at the price of an fsync per commit.

    Args:
        path: The database file.
        box: Encrypts keys at rest.
        synchronous: The ``synchronous`` pragma: ``NORMAL`` or ``FULL``.
    """

    dialect = "sqlite"

    def __init__(self, path: str, box: SecretBox, *, synchronous: str = "NORMAL") -> None:
        super().__init__(box)
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"bad synchronous mode: {synchronous}")
        self.path = path
        self.synchronous = synchronous.upper()

    def _connect(self) -> Any:
        if self.path != ":memory:" and not self.path.startswith("file:"):
            # Mode 0600 before SQLite creates it (and, after it, the -wal and -shm files,
            # which SQLite gives the database's mode): it holds every payload.
            create_private(self.path)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=30.0, cached_statements=CACHED_STATEMENTS)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute("PRAGMA busy_timeout=30000")
        # Workers checkpoint the WAL in the background (maintenance()); the automatic
        # checkpoint stays only as a backstop, so enqueue commits rarely pay for one.
        conn.execute(f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}")
        return conn

    def maintenance(self) -> None:
        """Checkpoint the WAL without blocking writers (called by workers)."""
        self.conn().execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _schema(self) -> str:
        return SCHEMA.format(REAL="REAL", SERIAL="INTEGER PRIMARY KEY")

    # The write-back runs one statement per batch of rows, not one per row: at a few
    # microseconds a row, sqlite3's per-statement overhead cost more than SQLite's work.
    def _insert_attempts(self, conn: Any, rows: Sequence[tuple[Any, ...]]) -> None:
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start:start + ROWS_PER_STATEMENT]
            params = [value for row in chunk for value in row]
            conn.execute(self._INSERT_ATTEMPTS + ",".join(["(?,?,?,?,?,?,?,?,?)"] * len(chunk)),
                         params)

    def _update_states(self, conn: Any, owner: str, results: Sequence[AttemptResult],
                       now: float) -> set[str]:
        mine: set[str] = set()
        for start in range(0, len(results), ROWS_PER_STATEMENT):
            chunk = results[start:start + ROWS_PER_STATEMENT]
            # The queue first, where the lease is: finished deliveries leave it, retried
            # ones wait there again. Only rows still leased by ``owner`` count.
            done = [r.delivery_id for r in chunk if r.status != "pending"]
            if done:
                mine.update(row[0] for row in conn.execute(
                    f"DELETE FROM queue WHERE delivery_id IN ({','.join('?' * len(done))})"
                    " AND lease_owner = ? RETURNING delivery_id", [*done, owner]).fetchall())
            again = [r for r in chunk if r.status == "pending"]
            if again:
                params: list[Any] = []
                for r in again:
                    params += (r.delivery_id, r.next_attempt_at, r.attempt.number,
                               r.round_attempts)
                mine.update(row[0] for row in conn.execute(
                    "UPDATE queue SET due = v.column2, attempt_count = v.column3,"
                    " round_attempts = v.column4, lease_owner = NULL"
                    f" FROM (VALUES {','.join(['(?,?,?,?)'] * len(again))}) AS v"
                    " WHERE queue.delivery_id = v.column1 AND queue.lease_owner = ?"
                    " RETURNING queue.delivery_id", [*params, owner]).fetchall())
            rows = [r for r in chunk if r.delivery_id in mine]
            if not rows:
                continue
            params = [now]
            for r in rows:
                params += (r.delivery_id, r.status, r.attempt.number, r.round_attempts,
                           r.next_attempt_at, r.attempt.status_code, r.attempt.error)
            conn.execute(
                "UPDATE deliveries SET status = v.column2, attempt_count = v.column3,"
                " round_attempts = v.column4, next_attempt_at = v.column5,"
                " last_status_code = v.column6, last_error = v.column7, updated_at = ?"
                f" FROM (VALUES {','.join(['(?,?,?,?,?,?,?)'] * len(rows))}) AS v"
                " WHERE deliveries.id = v.column1",
                params,
            )
        return mine

    _claim_key = "rowid"

    def _id_in(self, key: str, rows: str) -> str:
        # By rowid: the claim index's entries carry it, so each claimed row is found in the
        # table itself, not through the text primary key's own index first. Claims of 100
        # with 1,000,000 pending: 129,000 -> 192,000 rows/s (10,000 pending: +12 %).
        return f"rowid IN (SELECT rowid {rows})"

    def _has_index(self, conn: Any, name: str) -> bool:
        return bool(conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
                                 (name,)).fetchall())

    def _column_names(self, conn: Any, table: str) -> set[str]:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})").fetchall()}

    def _begin(self, conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so two writers never deadlock on upgrade.
        conn.execute("BEGIN IMMEDIATE")


__all__ = ["CACHED_STATEMENTS", "ROWS_PER_STATEMENT", "WAL_BACKSTOP_PAGES", "SQLiteStore"]
