"""The circuit breakers every worker shares through the store, as one worker sees them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Iterable
from typing import Any, Callable, Optional

from ._store_calls import StoreCalls
from .breaker import CLOSED, CircuitBreaker
from .storage.base import BreakerRow

#: The state of a breaker whose probe a worker took (:meth:`Store.take_breaker_probe`).
HALF_OPEN_ROW = "half_open"


class SharedBreakers:
    """The store's open and half-open breakers, and this worker's breakers kept in step.

    A worker decides from its own attempts when an endpoint's breaker opens; it then opens
    it in the store, for every worker, and closes or reopens it there with its probe's
    result (:meth:`opened`, :meth:`closed`: written at once, on their own task, and again
    at the next read, or before a claim's rows of the endpoint are parked, while the store
    cannot be reached: :meth:`write_pending`). It reads the store's breakers at
    most once per ``interval`` (:meth:`refresh`, started by the claims: one small query
    per poll interval, none per delivery) and holds or resets its own breakers to match.
    Claims leave out every endpoint in :attr:`open`; when an endpoint's open period ends,
    the worker that takes the probe in the store (:meth:`take_probe`, atomic) probes it,
    and no other.

    This worker's store calls about breakers run one at a time (a lock), so a read never
    undoes a write or a probe taken while it was out.

    Args:
        calls: The worker's store calls.
        owner: The worker's lease token.
        interval: Seconds between two reads of the store's breakers, at least.
        lease: Seconds a probe taken is this worker's alone (the delivery's lease): if no
            result came by then, another worker may take it.
        breaker: Each endpoint's breaker in this worker (created on first use).
        breakers: The breakers created so far.
    """

    def __init__(self, calls: StoreCalls, owner: str, interval: float, lease: float,
                 breaker: Callable[[str], CircuitBreaker],
                 breakers: dict[str, CircuitBreaker]) -> None:
        self._calls = calls
        self._owner = owner
        self._interval = interval
        self._lease = lease
        self._breaker = breaker
        self._breakers = breakers
        #: Endpoints whose breaker is open or half-open in the store (as last read, with
        #: this worker's own changes since), and until when (Unix time): when a probe may
        #: be taken, or when the probe's right lapses.
        self.open: dict[str, float] = {}
        # Writes not made yet: open until (Unix time), or None to close.
        self._pending: dict[str, Optional[float]] = {}
        self._lock = asyncio.Lock()
        self._next_read = 0.0  # monotonic
        self._reading = False
        self._tasks: set[asyncio.Task[None]] = set()

    # this worker's own transitions (called on the loop, from the breakers' on_change) ----
    def opened(self, endpoint_id: str, seconds: float) -> None:
        """This worker opened an endpoint's breaker (or its probe failed): open it for all.

        Args:
            endpoint_id: The endpoint.
            seconds: For how long (the policy's ``open_seconds``).
        """
        until = time.time() + seconds
        self.open[endpoint_id] = self._pending[endpoint_id] = until
        self._start(self._sync(read=False))

    def closed(self, endpoint_id: str) -> None:
        """This worker's probe succeeded: close the endpoint's breaker for all.

        Args:
            endpoint_id: The endpoint.
        """
        self.open.pop(endpoint_id, None)
        self._pending[endpoint_id] = None
        self._start(self._sync(read=False))

    # reads and probes (called by the claims) ----------------------------------------
    def refresh_due(self, mono: float) -> bool:
        """Whether the store's breakers should be read again now.

        Args:
            mono: Monotonic time.
        """
        return not self._reading and mono >= self._next_read

    async def refresh(self) -> None:
        """Write what is pending, then read the store's breakers and follow them."""
        self._reading = True
        self._next_read = time.monotonic() + self._interval
        try:
            await self._sync(read=True)
        finally:
            self._reading = False

    async def write_pending(self, endpoint_ids: Iterable[str]) -> None:
        """Write now this worker's changes not written yet, if any of ``endpoint_ids`` has
        one (a write that failed: kept for the next read, a poll interval away at best).

        The claims call it before they park the rows of endpoints whose breaker this
        worker has open: written first, the store parks them; unwritten, the store has the
        breaker closed and makes them due again after a poll interval, to be claimed and
        handed back again until the next read writes it. A failure is noted, as at a read.

        Args:
            endpoint_ids: The endpoints.
        """
        if any(ep in self._pending for ep in endpoint_ids):
            await self._sync(read=False)

    def follow_soon(self) -> None:
        """Read the store's breakers at the next chance (:meth:`refresh_due`), not after
        the interval: this worker holds a breaker open that the store has closed, with no
        write of its own pending (another worker closed it since the last read)."""
        self._next_read = 0.0

    def probe_due(self, now: float) -> list[str]:
        """The endpoints whose open period (or lapsed probe) ended by ``now`` (Unix time)."""
        return [ep for ep, until in self.open.items() if until <= now]

    async def take_probe(self, endpoint_id: str) -> bool:
        """Take the endpoint's probe in the store; if this worker got it, its breaker is
        granted the probe (half-open).

        Args:
            endpoint_id: The endpoint.

        Returns:
            Whether this worker got it.
        """
        async with self._lock:
            now = time.time()
            until = now + self._lease
            taken = await self._calls.call(self._calls.store.take_breaker_probe, endpoint_id,
                                           self._owner, now, until, pool=self._calls.claims)
            if taken:
                self.open[endpoint_id] = until
                self._breaker(endpoint_id).grant()
            return taken

    async def give_back(self, endpoint_id: str, seconds: float) -> None:
        """Give back a probe taken but not used (nothing was due): open again for
        ``seconds``, after which any worker may take it.

        Args:
            endpoint_id: The endpoint.
            seconds: For how long.
        """
        async with self._lock:
            now = time.time()
            await self._calls.call(self._calls.store.open_breaker, endpoint_id, self._owner,
                                   now, now + seconds, pool=self._calls.claims)
            self.open[endpoint_id] = now + seconds
            self._breaker(endpoint_id).hold(seconds)

    def in_use(self) -> set[str]:
        """The endpoints whose breaker is open or half-open in the store (as last read)
        or has a change not written yet: their breakers must stay."""
        return {*self.open, *self._pending}

    async def wait(self) -> None:
        """Wait for the writes in flight (a stopping worker)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks))

    # ----------------------------------------------------------------------------------
    def _start(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sync(self, *, read: bool) -> None:
        async with self._lock:
            try:
                await self._flush()
                if read:
                    rows = await self._calls.call(self._calls.store.breakers,
                                                  pool=self._calls.claims)
                    self._apply(rows)
            except Exception as exc:
                # Kept pending, written at the next read; meanwhile this worker's breakers
                # still hold its own endpoints.
                self._calls.trouble("breaker", exc, retry=(
                    f"at the next read, in {self._interval:.3g} s"))

    async def _flush(self) -> None:
        store = self._calls.store
        while self._pending:
            endpoint_id, until = next(iter(self._pending.items()))
            if until is None:
                await self._calls.call(store.close_breaker, endpoint_id, pool=self._calls.claims)
            else:
                await self._calls.call(store.open_breaker, endpoint_id, self._owner, time.time(),
                                       until, pool=self._calls.claims)
            if endpoint_id in self._pending and self._pending[endpoint_id] == until:
                del self._pending[endpoint_id]  # not changed again meanwhile

    def _apply(self, rows: list[BreakerRow]) -> None:
        """Follow the store: hold the breakers other workers opened, reset those they
        closed (this worker's unwritten changes stand)."""
        now = time.time()
        seen = set()
        for row in rows:
            ep = row.endpoint_id
            seen.add(ep)
            if ep in self._pending:
                continue
            self.open[ep] = row.open_until
            br = self._breaker(ep)
            mine = row.state == HALF_OPEN_ROW and row.probed_by == self._owner
            if not (br.granted and mine):
                br.hold(row.open_until - now)
        for ep in [ep for ep in self.open if ep not in seen and ep not in self._pending]:
            del self.open[ep]
            held = self._breakers.get(ep)
            if held is not None and held.state != CLOSED:
                held.reset()
