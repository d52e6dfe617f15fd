"""asyncio delivery workers: the claim/dispatch/write-back loop and its parts.

A :class:`Worker` is a loop over collaborators, each with its own inputs and state:

- :class:`~hookseal_sender._claims.Claims` leases due deliveries into a
  :class:`~hookseal_sender._buffer.ClaimBuffer`, which hands them to slots fairly;
- :class:`~hookseal_sender._attempt.AttemptRunner` sends one attempt (endpoint cache,
  signer, HTTP POST) and decides what follows with
  :func:`~hookseal_sender.outcome.next_step`;
- :class:`~hookseal_sender._writeback.WriteBack` records results in batches, and
  :class:`~hookseal_sender._health.EndpointHealth` acts on them (breakers, disabling,
  notices);
- :class:`~hookseal_sender._store_calls.StoreCalls` runs the store's blocking calls on
  threads and backs off while the database is unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol, Union

from ._attempt import BODY_EXCERPT, PAUSED_RECHECK, AttemptRunner
from ._buffer import ClaimBuffer
from ._claims import HELD_SECONDS, Claims
from ._endpoint_cache import EndpointCache
from ._health import UNUSABLE, EndpointHealth
from ._idle import IdleSweep
from ._leases import LeaseKeeper
from ._outage import StoreOutage
from ._store_calls import CLAIM_RETRY, CLAIM_RETRY_MAX, StoreCalls
from ._writeback import FLUSH_BATCH, FLUSH_DELAY, WriteBack
from .batches import Batcher
from .catalog import sender_catalog
from .config import SenderConfig
from .metrics import Metrics
from .models import Claimed, Endpoint
from .notify import Notifier
from .outcome import RETRY
from .owner_notices import OwnerNoticePolicy
from .owner_watch import OwnerWatch
from .ssrf import Resolve
from .storage import Store
from .sunsets import SUNSET_INTERVAL, SunsetJob
from .tracing import Tracing

__all__ = [
    "BODY_EXCERPT",
    "CLAIM_RETRY",
    "CLAIM_RETRY_MAX",
    "FLUSH_BATCH",
    "FLUSH_DELAY",
    "GC_THRESHOLD",
    "HELD_SECONDS",
    "MAINTENANCE_INTERVAL",
    "PAUSED_RECHECK",
    "UNUSABLE",
    "BackgroundWorker",
    "Worker",
    "WorkerParts",
    "WorkerSource",
    "tune_gc",
]

logger = logging.getLogger("hookseal_sender.worker")

#: Seconds between a worker's store maintenance (SQLite WAL checkpoints).
MAINTENANCE_INTERVAL = 1.0
#: Seconds after start before a worker's first retention purge.
PURGE_GRACE = 60.0
#: The collector's first threshold in a delivering process (Python's default is 700).
GC_THRESHOLD = 10_000

Wake = Callable[[], None]


def tune_gc(threshold: int = GC_THRESHOLD) -> None:
    """Make the garbage collector run far less often in a process that delivers.

    A worker holds each batch of claims and results for a few milliseconds, so with
    Python's default threshold (700 allocations) the collector ran every 20 or so
    deliveries and scanned the whole heap every few thousand: about 11 us a delivery,
    8 % of the sender's work (measured with ``reference_sender/bench/bench_sender.py``).
    With this threshold it does not run at all while deliveries stream; reference
    cycles are still collected, only later. ``hookseal-sender serve`` calls it at start;
    call it yourself when you run :class:`Worker` in a process of your own (it changes
    the whole process's collector, which is why :class:`Worker` does not).

    Args:
        threshold: Allocations (net) between two young-generation collections.
    """
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(threshold, older, oldest)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class WorkerSource(Protocol):
    """What a :class:`Worker` takes from a sender (a :class:`~hookseal_sender.Sender` is one)."""

    store: Store
    config: SenderConfig
    metrics: Metrics
    notifier: Notifier
    outage: StoreOutage
    resolve: Optional[Resolve]
    tracing: Tracing
    owner_notices: OwnerNoticePolicy

    def allows_local(self, endpoint: Endpoint) -> bool:
        """Whether deliveries to ``endpoint`` may go to local addresses now."""

    def purge(self) -> int:
        """Delete finished deliveries older than the retention; returns how many."""

    def add_waker(self, wake: Wake) -> None:
        """Call ``wake`` after each enqueue."""

    def remove_waker(self, wake: Wake) -> None:
        """Stop calling ``wake``."""


@dataclass(frozen=True)
class WorkerParts:
    """A worker's inputs, each what it is (no sender facade).

    Attributes:
        store: The store.
        config: The configuration.
        metrics: Where attempts, failures and gauges are counted.
        notifier: Tells owners about dead letters and disabled endpoints.
        outage: The process's store-outage tracker (one log line per outage).
        allows_local: Whether an endpoint may reach local addresses under the settings.
        purge: Runs the retention purge; returns the deliveries deleted.
        add_waker: Registers a thread-safe wake-up, called after each enqueue.
        remove_waker: Unregisters it.
        resolve: DNS resolver for the SSRF checks (``None``: the system's).
        tracing: Trace context and spans of claims and attempts.
        watch: The periodic owner checks (:class:`~hookseal_sender.owner_watch.OwnerWatch`'s
            ``run``), or ``None``.
        watch_interval: Seconds between two runs of ``watch``.
    """

    store: Store
    config: SenderConfig
    metrics: Metrics
    notifier: Notifier
    outage: StoreOutage
    allows_local: Callable[[Endpoint], bool]
    purge: Callable[[], int]
    add_waker: Callable[[Wake], None]
    remove_waker: Callable[[Wake], None]
    resolve: Optional[Resolve] = None
    tracing: Tracing = field(default_factory=Tracing)
    watch: Optional[Callable[[], Any]] = None
    watch_interval: float = 60.0

    @classmethod
    def of(cls, sender: WorkerSource) -> WorkerParts:
        """The parts of ``sender``.

        Args:
            sender: A sender.

        Returns:
            Its parts.
        """
        return cls(sender.store, sender.config, sender.metrics, sender.notifier, sender.outage,
                   sender.allows_local, sender.purge, sender.add_waker, sender.remove_waker,
                   sender.resolve, sender.tracing, OwnerWatch.of(sender).run,
                   sender.owner_notices.check_interval)


class Worker:
    """Delivers due deliveries until stopped; run several (processes) to scale out.

    Args:
        sender: The sender (or its :class:`WorkerParts`) whose store and config to use.
        owner: The lease token (default: host, pid and a random suffix).
        resolve: DNS resolver for the SSRF checks (tests pass a fake one).
        concurrency: Global limit of attempts in flight (default: config).
        per_endpoint: Per-endpoint limit (default: config).
        drain_timeout: Seconds a graceful stop waits for attempts in flight.
    """

    def __init__(
        self, sender: Union[WorkerParts, WorkerSource], *, owner: Optional[str] = None,
        resolve: Optional[Resolve] = None, concurrency: Optional[int] = None,
        per_endpoint: Optional[int] = None, drain_timeout: float = 10.0,
    ) -> None:
        parts = sender if isinstance(sender, WorkerParts) else WorkerParts.of(sender)
        self.parts = parts
        self.store = parts.store
        self.config = cfg = parts.config
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"
        self.resolve = resolve or parts.resolve
        self.concurrency = concurrency or cfg.global_concurrency
        self.per_endpoint = per_endpoint or cfg.per_endpoint_concurrency
        self.drain_timeout = drain_timeout
        # On PostgreSQL claims get threads (and connections) of their own, two at once.
        parallel = self.store.concurrent_writers
        calls = self._calls = StoreCalls(self.store, parts.metrics, parts.outage,
                                         parallel_claims=parallel)
        endpoints = EndpointCache(calls, cfg.retry, parts.allows_local)
        health = self._health = EndpointHealth(
            calls, cfg.breaker, parts.metrics, parts.notifier, endpoints, owner=self.owner,
            interval=cfg.poll_interval, lease=cfg.visibility_timeout)
        writeback = self._writeback = WriteBack(calls, self.owner, health, parts.metrics)
        if parallel:  # where claims cap an endpoint by counting leases (none on SQLite)
            writeback.written = self._wake
        buffer = self._buffer = ClaimBuffer(self.concurrency, self.per_endpoint, health,
                                            writeback)
        self._claims = Claims(calls, cfg, self.owner, buffer, health, writeback.holding,
                              self._wake_loop, parallel=parallel, tracing=parts.tracing)
        self._runner = AttemptRunner(cfg, endpoints, writeback, parts.metrics, calls,
                                     self.resolve, connections=self.concurrency,
                                     hold=self._claims.hold, tracing=parts.tracing)
        # Deliveries of endpoints with batches go to the batcher instead of one request each.
        self._batcher = Batcher(calls, cfg, self.owner, endpoints, self._runner, writeback,
                                health, parts.metrics, parts.tracing)
        self._runner.gatherer = self._batcher.take
        self._idle = IdleSweep(endpoints, health, buffer, self._claims,
                               also=(self._runner.forget, self._batcher.forget))
        self._leases = LeaseKeeper(calls, self.owner, writeback.holding, self._batcher.held,
                                   cfg.visibility_timeout)
        self._renewing: Optional[asyncio.Task[None]] = None
        self._min_claim = max(1, self.concurrency // 4)
        self._stopping = False
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        # The claim loop's wake-up: a flag, and the future it sleeps on (if it does).
        self._woken = False
        self._waiter: Optional[asyncio.Future[None]] = None
        self._flush_event: Optional[asyncio.Event] = None
        # ``concurrency`` long-lived slot coroutines run the attempts: a slot that finishes
        # one takes the next buffered delivery itself, with no task per attempt.
        self._slots: list[asyncio.Task[None]] = []
        self._maintaining: Optional[asyncio.Task[None]] = None
        self._next_maintenance = 0.0
        self._next_purge = time.monotonic() + PURGE_GRACE  # not while starting up
        self._next_watch = time.monotonic() + parts.watch_interval  # one interval in
        # Sunset notices and pin moves (contract 4.2): at start, then every hour.
        self._sunsets = SunsetJob(parts.store, sender_catalog(cfg.catalog, cfg.derivations), parts.notifier)
        self._next_sunsets = 0.0

    # lifecycle -------------------------------------------------------------
    def stop(self) -> None:
        """Ask the worker to stop gracefully (thread-safe)."""
        self._halt()
        self._poke()

    def _halt(self) -> None:
        self._stopping = self._buffer.stopping = self._writeback.stopping = True

    def _poke(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._wake)

    def _wake(self, fresh: bool = True) -> None:
        """Wake the claim loop (on the loop thread).

        Args:
            fresh: The wake-up may mean new due work (an attempt ended, work was
                enqueued): it ends a wait that followed a claim which found too little.
        """
        if fresh:
            self._claims.fresh()
        self._woken = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_loop(self) -> None:
        self._wake(fresh=False)

    async def run(self) -> None:
        """Deliver until :meth:`stop` is called, then finish or release what is held."""
        self._loop = asyncio.get_running_loop()
        self._flush_event = self._writeback.open()
        self.parts.add_waker(self._poke)
        flusher = asyncio.create_task(self._writeback.run())
        batching = asyncio.create_task(self._batcher.run())
        self._slots = [asyncio.create_task(self._slot()) for _ in range(self.concurrency)]
        try:
            # The breakers other workers opened, before the first claim could bring their
            # endpoints' deliveries.
            await self._health.shared.refresh()
            await self._claim_loop()
        finally:
            self._halt()
            await self._drain()
            self._batcher.close()
            await batching
            self._writeback.close()
            await flusher
            await self._writeback.flush()
            await self._health.shared.wait()
            await self._runner.close()
            if self._maintaining is not None:
                await self._maintaining
            if self._renewing is not None:
                await self._renewing
            self._calls.shutdown()
            self.parts.remove_waker(self._poke)

    async def _drain(self) -> None:
        """End the slots: idle ones now, busy ones after their attempt (or the timeout)."""
        idle = self._buffer.idle
        while idle:
            fut = idle.popleft()
            if not fut.done():
                fut.set_result(None)
        _, pending = await asyncio.wait(self._slots, timeout=self.drain_timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    async def _claim_loop(self) -> None:
        claims, buffer = self._claims, self._buffer
        while not self._stopping:
            buffer.dispatch()
            mono = time.monotonic()
            # Also while the slots are full and nothing is claimed: what is buffered for
            # an endpoint another worker paused is then given back before it starts.
            claims.follow_breakers(mono)
            if self._renewing is None and self._leases.due(mono):
                self._renewing = asyncio.create_task(self._renew(mono))
            pause = claims.pause(mono)
            if pause is not None:
                await self._wait(pause)
                continue
            if mono >= self._next_maintenance and self._maintaining is None:
                self._next_maintenance = mono + MAINTENANCE_INTERVAL
                self._maintaining = asyncio.create_task(self._maintain(mono))
            claims.launch(mono)
        await claims.wait()
        # Stopping: what is buffered was never attempted; give it back now.
        stamp = time.time()
        for c in buffer.clear():
            self._writeback.release(c.id, stamp)

    async def _renew(self, mono: float) -> None:
        try:
            await self._leases.renew(mono)
        finally:
            self._renewing = None

    async def _maintain(self, mono: float) -> None:
        calls = self._calls
        try:
            if self._idle.due(mono):  # idle endpoints' state dropped (on the loop)
                self._idle.sweep(mono, time.time())
            await calls.call(self.store.maintenance, pool=calls.maintenance)
            if self.config.purge_interval and mono >= self._next_purge:
                self._next_purge = mono + self.config.purge_interval
                purged = await calls.call(self.parts.purge, pool=calls.maintenance)
                if purged:
                    logger.info("retention purge removed %d deliveries", purged)
            if self.parts.watch is not None and mono >= self._next_watch:
                self._next_watch = mono + self.parts.watch_interval
                await calls.call(self.parts.watch, pool=calls.maintenance)
            if mono >= self._next_sunsets:
                self._next_sunsets = mono + SUNSET_INTERVAL
                await calls.call(self._sunsets.run, pool=calls.maintenance)
        except Exception as exc:
            calls.trouble("store maintenance", exc)
        finally:
            self._maintaining = None

    async def _slot(self) -> None:
        loop = asyncio.get_running_loop()
        buffer, runner = self._buffer, self._runner
        while True:
            c = buffer.take()
            if c is None:
                if self._stopping:
                    return
                fut: asyncio.Future[Optional[Claimed]] = loop.create_future()
                buffer.idle.append(fut)
                c = await fut
                if c is None:
                    return
            result = None
            try:
                result = await runner.attempt(c)
            finally:
                buffer.finished(c.endpoint_id)
                if result is not None:  # sent: the endpoint answered, or did not
                    attempt = result.attempt
                    buffer.adapt(c.endpoint_id, attempt.error == "timeout")
                    self._health.breaker(c.endpoint_id).record(
                        attempt.outcome != RETRY, retry=c.round_attempts > 0)
                if self._flush_event is not None:
                    self._flush_event.set()
                if buffer.room() >= self._min_claim:
                    self._wake()  # on the loop already: no self-pipe write

    async def _wait(self, timeout: float) -> None:
        """Sleep until :meth:`_wake` or ``timeout`` seconds.

        A bare future and a timer: the claim loop resumes one loop iteration after the
        wake-up (``wait_for`` on an ``Event`` took three, a few milliseconds with every slot
        busy, while idle slots waited for the next claim).
        """
        if self._woken:
            self._woken = False
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None
            self._woken = False


class BackgroundWorker:
    """A :class:`Worker` running its own event loop in a daemon thread.

    Args:
        sender: The sender (or its :class:`WorkerParts`).
        **kwargs: Passed to :class:`Worker`.
    """

    def __init__(self, sender: Union[WorkerParts, WorkerSource], **kwargs: Any) -> None:
        self.worker = Worker(sender, **kwargs)
        self._thread = threading.Thread(target=self._main, name="hookseal-worker", daemon=True)
        self._started = threading.Event()

    def _main(self) -> None:
        async def go() -> None:
            task = asyncio.create_task(self.worker.run())
            await asyncio.sleep(0)
            self._started.set()
            await task

        try:
            asyncio.run(go())
        finally:
            self._started.set()

    def start(self) -> BackgroundWorker:
        """Start the thread.

        Returns:
            Itself.
        """
        self._thread.start()
        self._started.wait(10)
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Stop gracefully and wait for the thread.

        Args:
            timeout: Seconds to wait.
        """
        self.worker.stop()
        self._thread.join(timeout)
