"""The SQLite backend (WAL): the embedded default, no server needed."""

from __future__ import annotations

import sqlite3
from typing import Any

from ..secretbox import SecretBox
from ._sql import SCHEMA, SQLStore


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
        return conn

    def _schema(self) -> str:
        return SCHEMA.format(REAL="REAL", SERIAL="INTEGER PRIMARY KEY")

    def _begin(self, conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so two writers never deadlock on upgrade.
        conn.execute("BEGIN IMMEDIATE")
