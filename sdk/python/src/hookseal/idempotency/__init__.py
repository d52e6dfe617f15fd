"""Process each webhook delivery once: claim/complete bookkeeping of delivery ids.

Examples:
    >>> from hookseal.idempotency import ProcessOnce, SQLiteIdempotencyStore
    >>> once = ProcessOnce(SQLiteIdempotencyStore("/tmp/hookseal-doctest.db"))  # doctest: +SKIP

The framework helpers in :mod:`hookseal.integrations` take a ``ProcessOnce`` as their
``once=`` option. ``RedisIdempotencyStore`` needs ``hookseal[redis]``; importing this package never
imports ``redis``.
"""

from __future__ import annotations

from typing import Any

from .._deprecated import resolve
from .memory import MemoryIdempotencyStore
from .process_once import DEFAULT_LEASE, DEFAULT_TTL, Claim, ProcessOnce, RunResult
from .redis import RedisIdempotencyStore
from .sqlite import SQLiteIdempotencyStore
from .store import ClaimState, IdempotencyStore, StoreAnswer

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_TTL",
    "Claim",
    "ClaimState",
    "IdempotencyStore",
    "MemoryIdempotencyStore",
    "ProcessOnce",
    "RedisIdempotencyStore",
    "RunResult",
    "SQLiteIdempotencyStore",
    "StoreAnswer",
]


# Old names, kept as deprecated aliases (they did not say what they store, and the sender
# has an unrelated SQLiteStore).
_RENAMED = {
    "MemoryStore": "hookseal.idempotency.MemoryIdempotencyStore",
    "RedisStore": "hookseal.idempotency.RedisIdempotencyStore",
    "SQLiteStore": "hookseal.idempotency.SQLiteIdempotencyStore",
}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _RENAMED, name)
