"""asyncio delivery workers: lease, sign, POST, classify, record, retry."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import gc
import logging
import os
import socket
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar

import aiohttp
import hookseal

from .breaker import CLOSED, CircuitBreaker
from .config import RetryPolicy, endpoint_retry_policy
from .errors import ConfigError, DestinationRefusedError
from .models import Attempt, AttemptResult, Claimed, DeliveryFilter, Endpoint
from .notify import Notice
from .outcome import DELIVERED, FAILED, GONE, RETRY, classify, parse_retry_after
from .ssrf import CheckedResolver, Resolve, guarded_socket, parse_destination

if TYPE_CHECKING:
    from .sender import Sender

logger = logging.getLogger("hookseal_sender.worker")
T = TypeVar("T")

#: How much of a response body is recorded.
BODY_EXCERPT = 4096
#: The error of a delivery failed because its endpoint's stored settings cannot be used.
UNUSABLE = "invalid_endpoint_settings"
#: Seconds a paused endpoint's claimed delivery is put back for.
PAUSED_RECHECK = 30.0
#: Seconds between a worker's store maintenance (SQLite WAL checkpoints).
MAINTENANCE_INTERVAL = 1.0
#: Seconds a worker leaves a paused endpoint out of its claims before looking again.
HELD_SECONDS = 2.0
#: Seconds without claims after a claim failed.
CLAIM_RETRY = 1.0
#: The longest pause between claims while the database is unreachable (the pause doubles
#: from :data:`CLAIM_RETRY` at each failure): how late, at most, a worker sees it is back.
CLAIM_RETRY_MAX = 8.0
#: Results written back per store call, at most; fewer when they are slow to come.
FLUSH_BATCH = 64
#: Seconds the first of a batch of results waits for others before being written back.
FLUSH_DELAY = 0.005


#: The collector's first threshold in a delivering process (Python's default is 700).
GC_THRESHOLD = 10_000


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


#: The worker-exception metric's site for each store call that can fail unexpectedly.
_EXCEPTION_SITE = {"probe claim": "claim", "store maintenance": "maintenance"}

_SIGNING_KINDS = {"hmac": ("hmac",), "ed25519": ("ed25519",), "both": ("hmac", "ed25519")}


@dataclass
class _CachedEndpoint:
    endpoint: Endpoint
    policy: RetryPolicy
    valid_until: float
    refused: Optional[str] = None  # why the URL's form is refused (checked once per load)
    signer: Optional[hookseal.Signer] = None  # the keys the endpoint's signing mode uses
    timeout: Optional[aiohttp.ClientTimeout] = None  # the endpoint's own timeout, if any
    # Why the stored settings cannot be used (written round the checks), if they cannot:
    # its deliveries then fail at once, visibly, instead of waiting for ever.
    unusable: Optional[str] = None


class Worker:
    """Delivers due deliveries until stopped; run several (processes) to scale out.

    Args:
        sender: The sender whose store and config to use.
        owner: The lease token (default: host, pid and a random suffix).
        resolve: DNS resolver for the SSRF checks (tests pass a fake one).
        concurrency: Global limit of attempts in flight (default: config).
        per_endpoint: Per-endpoint limit (default: config).
        drain_timeout: Seconds a graceful stop waits for attempts in flight.
    """

    def __init__(
        self, sender: Sender, *, owner: Optional[str] = None, resolve: Optional[Resolve] = None,
        concurrency: Optional[int] = None, per_endpoint: Optional[int] = None,
        drain_timeout: float = 10.0,
    ) -> None:
        self.sender = sender
        self.store = sender.store
        self.config = sender.config
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"
        self.resolve = resolve or sender.resolve
        self.concurrency = concurrency or self.config.global_concurrency
        self.per_endpoint = per_endpoint or self.config.per_endpoint_concurrency
        self.drain_timeout = drain_timeout
        cfg = self.config
        # One deadline per attempt (connect + read) and a connect timeout; no per-read
        # timer (sock_read): re-arming it on every chunk cost about 15 us per request,
        # over 10 % of the whole sender's work at 1 KiB (measured with bench_sender.py).
        self._timeout = aiohttp.ClientTimeout(total=cfg.connect_timeout + cfg.read_timeout,
                                              sock_connect=cfg.connect_timeout)
        self._db = ThreadPoolExecutor(1, thread_name_prefix="hookseal-db")
        # Checkpoints and purges run on a thread (and connection) of their own: a WAL
        # checkpoint can take tens of milliseconds, which on the claim/complete thread
        # would leave every slot waiting for work.
        self._maint = ThreadPoolExecutor(1, thread_name_prefix="hookseal-maintenance")
        self._maintaining: Optional[asyncio.Task[None]] = None
        # On PostgreSQL claims get a thread (and connection) of their own, so a claim's
        # round trip overlaps the write-back of results. SQLite allows one writer at a
        # time anyway, and its lock wait sleeps: there both share the store thread.
        parallel = getattr(self.store, "dialect", "") == "postgresql"
        self._claimer = (ThreadPoolExecutor(2, thread_name_prefix="hookseal-claims")
                         if parallel else self._db)
        # Claims in flight at once: on PostgreSQL two (each on its own connection; SKIP
        # LOCKED keeps their rows apart), so a claim's round trip and the loop's reaction
        # to it no longer leave slots idle; on SQLite one, the single writer.
        self._max_claims = 2 if parallel else 1
        self._claims: set[asyncio.Task[None]] = set()
        self._claiming_now = 0  # claims in flight
        self._claims_launched = 0
        self._claiming = 0  # rows they asked for
        # After a claim that found less than it asked for, none until then (monotonic).
        self._dry_until = 0.0
        # After a claim that failed, none until then: unlike a dry spell, new work does
        # not end it (a store that fails would fail again at once).
        self._paused_until = 0.0
        self._backoff = CLAIM_RETRY  # the next pause while the database is unreachable
        self._inflight: dict[str, int] = {}
        # Fairness (issue 19 item 4): each endpoint's own limit, lowered while its attempts
        # time out (absent: per_endpoint), and how many endpoints fit at full limit.
        self._limits: dict[str, int] = {}
        self._fits = max(1, self.concurrency // self.per_endpoint)
        self._total = 0
        self._breakers: dict[str, CircuitBreaker] = {}
        self._probe_claims: set[str] = set()  # half-open endpoints whose probe is being claimed
        self._probe_after: dict[str, float] = {}  # no probe claim before then (monotonic)
        self._endpoints: dict[str, _CachedEndpoint] = {}
        # Paused endpoints are left out of claims for a while (not claimed and released).
        self._held: dict[str, float] = {}
        self._next_maintenance = 0.0
        self._min_claim = max(1, self.concurrency // 4)
        # Claimed but not started, at most: as many as the slots, since rows that claims in
        # flight will bring count against it (with half, the buffer ran dry while two
        # claims were out on PostgreSQL and a third of the slots sat idle).
        self._prefetch = self.concurrency
        # Claimed but not started, per endpoint (dict order = round-robin order). Each
        # endpoint may have up to ``per_endpoint`` waiting: enough to refill its window
        # at once, never so many that a slow endpoint's backlog fills the buffer.
        self._queues: dict[str, deque[Claimed]] = {}
        self._buffered = 0
        # Deliveries this worker holds, from claim until their write-back: buffered, in
        # flight or waiting to be recorded. A lease that ran out meanwhile lets a claim
        # bring one back; sending that copy too would deliver it twice at once.
        self._holding: set[str] = set()
        # Rows asked for per claim: halved when a claim brings rows that must be given
        # back (one busy endpoint), doubled again when claims are used in full.
        self._claim_size = self.config.claim_batch
        self._next_purge = time.monotonic() + 60.0  # not while starting up
        # Endpoint health as last written: None healthy, a time failing since; unknown
        # endpoints (absent) are written on their first result.
        self._health: dict[str, Optional[float]] = {}
        self._results: list[tuple[AttemptResult, str]] = []
        self._unusable_logged: set[tuple[str, int]] = set()  # (endpoint, version) logged
        self._releases: list[tuple[str, float]] = []
        self._cancels: list[str] = []
        # ``concurrency`` long-lived slot coroutines run the attempts: a slot that finishes
        # one takes the next buffered delivery itself, with no task per attempt.
        self._slots: list[asyncio.Task[None]] = []
        self._idle: deque[asyncio.Future[Optional[Claimed]]] = deque()
        # Endpoint loads in progress: slots that miss the cache together share one load.
        self._loading: dict[str, asyncio.Future[Optional[_CachedEndpoint]]] = {}
        self._stopping = False
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        # The claim loop's wake-up: a flag, and the future it sleeps on (if it does).
        self._woken = False
        self._waiter: Optional[asyncio.Future[None]] = None
        self._wakes = 0  # wake-ups that may mean new work (attempt ended, work enqueued)
        self._flush_event: Optional[asyncio.Event] = None
        self._sessions: dict[bool, aiohttp.ClientSession] = {}

    # lifecycle -------------------------------------------------------------
    def stop(self) -> None:
        """Ask the worker to stop gracefully (thread-safe)."""
        self._stopping = True
        self._poke()

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
            self._wakes += 1
            self._dry_until = 0.0
        self._woken = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _call(self, fn: Callable[..., T], *args: Any,
                    pool: Optional[ThreadPoolExecutor] = None) -> T:
        """Run a blocking store call on ``pool`` (default: the store thread)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool or self._db, lambda: fn(*args))

    def _session(self, allow_local: bool) -> aiohttp.ClientSession:
        session = self._sessions.get(allow_local)
        if session is None:
            connector = aiohttp.TCPConnector(
                limit=self.concurrency, limit_per_host=0, ttl_dns_cache=10,
                resolver=CheckedResolver(self.resolve, allow_local=allow_local),
                # The last SSRF check, on the address each socket connects to.
                socket_factory=None if allow_local else guarded_socket,
            )
            session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": self.config.user_agent},
            )
            self._sessions[allow_local] = session
        return session

    async def run(self) -> None:
        """Deliver until :meth:`stop` is called, then finish or release what is held."""
        self._loop = asyncio.get_running_loop()
        self._flush_event = asyncio.Event()
        self.sender.add_waker(self._poke)
        flusher = asyncio.create_task(self._flusher())
        self._slots = [asyncio.create_task(self._slot()) for _ in range(self.concurrency)]
        try:
            await self._claim_loop()
        finally:
            self._stopping = True
            while self._idle:  # idle slots end now; busy ones after their attempt
                fut = self._idle.popleft()
                if not fut.done():
                    fut.set_result(None)
            _, pending = await asyncio.wait(self._slots, timeout=self.drain_timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
            self._flush_event.set()
            await flusher
            await self._flush()
            for session in self._sessions.values():
                await session.close()
            if self._maintaining is not None:
                await self._maintaining
            self._db.shutdown(wait=True)
            self._claimer.shutdown(wait=True)
            self._maint.shutdown(wait=True)
            if self._poke in self.sender._wakers:
                self.sender._wakers.remove(self._poke)

    def _breaker(self, endpoint_id: str) -> CircuitBreaker:
        br = self._breakers.get(endpoint_id)
        if br is None:
            br = self._breakers[endpoint_id] = CircuitBreaker(self.config.breaker)
        return br

    def _room(self) -> int:
        return self.concurrency + self._prefetch - self._total - self._buffered

    async def _claim_loop(self) -> None:
        while not self._stopping:
            self._dispatch()
            # Claims fill the slots and a prefetch buffer, so a finished attempt's slot is
            # refilled at once while the next claim runs; and they come in batches: with
            # work at hand, wait until a quarter of the slots' worth is missing. Rows that
            # claims in flight will bring count as taken.
            room = self._room() - self._claiming
            mono = time.monotonic()
            until = max(self._dry_until, self._paused_until)
            if (room <= 0 or self._claiming_now >= self._max_claims or mono < until
                    or (self._total + self._buffered + self._claiming and room < self._min_claim)):
                await self._wait(until - mono if mono < until else self.config.poll_interval)
                continue
            self._held = {ep: t for ep, t in self._held.items() if t > mono}
            share = self._share()
            excluded = [ep for ep, q in self._queues.items() if len(q) >= self._limit(ep, share)]
            excluded += [ep for ep in self._held if ep not in excluded]
            # An endpoint whose breaker is not closed is left out of claims; half-open, it
            # gets a probe of its own (a due retry, if any: see Store.claim_probe).
            for ep, br in self._breakers.items():
                if br.state == CLOSED:
                    continue
                if ep not in excluded:
                    excluded.append(ep)
                if (br.allows(self._inflight.get(ep, 0)) and ep not in self._queues
                        and ep not in self._probe_claims and mono >= self._probe_after.get(ep, 0)):
                    self._probe_claims.add(ep)
                    task = asyncio.create_task(self._probe(ep))
                    self._claims.add(task)
                    task.add_done_callback(self._claims.discard)
            self.sender.metrics.breaker_open.set(
                sum(1 for br in self._breakers.values() if br.state != "closed"))
            if mono >= self._next_maintenance and self._maintaining is None:
                self._next_maintenance = mono + MAINTENANCE_INTERVAL
                self._maintaining = asyncio.create_task(self._maintain(mono))
            want = min(room, self._claim_size)
            self._claiming += want
            self._claiming_now += 1
            self._claims_launched += 1
            task = asyncio.create_task(self._claim(want, excluded))
            self._claims.add(task)
            task.add_done_callback(self._claims.discard)
        if self._claims:
            await asyncio.wait(list(self._claims))
        # Stopping: what is buffered was never attempted; give it back now.
        stamp = time.time()
        for q in self._queues.values():
            self._releases.extend((c.id, stamp) for c in q)
        self._queues.clear()
        self._buffered = 0

    async def _claim(self, want: int, excluded: list[str]) -> None:
        """Claim up to ``want`` deliveries into the per-endpoint buffers."""
        now, wakes, launched = time.time(), self._wakes, self._claims_launched
        alone = self._claiming_now == 1
        try:
            claimed = await self._call(self.store.claim, self.owner, want, now,
                                       now + self.config.visibility_timeout, excluded,
                                       pool=self._claimer)
        except Exception as exc:
            pause = self._store_trouble("claim", exc)
            self._paused_until = time.monotonic() + pause
            self._wake(fresh=False)
            return
        finally:
            self._claiming -= want
            self._claiming_now -= 1
        self._store_back()
        if claimed:
            logger.debug("claimed %d deliveries", len(claimed))
        release = []
        share = self._share()
        for c in claimed:
            if c.id in self._holding:
                continue  # ours already: the claim only renewed its lease
            q = self._queues.get(c.endpoint_id)
            if q is None:
                q = self._queues[c.endpoint_id] = deque()
            elif len(q) >= self._limit(c.endpoint_id, share):
                release.append(c.id)  # this endpoint has a full window waiting
                continue
            q.append(c)
            self._holding.add(c.id)
            self._buffered += 1
        if release:
            await self._call(self.store.release, self.owner, release, now)
            self._claim_size = max(self._min_claim, self._claim_size // 2)
        elif len(claimed) == want:
            self._claim_size = min(self.config.claim_batch, self._claim_size * 2)
        self._dispatch()
        # A claim that ran beside another may come back short with due rows left (rows the
        # other leased while this one read them are dropped by PostgreSQL's re-check): it
        # says the queue is dry only if it ran alone or found nothing at all.
        alone = alone and self._claims_launched == launched
        short = len(claimed) < want and (alone or not claimed)
        if (short or len(release) == len(claimed)) and self._wakes == wakes:
            # Nothing more is due, and nothing new came since this claim started: the next
            # claim after a poll interval, or sooner if an attempt ends or work arrives.
            self._dry_until = time.monotonic() + self.config.poll_interval
        self._wake(fresh=False)

    def _store_trouble(self, where: str, exc: BaseException) -> float:
        """Note a failed store call; returns the seconds to wait before the next claim.

        A lost database is logged once per outage (one line, see :class:`StoreOutage`) and
        retried with backoff, doubling from :data:`CLAIM_RETRY` to :data:`CLAIM_RETRY_MAX`;
        any other failure is logged with its traceback and retried after
        :data:`CLAIM_RETRY`.
        """
        if not self.store.unavailable(exc):
            logger.error("%s failed; retrying in %.0f s", where, CLAIM_RETRY, exc_info=exc)
            # The metric's label is one of a few fixed sites, not this free text.
            self.sender.metrics.exception(_EXCEPTION_SITE.get(where, where))
            return CLAIM_RETRY
        self.sender.outage.failed(where, exc)
        pause = self._backoff
        self._backoff = min(CLAIM_RETRY_MAX, self._backoff * 2)
        return pause

    def _store_back(self) -> None:
        """Note a store call that worked: the backoff starts over."""
        self._backoff = CLAIM_RETRY
        self.sender.outage.recovered()

    async def _probe(self, endpoint_id: str) -> None:
        """Claim the probe of a half-open endpoint into its buffer."""
        now = time.time()
        claimed = []
        try:
            claimed = await self._call(self.store.claim_probe, self.owner, endpoint_id, now,
                                       now + self.config.visibility_timeout, pool=self._claimer)
        except Exception as exc:
            self._store_trouble("probe claim", exc)
        finally:
            self._probe_claims.discard(endpoint_id)
        if not claimed:  # none due (or the store failed): look again after a while
            self._probe_after[endpoint_id] = time.monotonic() + max(
                self.config.poll_interval, CLAIM_RETRY)
            return
        self._probe_after.pop(endpoint_id, None)
        for c in claimed:
            if c.id in self._holding:
                continue
            self._queues.setdefault(c.endpoint_id, deque()).append(c)
            self._holding.add(c.id)
            self._buffered += 1
        self._dispatch()

    async def _maintain(self, mono: float) -> None:
        try:
            await self._call(self.store.maintenance, pool=self._maint)
            if self.config.purge_interval and mono >= self._next_purge:
                self._next_purge = mono + self.config.purge_interval
                purged = await self._call(self.sender.purge, pool=self._maint)
                if purged:
                    logger.info("retention purge removed %d deliveries", purged)
        except Exception as exc:
            self._store_trouble("store maintenance", exc)
        finally:
            self._maintaining = None

    def _take(self) -> Optional[Claimed]:
        """Pick the next buffered delivery that may start now, and count it as started.

        Endpoints take turns (round robin), each up to its own limit, so one endpoint's
        backlog never holds up another's.
        """
        if not self._buffered or self._stopping:
            return None
        share = self._share()
        for ep in list(self._queues):
            q = self._queues.pop(ep)
            n = self._inflight.get(ep, 0)
            if n >= self._limit(ep, share):
                self._queues[ep] = q  # full: back of the line
                continue
            br = self._breaker(ep)
            if not br.allows(n):  # the breaker opened meanwhile: give them back
                stamp = time.time()
                self._releases.extend((c.id, stamp) for c in q)
                self._buffered -= len(q)
                continue
            c = q.popleft()
            self._buffered -= 1
            if q:
                self._queues[ep] = q  # back of the line
            br.started()
            self._inflight[ep] = n + 1
            self._total += 1
            return c
        return None

    def _share(self) -> int:
        """The most slots one endpoint may hold while others have work: the global limit
        shared out among the endpoints with deliveries buffered or in flight.

        Only computed when there are more such endpoints than fit at their full
        per-endpoint limit; with fewer, every endpoint may use its own limit.
        """
        if len(self._inflight) + len(self._queues) <= self._fits:
            return self.per_endpoint
        active = len(self._inflight.keys() | self._queues.keys())
        return max(1, self.concurrency // active) if active > self._fits else self.per_endpoint

    def _limit(self, endpoint_id: str, share: int) -> int:
        """Attempts ``endpoint_id`` may have in flight (and buffered) now: its own limit,
        halved by each timeout (see :meth:`_adapt`), within its fair ``share``."""
        return min(self._limits.get(endpoint_id, self.per_endpoint), share)

    def _adapt(self, endpoint_id: str, timed_out: bool) -> None:
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

    def _dispatch(self) -> None:
        """Hand buffered deliveries to idle slots (on the loop thread)."""
        while self._idle and self._buffered:
            fut = self._idle.popleft()
            if fut.done():  # its slot was cancelled
                continue
            c = self._take()
            if c is None:
                self._idle.appendleft(fut)
                return
            fut.set_result(c)

    async def _slot(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            c = self._take()
            if c is None:
                if self._stopping:
                    return
                fut: asyncio.Future[Optional[Claimed]] = loop.create_future()
                self._idle.append(fut)
                c = await fut
                if c is None:
                    return
            await self._attempt(c)

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

    # one attempt -------------------------------------------------------------
    async def _endpoint(self, c: Claimed) -> Optional[_CachedEndpoint]:
        """Load the endpoint of ``c`` into the cache (the caller found it missing or stale)."""
        now = time.time()

        def load() -> Optional[_CachedEndpoint]:
            ep = self.store.get_endpoint(None, c.endpoint_id)
            if ep is None:
                return None
            # The settings win: a row stored while they allowed local destinations does
            # not keep reaching them once they do not.
            ep = dataclasses.replace(ep, allow_local=self.sender.allows_local(ep))
            keys = self.store.keys(c.endpoint_id, now=now)
            expiries = [k.expires_at for k in keys if k.expires_at is not None]
            unusable = None
            try:  # the rules registration applies: a row that breaks them came round them
                policy = endpoint_retry_policy(self.config.retry, ep.retry_schedule,
                                               ep.retry_after_cap)
            except ConfigError as exc:
                policy, unusable = self.config.retry, exc.detail
            try:
                parse_destination(ep.url, allow_local=ep.allow_local)
                refused = None
            except DestinationRefusedError as exc:
                refused = exc.detail
            kinds = _SIGNING_KINDS[ep.signing]
            secrets = [k.secret for k in keys if k.kind in kinds]
            signer = None
            if secrets:
                signer = hookseal.Signer(secrets, profile=ep.profile, header_prefix=ep.header_prefix)
            timeout = aiohttp.ClientTimeout(total=ep.timeout) if ep.timeout else None
            return _CachedEndpoint(ep, policy, min(expiries, default=now + 30.0), refused,
                                   signer, timeout, unusable)

        # One load per endpoint at a time, in a task of its own: a cancelled slot does
        # not cancel the load the other waiting slots share.
        task = self._loading.get(c.endpoint_id)
        if task is None:
            task = asyncio.ensure_future(self._call(load))
            self._loading[c.endpoint_id] = task
            task.add_done_callback(functools.partial(self._loaded, c.endpoint_id))
        return await asyncio.shield(task)

    def _loaded(self, endpoint_id: str, task: asyncio.Future[Optional[_CachedEndpoint]]) -> None:
        self._loading.pop(endpoint_id, None)
        if task.cancelled() or task.exception() is not None:
            return  # each waiting slot gets the error and releases its delivery
        loaded = task.result()
        if loaded is not None:
            self._endpoints[endpoint_id] = loaded

    async def _post(self, cached: _CachedEndpoint, headers: dict[str, str], body: bytes,
                    ) -> tuple[Optional[int], Optional[str], dict[str, str], str]:
        ep = cached.endpoint
        timeout = cached.timeout or self._timeout
        try:
            if cached.refused is not None:  # IP literals never reach the resolver
                raise DestinationRefusedError(cached.refused)
            session = self._session(ep.allow_local)
            async with session.post(ep.url, data=body, headers=headers, allow_redirects=False,
                                    timeout=timeout) as resp:
                length = resp.content_length
                if length is not None and length <= BODY_EXCERPT:
                    # The usual short answer: one read (the chunked loop below cost the
                    # bare client about 2 % of its throughput at 1 KiB).
                    raw = await resp.read()
                else:
                    content = resp.content
                    chunks, size = [], 0
                    while size < BODY_EXCERPT and not content.at_eof():
                        chunk = await content.read(BODY_EXCERPT - size)
                        if not chunk:
                            break
                        chunks.append(chunk)
                        size += len(chunk)
                    raw = b"".join(chunks)
                # NUL too becomes U+FFFD: PostgreSQL text cannot hold it, and a write-back
                # that fails would leave the delivery to be retried for ever.
                text = raw.decode("utf-8", "replace").replace("\x00", "\ufffd")
                return resp.status, None, dict(resp.headers), text
        except DestinationRefusedError as exc:
            return None, "destination_refused", {}, exc.detail
        except aiohttp.InvalidURL as exc:
            return None, "destination_refused", {}, f"invalid URL: {exc}"
        except asyncio.TimeoutError:
            return None, "timeout", {}, ""
        except aiohttp.ClientConnectorDNSError as exc:
            return None, "dns_error", {}, str(exc)[:500]
        except aiohttp.ClientSSLError as exc:
            return None, "tls_error", {}, str(exc)[:500]
        except (aiohttp.ClientConnectionError, OSError) as exc:
            return None, "connection_error", {}, str(exc)[:500]
        except aiohttp.ClientError as exc:
            return None, "protocol_error", {}, str(exc)[:500]

    async def _attempt(self, c: Claimed) -> None:
        success: Optional[bool] = None
        endpoint_id = c.endpoint_id
        try:
            started = time.time()
            cached = self._endpoints.get(endpoint_id)
            if (cached is None or cached.endpoint.version != c.endpoint_version
                    or started >= cached.valid_until):
                cached = await self._endpoint(c)
                started = time.time()  # the load took a while: sign with the time of sending
            ep = cached.endpoint if cached else None
            if cached is None or ep is None or ep.status in ("deleted", "disabled"):
                self._cancels.append(c.id)
                return
            if ep.status == "paused":
                # Due again when resumed (resume makes them due now) or after a while.
                self._releases.append((c.id, time.time() + PAUSED_RECHECK))
                self._held[endpoint_id] = time.monotonic() + HELD_SECONDS
                return
            if cached.unusable is not None:
                self._unusable(c, cached, started)
                return
            signer = cached.signer
            if signer is None:
                raise hookseal.ConfigurationError(
                    f"endpoint {endpoint_id} has no {ep.signing} signing key")
            body = c.payload.encode("utf-8")
            headers = signer.sign(body, timestamp=int(started), msg_id=c.event_id,
                                  event_type=c.event_type)
            headers["Content-Type"] = "application/json"
            t0 = time.perf_counter()
            status, error, resp_headers, resp_body = await self._post(cached, headers, body)
            latency = time.perf_counter() - t0
            round_n = c.round_attempts + 1
            next_at: Optional[float] = None
            outcome = classify(status, error)
            if outcome == DELIVERED:
                new_status = "delivered"
            elif outcome in (FAILED, GONE):
                new_status = "failed"
                if outcome == GONE:
                    # Disabled in the store after the write-back; until then the
                    # deliveries this worker holds for it must not go out either.
                    self._endpoints[endpoint_id] = replace(
                        cached, endpoint=replace(ep, status="disabled"))
            else:
                now = time.time()
                ra = None
                if status in (429, 503):
                    ra = parse_retry_after(resp_headers.get("Retry-After"), now)
                delay = cached.policy.next_delay(round_n, retry_after=ra)
                if delay is None:
                    new_status = "dead_lettered"
                else:
                    new_status, next_at = "pending", now + delay
            success = outcome != RETRY
            self._adapt(endpoint_id, error == "timeout")
            attempt = Attempt(c.attempt_count + 1, started, status, error,
                              round(latency * 1000.0, 3), resp_headers, resp_body, outcome)
            self.sender.metrics.attempt(c.tenant_id, endpoint_id, outcome, latency, status, error)
            self._results.append((AttemptResult(c.id, endpoint_id, attempt, new_status,
                                                next_at, round_n), c.tenant_id))
        except asyncio.CancelledError:
            self._releases.append((c.id, time.time()))
            raise
        except Exception as exc:
            if self.store.unavailable(exc):  # loading its endpoint: the database is down
                self._store_trouble("endpoint load", exc)
            else:
                logger.exception("attempt of %s crashed; releasing it", c.id)
                self.sender.metrics.exception("attempt")
            self._releases.append((c.id, time.time() + 5.0))
        finally:
            n = self._inflight.get(endpoint_id, 1) - 1
            if n <= 0:
                self._inflight.pop(endpoint_id, None)
            else:
                self._inflight[endpoint_id] = n
            self._total -= 1
            if success is not None:
                self._breaker(endpoint_id).record(success, retry=c.round_attempts > 0)
            if self._flush_event is not None:
                self._flush_event.set()
            if self._room() >= self._min_claim:
                self._wake()  # on the loop already: no self-pipe write

    def _unusable(self, c: Claimed, cached: _CachedEndpoint, now: float) -> None:
        """Fail ``c`` for good because its endpoint's stored settings cannot be used.

        Recorded as an attempt that sent nothing (error ``invalid_endpoint_settings``, the
        reason as its body) and logged once per endpoint version; the owner gets a
        ``delivery_failed`` notice once it is written back.
        """
        reason = f"endpoint settings cannot be used: {cached.unusable}"
        key = (c.endpoint_id, cached.endpoint.version)
        if key not in self._unusable_logged:
            self._unusable_logged.add(key)
            logger.error("endpoint %s: %s; its deliveries fail until it is updated",
                         c.endpoint_id, reason)
        attempt = Attempt(c.attempt_count + 1, now, None, UNUSABLE, 0.0,
                          {}, reason, FAILED)
        self._results.append((AttemptResult(c.id, c.endpoint_id, attempt, "failed", None,
                                            c.round_attempts + 1), c.tenant_id))

    # writing back -----------------------------------------------------------
    async def _flusher(self) -> None:
        assert self._flush_event is not None
        while True:
            await self._flush_event.wait()
            self._flush_event.clear()
            if not self._stopping and len(self._results) < FLUSH_BATCH:
                await asyncio.sleep(FLUSH_DELAY)  # one store call for a batch, not each
            await self._flush()
            if self._stopping and self._total == 0:
                return

    async def _flush(self) -> None:
        results, self._results = self._results, []
        releases, self._releases = self._releases, []
        cancels, self._cancels = self._cancels, []
        if not (results or releases or cancels):
            return
        now = time.time()
        written = False  # whether the results are recorded
        kept: set[str] = set()  # deliveries whose write-back waits for the database
        try:
            if results:
                await self._call(self.store.complete, self.owner, [r for r, _ in results], now)
            written = True
            due: dict[float, list[str]] = {}
            for d, at in releases:
                due.setdefault(at, []).append(d)
            for at, ids in due.items():  # one call per due time, not per delivery
                await self._call(self.store.release, self.owner, ids, at)
            if cancels:
                await self._call(functools.partial(self.store.cancel, owner=self.owner), None,
                                 DeliveryFilter(), cancels)
        except Exception as exc:
            if not self.store.unavailable(exc):
                logger.exception("could not record %d results", len(results))
                self.sender.metrics.exception("record")
            elif not self._stopping:
                # Kept and written once the database is back (the store reconnects), so
                # the deliveries are not sent again when their leases run out. (Releases
                # and cancels may be written twice: both are idempotent.)
                if not written:
                    self._results[:0] = results
                    kept.update(r.delivery_id for r, _ in results)
                self._releases[:0], self._cancels[:0] = releases, cancels
                kept.update(d for d, _ in releases)
                kept.update(cancels)
                pause = self._store_trouble("write-back", exc)
                assert self._loop is not None and self._flush_event is not None
                self._loop.call_later(pause, self._flush_event.set)
            else:
                self._store_trouble("write-back", exc)
            # What is not kept: the leases expire and the deliveries are retried
            # (at-least-once).
        finally:
            done = {r.delivery_id for r, _ in results} | {d for d, _ in releases} | set(cancels)
            self._holding.difference_update(done - kept)
        if written and results:
            self._store_back()
            await self._after(results, now)

    async def _after(self, results: list[tuple[AttemptResult, str]], now: float) -> None:
        ok = {r.endpoint_id for r, _ in results
              if r.attempt.outcome != RETRY and r.attempt.error != UNUSABLE}
        bad = {r.endpoint_id for r, _ in results if r.attempt.outcome == RETRY} - ok
        # Only transitions go to the store (healthy <-> failing): a steady stream of
        # successes costs no extra statement per batch.
        to_ok = sorted(ep for ep in ok if self._health.get(ep, 0.0) is not None)
        to_bad = sorted(ep for ep in bad if self._health.get(ep, 0.0) in (None, 0.0))
        failing = {ep: since for ep in bad
                   if (since := self._health.get(ep)) is not None and since > 0.0}
        if to_ok or to_bad:
            try:
                failing.update(await self._call(self.store.endpoint_health, to_ok, to_bad,
                                                now))
            except Exception as exc:
                if self.store.unavailable(exc):
                    self._store_trouble("endpoint health", exc)
                else:
                    logger.exception("could not update endpoint health")
                    self.sender.metrics.exception("health")
        for ep in to_ok:
            self._health[ep] = None
        self._health.update(failing)
        limit = self.config.breaker.disable_after
        to_disable = {ep: f"failing since {time.ctime(since)}"
                      for ep, since in failing.items() if now - since >= limit}
        for r, tenant in results:
            if r.attempt.outcome == GONE:
                to_disable[r.endpoint_id] = "410 Gone"
            if r.attempt.error == UNUSABLE:
                cached = self._endpoints.get(r.endpoint_id)
                await self._notify(Notice(
                    "delivery_failed", tenant, r.endpoint_id,
                    cached.endpoint.url if cached else "",
                    f"delivery {r.delivery_id} failed without being sent: "
                    f"{r.attempt.response_body}", r.delivery_id,
                    cached.endpoint.notify_email if cached else None))
            if r.status == "dead_lettered":
                cached = self._endpoints.get(r.endpoint_id)
                url = cached.endpoint.url if cached else ""
                email = cached.endpoint.notify_email if cached else None
                metrics = self.sender.metrics
                metrics.child(metrics.dead_letters, r.endpoint_id, tenant).inc()
                await self._notify(Notice(
                    "dead_letter", tenant, r.endpoint_id, url,
                    f"delivery {r.delivery_id} failed {r.round_attempts} times and was "
                    "dead-lettered", r.delivery_id, email))
        tenants = {r.endpoint_id: t for r, t in results} if to_disable else {}
        for ep_id, reason in to_disable.items():
            await self._disable(tenants.get(ep_id, ""), ep_id, reason,
                                stale_check=reason != "410 Gone")

    async def _disable(self, tenant: str, endpoint_id: str, reason: str,
                       stale_check: bool = False) -> None:
        limit = self.config.breaker.disable_after

        def work() -> Optional[Endpoint]:
            ep = self.store.get_endpoint(None, endpoint_id)
            if ep is None or ep.status in ("disabled", "deleted"):
                return None
            if stale_check and (ep.failing_since is None
                                or time.time() - ep.failing_since < limit):
                self._health.pop(endpoint_id, None)  # another worker saw it succeed
                return None
            self.store.update_endpoint(None, endpoint_id, status="disabled",
                                       status_reason=reason, updated_at=time.time())
            self.store.cancel(None, DeliveryFilter(endpoint_id=endpoint_id))
            return ep

        ep = await self._call(work)
        self._endpoints.pop(endpoint_id, None)  # its next delivery reads the new status
        if ep is not None:
            await self._notify(Notice("endpoint_disabled", ep.tenant_id or tenant, endpoint_id,
                                      ep.url, f"endpoint disabled: {reason}",
                                      recipient=ep.notify_email))

    async def _notify(self, notice: Notice) -> None:
        try:
            await asyncio.to_thread(self.sender.notifier.notify, notice)
        except Exception:
            logger.exception("notifier failed")
            self.sender.metrics.exception("notify")


class BackgroundWorker:
    """A :class:`Worker` running its own event loop in a daemon thread.

    Args:
        sender: The sender.
        **kwargs: Passed to :class:`Worker`.
    """

    def __init__(self, sender: Sender, **kwargs: Any) -> None:
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
