"""Process each webhook delivery once: claim/complete bookkeeping of delivery ids.

Examples:
    >>> from hookseal.idempotency import ProcessOnce, SQLiteStore
    >>> once = ProcessOnce(SQLiteStore("/tmp/hookseal-doctest.db"))  # doctest: +SKIP

The framework helpers in :mod:`hookseal.integrations` take a ``ProcessOnce`` as their
``once=`` option. ``RedisStore`` needs ``hookseal[redis]``; importing this package never
imports ``redis``.
"""

from __future__ import annotations

from .memory import MemoryStore
from .process_once import DEFAULT_LEASE, DEFAULT_TTL, Claim, ProcessOnce, RunResult
from .redis import RedisStore
from .sqlite import SQLiteStore
from .store import ClaimState, IdempotencyStore, StoreAnswer

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_TTL",
    "Claim",
    "ClaimState",
    "IdempotencyStore",
    "MemoryStore",
    "ProcessOnce",
    "RedisStore",
    "RunResult",
    "SQLiteStore",
    "StoreAnswer",
]
