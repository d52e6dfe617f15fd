"""The SQLite backend (WAL): the embedded default, no server needed."""

from __future__ import annotations

import sqlite3
from typing import Any

from ..secretbox import SecretBox
from ._sql import SCHEMA, SQLStore

#: Pages in the WAL before a commit checkpoints it itself (40 MB at 4 KiB pages).
WAL_BACKSTOP_PAGES = 10_000


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
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=30.0)
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

    def _begin(self, conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so two writers never deadlock on upgrade.
        conn.execute("BEGIN IMMEDIATE")
