"""Process each webhook delivery once, keyed by its delivery id.

Senders retry: a delivery whose 2xx got lost on the way back arrives again, and a
receiver that crashed half-way needs the retry to run. :class:`ProcessOnce` gives both:

1. :meth:`ProcessOnce.claim` atomically marks the id ``in_progress`` for a *lease*.
2. On success, :meth:`ProcessOnce.complete` marks it ``completed`` for a *TTL* that covers
   the sender's whole retry window; later deliveries of the id are answered 2xx without
   running the handler again.
3. On failure, :meth:`ProcessOnce.release` forgets the claim so the next retry runs at once;
   if the process dies instead, the retry runs once the lease has expired.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Optional, TypeVar

from .store import ClaimState, IdempotencyStore

__all__ = ["DEFAULT_LEASE", "DEFAULT_TTL", "Claim", "ProcessOnce", "RunResult"]

T = TypeVar("T")

_log = logging.getLogger("hookseal.idempotency")

DEFAULT_TTL: float = 3.5 * 24 * 3600
"""Seconds a completed id is remembered: a bit over the three-day retry window."""

DEFAULT_LEASE: float = 300.0
"""Seconds a claim is held before a retry may take it over (set above your slowest handler)."""


@dataclass(frozen=True)
class Claim:
    """The result of :meth:`ProcessOnce.claim`.

    Attributes:
        key: The delivery id.
        state: ``ACQUIRED`` (process it), ``IN_PROGRESS`` (someone else is) or
            ``COMPLETED`` (already done).
        token: The holder's random token (meaningful only when acquired).
        retry_after: For ``IN_PROGRESS``, whole seconds until the lease ends (at least 1).
    """

    key: str
    state: ClaimState
    token: str = ""
    retry_after: Optional[int] = None

    @property
    def acquired(self) -> bool:
        """True if the caller now holds the id and must process the delivery."""
        return self.state is ClaimState.ACQUIRED


@dataclass(frozen=True)
class RunResult(Generic[T]):
    """The result of :meth:`ProcessOnce.run`.

    Attributes:
        claim: The claim that decided whether the function ran.
        value: What the function returned, or ``None`` if it did not run.
    """

    claim: Claim
    value: Optional[T] = None

    @property
    def ran(self) -> bool:
        """True if the function ran (and completed) in this call."""
        return self.claim.acquired


class ProcessOnce:
    """Claim/complete bookkeeping of delivery ids over a store.

    Args:
        store: Where claims live: ``MemoryIdempotencyStore()``, ``SQLiteIdempotencyStore(path)`` or
            ``RedisIdempotencyStore(client)``.
        lease: Seconds a claim holds before a retry may take it over; keep it above the
            slowest handler run, or a slow run and a retry can both process one id.
        ttl: Seconds a completed id is remembered (default a bit over three days, the
            sender's retry window). A delivery replayed after that runs again.
        clock: Returns the current Unix time in seconds (tests pass a fake).

    Examples:
        >>> once = ProcessOnce(MemoryIdempotencyStore())
        >>> once.run("msg_1", lambda: "done").ran
        True
        >>> once.run("msg_1", lambda: "again").ran
        False
    """

    def __init__(
        self,
        store: IdempotencyStore,
        *,
        lease: float = DEFAULT_LEASE,
        ttl: float = DEFAULT_TTL,
        clock: Optional[Callable[[], float]] = None,
    ) -> None:
        """Configure the helper; see the class docstring."""
        if not lease > 0 or not ttl > 0:
            raise ValueError("lease and ttl must be positive numbers of seconds")
        self.store = store
        self.lease = float(lease)
        self.ttl = float(ttl)
        self._clock = clock or time.time

    def claim(self, key: str) -> Claim:
        """Try to take the delivery id ``key``; see :class:`Claim` for the outcomes."""
        if not key:
            raise ValueError("the delivery id must be a non-empty string")
        token = secrets.token_hex(16)
        now = self._clock()
        answer = self.store.try_claim(key, token, now=now, lease=self.lease, ttl=self.ttl)
        if answer.state is ClaimState.ACQUIRED:
            return Claim(key, answer.state, token)
        retry_after = None
        if answer.state is ClaimState.IN_PROGRESS:
            remaining = (answer.lease_until or now) - now
            retry_after = max(1, math.ceil(remaining))
        return Claim(key, answer.state, retry_after=retry_after)

    def complete(self, claim: Claim) -> bool:
        """Mark an acquired claim done; returns False if its lease was lost meanwhile."""
        if not claim.acquired:
            return False
        done = self.store.complete(claim.key, claim.token, now=self._clock(), ttl=self.ttl)
        if not done:
            # The lease ran out before the handler finished and a retry took the id over:
            # the delivery may have been processed twice. Raise the lease.
            _log.warning("lease of delivery %s expired before it completed (lease=%ss)",
                         claim.key, self.lease)
        return done

    def release(self, claim: Claim) -> bool:
        """Give up an acquired claim (processing failed) so a retry can run at once."""
        if not claim.acquired:
            return False
        return self.store.release(claim.key, claim.token)

    def run(self, key: str, fn: Callable[[], T]) -> RunResult[T]:
        """Run ``fn`` unless ``key`` is completed or held; complete or release around it.

        If ``fn`` raises, the claim is released and the exception propagates.
        """
        claim = self.claim(key)
        if not claim.acquired:
            return RunResult(claim)
        try:
            value = fn()
        except BaseException:
            self.release(claim)
            raise
        self.complete(claim)
        return RunResult(claim, value)
