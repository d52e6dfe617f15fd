"""Apply an event only if it is newer than the last one applied for its resource.

Webhooks are not delivered in order: a retry of an old ``customer.updated`` can arrive
after a newer one. :class:`Ordering` remembers, per resource, the envelope ``created``
time (Unix seconds, when the event happened) of the last event applied and refuses older
ones::

    ordering = Ordering(SQLiteOrderingStore("receiver.db"))
    if ordering.apply_if_newer(event, lambda: save_customer(event["data"]["customer"])):
        ...  # applied; otherwise a newer event for this customer was applied already

Limits (read them before relying on it):

- ``created`` has one-second resolution. Two events for one resource in the same second
  cannot be ordered by it; by default both are applied, in arrival order
  (``allow_equal=False`` keeps the first one instead).
- The check is atomic, but the record is written *before* your function runs: if it
  fails, a retry of the *same* event is still let through (same id), yet an older event
  arriving meanwhile is refused. For full safety keep the last applied ``created`` in your
  own row and compare it in the same database transaction as the update.
- Only events that carry a resource id are ordered (by default ``data.<resource>.id``,
  e.g. ``data.invoice.id`` for ``invoice.paid``); others are always applied.
- Ordering is not deduplication: combine it with :mod:`hookseal.idempotency`.
- Deleting a resource is an event like any other: a late ``customer.updated`` after
  ``customer.deleted`` is refused only if it is older.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Mapping
from typing import Any, Callable, Optional, Protocol, Union

__all__ = [
    "MemoryOrderingStore",
    "Ordering",
    "OrderingStore",
    "RedisOrderingStore",
    "SQLiteOrderingStore",
    "resource_key",
]


def resource_key(event: Mapping[str, Any]) -> Optional[str]:
    """Default resource key: ``"<resource>:<id>"`` from ``data.<resource>.id``.

    The resource is the event type's first part (``invoice`` for ``invoice.paid``).
    Returns ``None`` when the event carries no such id.
    """
    event_type = event.get("type")
    data = event.get("data")
    if not isinstance(event_type, str) or not isinstance(data, Mapping):
        return None
    resource = event_type.split(".", 1)[0]
    obj = data.get(resource)
    if isinstance(obj, Mapping) and isinstance(obj.get("id"), str) and obj["id"]:
        return f"{resource}:{obj['id']}"
    return None


class OrderingStore(Protocol):
    """Remembers the newest ``(created, event_id)`` applied per resource key."""

    def advance(self, key: str, created: int, event_id: str, *, allow_equal: bool) -> bool:
        """Atomically record the event and return True if it may be applied.

        It may be applied if nothing is recorded for ``key``, if ``created`` is later
        than the record, if it is the recorded event itself (a retry), or if it is equal
        and ``allow_equal``.
        """
        ...


def _newer(
    record: Optional[tuple[int, str]], created: int, event_id: str, allow_equal: bool
) -> bool:
    if record is None:
        return True
    last_created, last_id = record
    if event_id == last_id or created > last_created:
        return True
    return created == last_created and allow_equal


class MemoryOrderingStore:
    """An in-process :class:`OrderingStore` (single process, lost on restart)."""

    def __init__(self) -> None:
        """Create an empty store."""
        self._lock = threading.Lock()
        self._records: dict[str, tuple[int, str]] = {}

    def advance(self, key: str, created: int, event_id: str, *, allow_equal: bool) -> bool:
        """See :meth:`OrderingStore.advance`."""
        with self._lock:
            if not _newer(self._records.get(key), created, event_id, allow_equal):
                return False
            self._records[key] = (created, event_id)
            return True


class SQLiteOrderingStore:
    """An :class:`OrderingStore` in a SQLite file, safe across threads and processes.

    Args:
        path: The database file (created if missing).
        table: The table name (created if missing).
    """

    def __init__(
        self, path: Union[str, os.PathLike[str]], *, table: str = "hookseal_ordering"
    ) -> None:
        """Open the store; see the class docstring."""
        if not table.replace("_", "").isalnum() or not table.isascii():
            raise ValueError(f"invalid SQLite table name: {table!r}")
        self._table = table
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            os.fspath(path), timeout=30, isolation_level=None, check_same_thread=False
        )
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table} ("
            " key TEXT PRIMARY KEY, created INTEGER NOT NULL, event_id TEXT NOT NULL)"
        )

    def advance(self, key: str, created: int, event_id: str, *, allow_equal: bool) -> bool:
        """See :meth:`OrderingStore.advance`."""
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    f"SELECT created, event_id FROM {self._table} WHERE key = ?",  # noqa: S608
                    (key,),
                ).fetchone()
                ok = _newer(None if row is None else (int(row[0]), str(row[1])),
                            created, event_id, allow_equal)
                if ok:
                    conn.execute(
                        f"INSERT OR REPLACE INTO {self._table} (key, created, event_id)"  # noqa: S608
                        " VALUES (?, ?, ?)",
                        (key, created, event_id),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return ok

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


_REDIS_ADVANCE = """
local rec = redis.call('HMGET', KEYS[1], 'created', 'event_id')
if rec[1] then
  local last = tonumber(rec[1])
  local created = tonumber(ARGV[1])
  if not (rec[2] == ARGV[2] or created > last or (created == last and ARGV[3] == '1')) then
    return 0
  end
