"""An in-process idempotency store: for tests and single-process receivers."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from .._deprecated import resolve
from .store import ClaimState, StoreAnswer

__all__ = ["MemoryIdempotencyStore"]


@dataclass
class _Record:
    state: ClaimState
    token: str
    lease_until: float
    expires_at: float


class MemoryIdempotencyStore:
    """Keeps claims in a dict guarded by a lock.

    Only deliveries handled by this one process are deduplicated, and everything is lost
    on restart; use :class:`~hookseal.idempotency.SQLiteIdempotencyStore` or
    :class:`~hookseal.idempotency.RedisIdempotencyStore` when several workers share the traffic.
    """

    def __init__(self) -> None:
        """Create an empty store."""
        self._lock = threading.Lock()
        self._records: dict[str, _Record] = {}
        self._claims_since_sweep = 0

    def __len__(self) -> int:
        """Return how many records (live or not yet swept) the store holds."""
        return len(self._records)

    def _sweep(self, now: float) -> None:
        # Amortised clean-up so the dict does not grow for ever.
        self._claims_since_sweep += 1
        if self._claims_since_sweep < 1024:
            return
        self._claims_since_sweep = 0
        for key in [k for k, r in self._records.items() if r.expires_at <= now]:
            del self._records[key]

    def try_claim(
        self, key: str, token: str, *, now: float, lease: float, ttl: float
    ) -> StoreAnswer:
        """See :meth:`IdempotencyStore.try_claim`."""
        with self._lock:
            self._sweep(now)
            record = self._records.get(key)
            if record is not None and record.expires_at > now:
                if record.state is ClaimState.COMPLETED:
                    return StoreAnswer(ClaimState.COMPLETED)
                if record.lease_until > now:
                    return StoreAnswer(ClaimState.IN_PROGRESS, record.lease_until)
            self._records[key] = _Record(
                ClaimState.IN_PROGRESS, token, now + lease, now + max(ttl, lease)
            )
            return StoreAnswer(ClaimState.ACQUIRED)

    def complete(self, key: str, token: str, *, now: float, ttl: float) -> bool:
        """See :meth:`IdempotencyStore.complete`."""
        with self._lock:
            record = self._records.get(key)
            if record is None or record.token != token:
                return False
            record.state = ClaimState.COMPLETED
            record.expires_at = now + ttl
            return True

    def release(self, key: str, token: str) -> bool:
        """See :meth:`IdempotencyStore.release`."""
        with self._lock:
            record = self._records.get(key)
            if record is None or record.token != token or record.state is ClaimState.COMPLETED:
                return False
            del self._records[key]
            return True


# Old names, kept as deprecated aliases (they did not say what they store, and the sender
# has an unrelated SQLiteStore).
_RENAMED = {"MemoryStore": "hookseal.idempotency.MemoryIdempotencyStore"}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _RENAMED, name)
