"""Claimed deliveries waiting for a slot, per endpoint, and whose turn is next."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Container, Iterable
from typing import Optional

from ._health import EndpointHealth
from ._writeback import WriteBack
from .models import Claimed


class ClaimBuffer:
    """A worker's claimed but unstarted deliveries, handed to slots fairly.

    Endpoints take turns (round robin), each up to its own limit: ``per_endpoint``,
    halved by each timeout and grown back by each answer (see :meth:`adapt`), within its
    fair share of ``concurrency`` while more endpoints are busy than fit at full limit.
    So one endpoint's backlog, or a slow endpoint, never holds up another's.

    Args:
        concurrency: Attempts in flight at once, at most (the slots).
        per_endpoint: Attempts in flight per endpoint, at most.
        health: Each endpoint's breaker is asked before each start.
        writeback: Gets back the deliveries of an endpoint whose breaker opened.
    """

    def __init__(self, concurrency: int, per_endpoint: int, health: EndpointHealth,
                 writeback: WriteBack) -> None:
        self.concurrency = concurrency
        self.per_endpoint = per_endpoint
        self._health = health
        self._writeback = writeback
        # Claimed but not started, at most: as many as the slots, since rows that claims in
        # flight will bring count against it (with half, the buffer ran dry while two
        # claims were out on PostgreSQL and a third of the slots sat idle).
        self._prefetch = concurrency
        #: Claimed but not started, per endpoint (dict order = round-robin order). Each
        #: endpoint may have up to its limit waiting: enough to refill its window at once,
        #: never so many that a slow endpoint's backlog fills the buffer.
        self.queues: dict[str, deque[Claimed]] = {}
        #: Deliveries in :attr:`queues`.
        self.buffered = 0
        #: Attempts in flight per endpoint, and in all.
        self.inflight: dict[str, int] = {}
        self.total = 0
        # Fairness (issue 19 item 4): each endpoint's own limit, lowered while its attempts
        # time out (absent: per_endpoint), and how many endpoints fit at full limit.
        self._limits: dict[str, int] = {}
        self._fits = max(1, concurrency // per_endpoint)
        #: Slots waiting for a delivery (``None`` tells a slot to end).
        self.idle: deque[asyncio.Future[Optional[Claimed]]] = deque()
        #: Set when the worker stops: nothing more starts.
        self.stopping = False

    def room(self) -> int:
        """Deliveries the slots and the buffer could take now."""
        return self.concurrency + self._prefetch - self.total - self.buffered

    def add(self, c: Claimed, share: Optional[int] = None, over: int = 0) -> bool:
        """Buffer ``c``; with ``share``, refuse it (False) when its endpoint's window is
        full already, or ``over`` beyond it (rows of a claim that ran beside another: both
        were asked for the same window)."""
        q = self.queues.get(c.endpoint_id)
        if q is None:
            q = self.queues[c.endpoint_id] = deque()
        elif share is not None and len(q) >= self.limit(c.endpoint_id, share) + over:
            return False
        q.append(c)
        self.buffered += 1
        return True

    def full(self) -> list[str]:
        """The endpoints with a full window waiting (left out of claims)."""
        share = self.share()
        return [ep for ep, q in self.queues.items() if len(q) >= self.limit(ep, share)]

    def take(self) -> Optional[Claimed]:
        """Pick the next buffered delivery that may start now, and count it as started."""
        if not self.buffered or self.stopping:
            return None
        share = self.share()
        for ep in list(self.queues):
            q = self.queues.pop(ep)
            n = self.inflight.get(ep, 0)
            if n >= self.limit(ep, share):
                self.queues[ep] = q  # full: back of the line
                continue
            br = self._health.breaker(ep)
            if not br.allows(n):  # the breaker opened meanwhile: give them back
                stamp = time.time()
                for c in q:
                    self._writeback.release(c.id, stamp)
                if self._writeback.event is not None:
                    # Written now, not after this worker's next attempt (there may be
                    # none for a while): until then their leases keep the endpoint's
                    # deliveries from every worker, its probe's among them.
                    self._writeback.event.set()
                self.buffered -= len(q)
                continue
            c = q.popleft()
            self.buffered -= 1
            if q:
                self.queues[ep] = q  # back of the line
            br.started()
            self.inflight[ep] = n + 1
            self.total += 1
            return c
        return None

    def finished(self, endpoint_id: str) -> None:
        """Count an attempt of ``endpoint_id`` as ended."""
        n = self.inflight.get(endpoint_id, 1) - 1
        if n <= 0:
            self.inflight.pop(endpoint_id, None)
        else:
            self.inflight[endpoint_id] = n
        self.total -= 1

    def dispatch(self) -> None:
        """Hand buffered deliveries to idle slots (on the loop thread)."""
        while self.idle and self.buffered:
            fut = self.idle.popleft()
            if fut.done():  # its slot was cancelled
                continue
            c = self.take()
            if c is None:
                self.idle.appendleft(fut)
                return
            fut.set_result(c)

    def clear(self) -> list[Claimed]:
        """Empty the buffer; returns what it held (never attempted)."""
        held = [c for q in self.queues.values() for c in q]
        self.queues.clear()
        self.buffered = 0
        return held

    def share(self) -> int:
        """The most slots one endpoint may hold while others have work: the global limit
        shared out among the endpoints with deliveries buffered or in flight, rounded up.

        Only computed when there are more such endpoints than fit at their full
        per-endpoint limit; with fewer, every endpoint may use its own limit. Rounded up,
        so that the shares cover every slot: rounded down, 100 slots among 51 busy
        endpoints gave each 1 and left 49 slots idle (the slots still cap the whole).
        """
        if len(self.inflight) + len(self.queues) <= self._fits:
            return self.per_endpoint
        active = len(self.inflight.keys() | self.queues.keys())
        return -(-self.concurrency // active) if active > self._fits else self.per_endpoint

    def limit(self, endpoint_id: str, share: int) -> int:
        """Attempts ``endpoint_id`` may have in flight (and buffered) now: its own limit,
        halved by each timeout (see :meth:`adapt`), within its fair ``share``."""
        return min(self._limits.get(endpoint_id, self.per_endpoint), share)

    def forget_limits(self, keep: Container[str]) -> None:
        """Drop the lowered limits of endpoints not in ``keep`` (the idle sweep's orphans):
        see :meth:`forget`.

        Args:
            keep: The endpoints in use.
        """
        self.forget([ep for ep in self._limits if ep not in keep])

    def forget(self, endpoint_ids: Iterable[str]) -> None:
        """Drop the lowered limits of idle endpoints (the idle sweep's): one used again
        starts at ``per_endpoint``, as a new one does, and is halved again by its timeouts.

        Args:
            endpoint_ids: The endpoints.
        """
        for ep in endpoint_ids:
            self._limits.pop(ep, None)

    def adapt(self, endpoint_id: str, timed_out: bool) -> None:
        """Shrink an endpoint's concurrency when an attempt timed out, grow it back when
        one was answered (additive increase, multiplicative decrease): an endpoint slower
        than the timeout holds one slot, not ``per_endpoint``, while it stays slow."""
        limit = self._limits.get(endpoint_id, self.per_endpoint)
        if timed_out:
            self._limits[endpoint_id] = max(1, limit // 2)
        elif limit < self.per_endpoint:
            if limit + 1 >= self.per_endpoint:
                del self._limits[endpoint_id]
            else:
                self._limits[endpoint_id] = limit + 1
