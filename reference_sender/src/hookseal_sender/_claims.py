"""A worker's claims: when to claim, how many, which endpoints to leave out, probes."""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Coroutine, Iterable
from typing import Any, Callable, Optional

from ._buffer import ClaimBuffer
from ._health import EndpointHealth
from ._store_calls import CLAIM_RETRY, StoreCalls
from .config import SenderConfig
from .models import Claimed
from .tracing import Tracing

logger = logging.getLogger("hookseal_sender.worker")

#: Seconds a worker leaves a paused endpoint out of its claims before looking again.
HELD_SECONDS = 2.0
#: The most held endpoints (paused, or waiting for a rate-limit slot) a claim leaves out:
#: those held longest. A held endpoint beyond them is claimed as any other and its rows
#: given back again (due at its next send slot; a paused one's after a while), none sent
#: early: so a claim's list stays short however many endpoints wait at once.
HELD_EXCLUDED = 100


class Claims:
    """Leases due deliveries from the store into a worker's buffer.

    Claims fill the slots and a prefetch buffer, so a finished attempt's slot is refilled
    at once while the next claim runs; and they come in batches: with work at hand, the
    next waits until a quarter of the slots' worth is missing. A claim that finds less
    than it asked for ends the claims for a poll interval, unless new work is announced
    (:meth:`fresh`). A claim brings no endpoint more deliveries than the buffer's share
    of the slots for one endpoint, so it leases nothing only to give it back (claims
    capped only by the store's shared per-endpoint count did, on PostgreSQL with two
    workers about as many rows as they delivered). Endpoints with a full window waiting
    are left out (as many as the endpoints this worker holds deliveries of, at most), and
    paused or rate-limited ones (the :data:`HELD_EXCLUDED` held longest, at most). Those
    whose breaker is open are not listed: their deliveries are parked in the store
    (:meth:`Store.park`: when the breaker opened, or when a claim brings one, as this
    worker sees the breaker, here or in the store as read at most once per poll
    interval); when an endpoint's open period ends, the worker that takes its probe in
    the store claims a delivery, parked or not, to probe it with.

    Args:
        calls: The worker's store calls.
        config: Claim batch, lease (visibility timeout) and poll interval.
        owner: The worker's lease token.
        buffer: Where claimed deliveries go.
        health: The endpoints' breakers.
        holding: Deliveries the worker holds already (a claim may bring one back when its
            lease ran out: it is not buffered twice). Claimed ones are added.
        wake: Wakes the worker's loop (not as new work) when a claim ends.
        parallel: Two claims may run at once (each on its own connection).
        tracing: Records a span per claim (when tracing).
    """

    def __init__(self, calls: StoreCalls, config: SenderConfig, owner: str, buffer: ClaimBuffer,
                 health: EndpointHealth, holding: set[str], wake: Callable[[], None], *,
                 parallel: bool, tracing: Optional[Tracing] = None) -> None:
        self._calls = calls
        self._config = config
        self._owner = owner
        self._buffer = buffer
        self._health = health
        self._holding = holding
        self._wake = wake
        self._tracing = tracing or Tracing()
        # Claims in flight at once: on PostgreSQL two (each on its own connection; SKIP
        # LOCKED keeps their rows apart), so a claim's round trip and the loop's reaction
        # to it no longer leave slots idle; on SQLite one, the single writer.
        self._max = 2 if parallel else 1
        self._tasks: set[asyncio.Task[None]] = set()
        self._running = 0  # claims in flight
        self._launched = 0
        self._asked = 0  # rows they asked for
        self._min = max(1, buffer.concurrency // 4)
        # Rows asked for per claim: halved when a claim brings rows that must be given
        # back (one busy endpoint), doubled again when claims are used in full, and half
        # again what came when fewer endpoints had room than rows were asked for.
        self._size = config.claim_batch
        # After a claim that found less than it asked for, none until then (monotonic).
        self._dry_until = 0.0
        #: After a claim that failed, none until then: unlike a dry spell, new work does
        #: not end it (a store that fails would fail again at once).
        self.paused_until = 0.0
        self._wakes = 0  # wake-ups that may mean new work (attempt ended, work enqueued)
        self._probing: set[str] = set()  # half-open endpoints whose probe is being claimed
        self._probe_after: dict[str, float] = {}  # no probe claim before then (monotonic)
        # Paused endpoints are left out of claims for a while (not claimed and released).
        self._held: dict[str, float] = {}

    def fresh(self) -> None:
        """Note that new work may be due (an attempt ended, work was enqueued)."""
        self._wakes += 1
        self._dry_until = 0.0

    def hold(self, endpoint_id: str, seconds: float = HELD_SECONDS) -> None:
        """Leave an endpoint out of claims for ``seconds`` (a paused one: for
        :data:`HELD_SECONDS`; a rate-limited one: until its next send slot)."""
        self._held[endpoint_id] = time.monotonic() + seconds

    def busy(self, mono: float) -> set[str]:
        """The endpoints left out of claims for a while (paused, rate-limited) or whose
        probe is being claimed; also forgets the holds and probe waits that ended.

        Args:
            mono: Monotonic time.
        """
        self._held = {ep: t for ep, t in self._held.items() if t > mono}
        self._probe_after = {ep: t for ep, t in self._probe_after.items() if t > mono}
        return {*self._held, *self._probing, *self._probe_after}

    def pause(self, mono: float) -> Optional[float]:
        """Seconds to wait before the next claim, or ``None`` if one may start now."""
        buffer = self._buffer
        room = buffer.room() - self._asked
        until = max(self._dry_until, self.paused_until)
        if (room <= 0 or self._running >= self._max or mono < until
                or (buffer.total + buffer.buffered + self._asked and room < self._min)):
            return until - mono if mono < until else self._config.poll_interval
        return None

    def follow_breakers(self, mono: float) -> None:
        """Read the store's breakers again if a poll interval passed since the last read
        (on its own task; claims use what was read last)."""
        shared = self._health.shared
        if shared.refresh_due(mono):
            self._start(shared.refresh())

    def launch(self, mono: float) -> None:
        """Start a claim (and the probes of endpoints whose open period ended)."""
        shared = self._health.shared
        self._held = {ep: t for ep, t in self._held.items() if t > mono}
        # Endpoints whose breaker is open are not listed: their rows are parked, so the
        # claim's cost does not grow with them (the gauge of open breakers is set here).
        self._health.count_not_closed()
        held: Iterable[str] = self._held
        if len(self._held) > HELD_EXCLUDED:
            # The longest holds are left out; rows of the others that a claim brings are
            # given back (a rate-limited one's without a store call: its gate knows when
            # its next slot is free).
            held = heapq.nlargest(HELD_EXCLUDED, self._held, key=self._held.__getitem__)
        excluded = list({*self._buffer.full(), *held})
        for ep in shared.probe_due(time.time()):
            if (not self._buffer.inflight.get(ep) and ep not in self._buffer.queues
                    and ep not in self._probing and mono >= self._probe_after.get(ep, 0)):
                self._probing.add(ep)
                self._start(self._probe(ep))
        want = min(self._buffer.room() - self._asked, self._size)
        self._asked += want
        self._running += 1
        self._launched += 1
        # At most what the buffer takes of one endpoint: rows beyond its window would be
        # given back at once (a release, and a claim that brought nothing for them; with
        # 64 busy endpoints a third of the rows claimed, and with two workers nine tenths).
        self._start(self._claim(want, excluded, self._buffer.share()))

    def _start(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait(self) -> None:
        """Wait for the claims in flight."""
        if self._tasks:
            await asyncio.wait(list(self._tasks))

    async def _claim(self, want: int, excluded: list[str], each: int) -> None:
        """Claim up to ``want`` deliveries, at most ``each`` of one endpoint, into the
        per-endpoint buffers."""
        now, started, wakes, launched = time.time(), time.monotonic(), self._wakes, self._launched
        alone = self._running == 1
        with self._tracing.claim({"hookseal.worker": self._owner, "hookseal.asked": want}) as span:
            try:
                claimed = await self._calls.call(
                    self._calls.store.claim, self._owner, want, now,
                    now + self._config.visibility_timeout, excluded, self._buffer.per_endpoint,
                    each, pool=self._calls.claims)
            except Exception as exc:
                pause = self._calls.trouble("claim", exc)
                self.paused_until = time.monotonic() + pause
                self._wake()
                return
            finally:
                self._asked -= want
                self._running -= 1
            if span is not None:
                span.set_attribute("hookseal.claimed", len(claimed))
        self._calls.back(started)
        if claimed:
            logger.debug("claimed %d deliveries", len(claimed))
        alone = alone and self._launched == launched
        # Two claims in flight at once were both asked for the endpoints with room (each
        # up to ``each``): the second's rows are kept beyond the window, not given back.
        release, park = self._buffer_all(claimed, 0 if alone else each)
        if park:  # on its own task: the rest of the claim goes to the slots meanwhile
            self._start(self._park(park))
        if release:
            await self._calls.call(self._calls.store.release, self._owner, release, now)
            self._size = max(self._min, self._size // 2)
        elif len(claimed) == want:
            self._size = min(self._config.claim_batch, self._size * 2)
        elif each < want and claimed:
            # Fewer endpoints had room than rows were asked for: ask for about as many as
            # came (and half again) next. A claim asking for the whole room left none for a
            # second one beside it (two at once on PostgreSQL): one process delivered 0.68x
            # as many a second (median of 5 paired runs), and read four rows a row asked.
            self._size = max(self._min, min(self._config.claim_batch, len(claimed) * 3 // 2))
        self._buffer.dispatch()
        # A claim that ran beside another may come back short with due rows left (rows the
        # other leased while this one read them are dropped by PostgreSQL's re-check): it
        # says the queue is dry only if it ran alone or found nothing at all.
        short = len(claimed) < want and (alone or not claimed)
        if (short or len(release) == len(claimed)) and self._wakes == wakes:
            # Nothing more is due, and nothing new came since this claim started: the next
            # claim after a poll interval, or sooner if an attempt ends or work arrives.
            self._dry_until = time.monotonic() + self._config.poll_interval
        self._wake()

    async def _park(self, rows: list[Claimed]) -> None:
        """Give back parked what a claim brought of endpoints whose breaker is open (come
        since it opened); due after a poll interval where the store has it closed.

        This worker's open state not written yet (its write failed) is written first, so
        that the store parks them. Where the store has the breaker closed all the same,
        another worker closed it since this one last read the breakers: they are due after
        a poll interval, and the breakers are read again at once (not opened again: a
        probe found the endpoint delivering)."""
        shared = self._health.shared
        await shared.write_pending({c.endpoint_id for c in rows})  # notes its own failure
        ids = [c.id for c in rows]
        now = time.time()
        try:
            parked = await self._calls.call(
                self._calls.store.park, self._owner, ids, now,
                now + self._config.poll_interval, pool=self._calls.claims)
        except Exception as exc:  # their leases run out: claimed again, parked then
            self._calls.trouble("park", exc, retry="when their leases run out")
            return
        if parked < len(ids):
            shared.follow_soon()

    def _buffer_all(self, claimed: list[Claimed],
                    over: int = 0) -> tuple[list[str], list[Claimed]]:
        """Buffer what a claim brought, up to ``over`` beyond an endpoint's window; returns
        the ids to give back (full windows) and the rows to park (their breaker open)."""
        release: list[str] = []
        park: list[Claimed] = []
        share = self._buffer.share()
        holding = self._holding
        is_closed = self._health.is_closed
        for c in claimed:
            if c.id in holding:
                continue  # ours already: the claim only renewed its lease
            if not is_closed(c.endpoint_id):
                park.append(c)
                continue
            if not self._buffer.add(c, share, over):
                release.append(c.id)  # this endpoint has a full window waiting
                continue
            holding.add(c.id)
        return release, park

    async def _probe(self, endpoint_id: str) -> None:
        """Take an endpoint's probe in the store (one worker of all gets it) and claim the
        delivery to probe with into its buffer."""
        claimed: list[Claimed] = []
        again = max(self._config.poll_interval, CLAIM_RETRY)
        shared = self._health.shared
        try:
            if await shared.take_probe(endpoint_id):
                now = time.time()
                claimed = await self._calls.call(
                    self._calls.store.claim_probe, self._owner, endpoint_id, now,
                    now + self._config.visibility_timeout, self._buffer.per_endpoint,
                    pool=self._calls.claims)
                if not claimed:  # nothing due: any worker may probe after a while
                    await shared.give_back(endpoint_id, again)
        except Exception as exc:
            self._calls.trouble("probe claim", exc)
        finally:
            self._probing.discard(endpoint_id)
        if not claimed:  # another worker probes, none due, or the store failed: look again
            self._probe_after[endpoint_id] = time.monotonic() + again
            return
        self._probe_after.pop(endpoint_id, None)
        for c in claimed:
            if c.id in self._holding:
                continue
            self._buffer.add(c)
            self._holding.add(c.id)
        self._buffer.dispatch()