end
redis.call('HSET', KEYS[1], 'created', ARGV[1], 'event_id', ARGV[2])
if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return 1
"""


class RedisOrderingStore:
    """An :class:`OrderingStore` in Redis (``hookseal[redis]``), shared by every worker.

    Args:
        client: A ``redis.Redis`` client.
        prefix: Prepended to every resource key.
        ttl: Seconds to keep a resource's record after its last update (``None``: for
            ever). An event older than the TTL arriving later would be applied.
    """

    def __init__(
        self, client: Any, *, prefix: str = "hookseal:ordering:", ttl: Optional[float] = None
    ) -> None:
        """Wrap ``client``; see the class docstring."""
        self._prefix = prefix
        self._ttl_ms = 0 if ttl is None else max(1, int(ttl * 1000))
        self._advance: Any = client.register_script(_REDIS_ADVANCE)

    def advance(self, key: str, created: int, event_id: str, *, allow_equal: bool) -> bool:
        """See :meth:`OrderingStore.advance`."""
        return bool(self._advance(
            keys=[self._prefix + key],
            args=[int(created), event_id, "1" if allow_equal else "0", self._ttl_ms],
        ))


class Ordering:
    """Per-resource "newest wins" guard over an :class:`OrderingStore`.

    Args:
        store: Where the last applied event per resource is kept (default: in memory).
        key: Returns an event's resource key, or ``None`` to apply it unordered
            (default :func:`resource_key`).
        allow_equal: Apply an event whose ``created`` equals the last applied one's
            (default True; see the module's limits).
    """

    def __init__(
        self,
        store: Optional[OrderingStore] = None,
        *,
        key: Callable[[Mapping[str, Any]], Optional[str]] = resource_key,
        allow_equal: bool = True,
    ) -> None:
        """Configure the guard; see the class docstring."""
        self.store: OrderingStore = store if store is not None else MemoryOrderingStore()
        self.key = key
        self.allow_equal = allow_equal

    def check_and_record(self, event: Mapping[str, Any]) -> bool:
        """Return True (and record it) if ``event`` is not older than the last applied one.

        Raises:
            ValueError: The event has no integer ``created`` or no string ``id``.
        """
        created = event.get("created")
        event_id = event.get("id")
        if isinstance(created, bool) or not isinstance(created, int):
            raise ValueError("the event has no integer 'created' timestamp")
        if not isinstance(event_id, str) or not event_id:
            raise ValueError("the event has no 'id'")
        resource = self.key(event)
        if resource is None:
            return True
        return self.store.advance(resource, created, event_id, allow_equal=self.allow_equal)

    def apply_if_newer(self, event: Mapping[str, Any], fn: Callable[[], object]) -> bool:
        """Run ``fn`` if ``event`` passes :meth:`check_and_record`; return whether it ran."""
        if not self.check_and_record(event):
            return False
        fn()
        return True
