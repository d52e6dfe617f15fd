"""Storage backends behind one interface, :class:`Store`."""

from __future__ import annotations

from ..secretbox import SecretBox
from .base import Store
from .postgres import PostgresStore
from .sqlite import SQLiteStore


def open_store(url: str, box: SecretBox, *, sqlite_synchronous: str = "NORMAL") -> Store:
    """Open (and migrate) the store a URL names.

    Args:
        url: ``sqlite:///path.db``, a bare file path, or ``postgresql://...``.
        box: Encrypts keys at rest.
        sqlite_synchronous: SQLite's ``synchronous`` mode.

    Returns:
        The migrated store.
    """
    store: Store
    if url.startswith(("postgresql://", "postgres://")) or url.startswith("host="):
        store = PostgresStore(url, box)
    else:
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else url
        store = SQLiteStore(path, box, synchronous=sqlite_synchronous)
    store.migrate()
    return store


__all__ = ["PostgresStore", "SQLiteStore", "Store", "open_store"]
