"""A worker's write-back: attempt results, releases and cancels, batched into few calls."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Callable, Optional

from ._health import EndpointHealth
from ._store_calls import StoreCalls
from .metrics import Metrics
from .models import AttemptResult, DeliveryFilter

logger = logging.getLogger("hookseal_sender.worker")

#: Results written back per store call, at most; fewer when they are slow to come.
FLUSH_BATCH = 64
#: Seconds the first of a batch of results waits for others before being written back.
FLUSH_DELAY = 0.005


class WriteBack:
    """Collects what a worker's attempts decided and writes it to the store in batches.

    Args:
        calls: The worker's store calls.
        owner: The worker's lease token.
        health: Told about each batch of results once it is recorded.
        metrics: Counts failed write-backs.
    """

    def __init__(self, calls: StoreCalls, owner: str, health: EndpointHealth,
                 metrics: Metrics) -> None:
        self._calls = calls
        self._owner = owner
        self._health = health
        self._metrics = metrics
        self._results: list[tuple[AttemptResult, str]] = []
        self._releases: list[tuple[str, float]] = []
        self._cancels: list[str] = []
        #: Deliveries the worker holds, from claim until their write-back: buffered, in
        #: flight or waiting to be recorded. A lease that ran out meanwhile lets a claim
        #: bring one back; sending that copy too would deliver it twice at once. Claims
        #: add to it; the write-back removes what it recorded.
        self.holding: set[str] = set()
        #: Set when something waits to be written (made by :meth:`open`, on the loop).
        self.event: Optional[asyncio.Event] = None
        #: Set when the worker stops: no waiting for a fuller batch, nothing kept.
        self.stopping = False
        self._closing = False
        #: Called once results are recorded (the worker wakes its claims with it): their
        #: leases are gone, and PostgreSQL's per-endpoint cap counts leases, so a claim
        #: that found an endpoint at its cap a moment ago may find room now.
        self.written: Callable[[], None] = lambda: None

    def add(self, result: AttemptResult, tenant_id: str) -> None:
        """Queue an attempt's result."""
        self._results.append((result, tenant_id))

    def release(self, delivery_id: str, due_at: float) -> None:
        """Queue giving a delivery back, due at ``due_at`` (Unix time)."""
        self._releases.append((delivery_id, due_at))

    def cancel(self, delivery_id: str) -> None:
        """Queue cancelling a delivery (its endpoint is gone or disabled)."""
        self._cancels.append(delivery_id)

    def open(self) -> asyncio.Event:
        """Make :attr:`event` on the running loop (Python 3.9 binds it at creation).

        Returns:
            The event: set it when something waits to be written.
        """
        self.event = asyncio.Event()
        return self.event

    async def run(self) -> None:
        """Write back whenever :attr:`event` is set, until :meth:`close`."""
        event = self.event
        assert event is not None, "open() first"
        while True:
            await event.wait()
            event.clear()
            if not self.stopping and len(self._results) < FLUSH_BATCH:
                await asyncio.sleep(FLUSH_DELAY)  # one store call for a batch, not each
            await self.flush()
            if self._closing:
                return

    def close(self) -> None:
        """Make :meth:`run` return after one more write-back."""
        self.stopping = self._closing = True
        if self.event is not None:
            self.event.set()

    async def flush(self) -> None:
        """Write back everything queued now."""
        # The attempts' metrics first: once a result is in the store, it is counted.
        self._metrics.flush()
        results, self._results = self._results, []
        releases, self._releases = self._releases, []
        cancels, self._cancels = self._cancels, []
        if not (results or releases or cancels):
            return
        now, started = time.time(), time.monotonic()
        written = False  # whether the results are recorded
        kept: set[str] = set()  # deliveries whose write-back waits for the database
        try:
            if results:
                await self._calls.call(self._calls.store.complete, self._owner,
                                       [r for r, _ in results], now)
            written = True
            await self._give_back(releases, cancels)
        except Exception as exc:
            kept = self._failed(exc, [] if written else results, releases, cancels,
                                len(results))
        finally:
            done = {r.delivery_id for r, _ in results} | {d for d, _ in releases} | set(cancels)
            self.holding.difference_update(done - kept)
        if written and results:
            self._calls.back(started)
            self.written()
            await self._health.after(results, now)

    async def _give_back(self, releases: list[tuple[str, float]], cancels: list[str]) -> None:
        call, store, owner = self._calls.call, self._calls.store, self._owner
        due: dict[float, list[str]] = {}
        for d, at in releases:
            due.setdefault(at, []).append(d)
        for at, ids in due.items():  # one call per due time, not per delivery
            await call(store.release, owner, ids, at)
        if cancels:
            await call(functools.partial(store.cancel, owner=owner), None,
                       DeliveryFilter(), cancels)

    def _failed(self, exc: BaseException, unwritten: list[tuple[AttemptResult, str]],
                releases: list[tuple[str, float]], cancels: list[str], count: int) -> set[str]:
        """Handle a failed write-back (called in its ``except``); returns the deliveries
        kept for the next one."""
        kept: set[str] = set()
        if not self._calls.unavailable(exc):
            logger.exception("could not record %d results", count)
            self._metrics.exception("record")
        elif not self.stopping:
            # Kept and written once the database is back (the store reconnects), so the
            # deliveries are not sent again when their leases run out. (Releases and
            # cancels may be written twice: both are idempotent.)
            self._results[:0] = unwritten
            kept.update(r.delivery_id for r, _ in unwritten)
            self._releases[:0], self._cancels[:0] = releases, cancels
            kept.update(d for d, _ in releases)
            kept.update(cancels)
            pause = self._calls.trouble("write-back", exc)
            if self.event is not None:
                asyncio.get_running_loop().call_later(pause, self.event.set)
        else:
            self._calls.trouble("write-back", exc)
        # What is not kept: the leases expire and the deliveries are retried
        # (at-least-once).
        return kept

