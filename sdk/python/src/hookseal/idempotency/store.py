"""The storage contract behind :class:`~hookseal.idempotency.ProcessOnce`.

A store keeps one record per delivery id: ``in_progress`` (claimed by a holder whose
random token it remembers, until ``lease_until``) or ``completed``. Each store makes
:meth:`IdempotencyStore.try_claim` atomic, which is the whole trick: of two deliveries
of one id racing each other, exactly one sees ``ACQUIRED``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional, Protocol

__all__ = ["ClaimState", "IdempotencyStore", "StoreAnswer"]


class ClaimState(str, Enum):
    """What a claim on a delivery id found."""

    ACQUIRED = "acquired"
    """Nobody holds the id: the caller now does and must process the delivery."""
    IN_PROGRESS = "in_progress"
    """Another holder is processing the id and its lease has not expired yet."""
    COMPLETED = "completed"
    """The id was processed successfully before; answer 2xx and do nothing."""


@dataclass(frozen=True)
class StoreAnswer:
    """A store's answer to ``try_claim``.

    Attributes:
        state: What the claim found.
        lease_until: For ``IN_PROGRESS``, when the current holder's lease ends (Unix
            seconds); otherwise ``None``.
    """

    state: ClaimState
    lease_until: Optional[float] = None


class IdempotencyStore(Protocol):
    """What a store must do; every method is atomic with respect to the others.

    Times are Unix seconds supplied by the caller (so tests can move the clock); a store
    may also use its own expiry mechanism for ``ttl`` (Redis does).
    """

    def try_claim(
        self, key: str, token: str, *, now: float, lease: float, ttl: float
    ) -> StoreAnswer:
        """Claim ``key`` for ``token`` unless it is completed or validly held.

        A record whose ``ttl`` ran out counts as absent; an ``in_progress`` record whose
        lease ended (its holder crashed or is too slow) is taken over.
        """
        ...

    def complete(self, key: str, token: str, *, now: float, ttl: float) -> bool:
        """Mark ``key`` completed if ``token`` still holds it; keep it ``ttl`` seconds.

        Returns:
            False if the claim was lost (the lease ended and another holder took over).
        """
        ...

    def release(self, key: str, token: str) -> bool:
        """Forget an ``in_progress`` claim held by ``token`` so a retry can run at once.

        Returns:
            False if ``token`` no longer held ``key``.
        """
        ...
