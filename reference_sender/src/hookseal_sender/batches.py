"""Batches (contract 4.4): a worker gathers an endpoint's deliveries and sends them as one.

An endpoint with a ``batch`` setting has its deliveries claimed as any other; the
:class:`~hookseal_sender._attempt.AttemptRunner` hands them to the worker's
:class:`Batcher` instead of sending them. The batcher moves them out of the queue into the
endpoint's open batch in the store (one transaction, so a crash loses nothing and no event
is in two batches), and sends each batch once it is sealed: at ``max_events``, when the
next event would pass ``max_bytes``, or ``max_wait`` seconds after its first event.

A batch is one request: a JSON array of the envelopes in enqueue order, event type
``batch``, webhook id the batch id (``bat_...``) on every attempt. It is retried on the
endpoint's schedule (:func:`~hookseal_sender.outcome.next_step`) and dead-lettered as
one; every attempt is recorded on each member's delivery. A batch is leased while it is
sent, so a worker that dies leaves it to another once the lease ends, with the same id
and members.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence, Set
from typing import Optional

from ._attempt import CRASH_RECHECK, PAUSED_RECHECK, AttemptRunner
from ._endpoint_cache import CachedEndpoint, EndpointCache
from ._health import UNUSABLE, EndpointHealth
from ._store_calls import StoreCalls
from ._writeback import WriteBack
from .config import SenderConfig
from .metrics import Metrics
from .models import Attempt, AttemptResult, Claimed, ClaimedBatch
from .outcome import FAILED, GONE, RETRY, classify, next_step
from .redaction import redact_payload
from .tracing import Tracing

__all__ = ["BATCH_EVENT_TYPE", "BATCH_POLL", "GATHER_DELAY", "Batcher", "batch_body"]

logger = logging.getLogger("hookseal_sender.worker")

#: The event-type header of a batch (``hookseal-v1``).
BATCH_EVENT_TYPE = "batch"
#: Seconds between a worker's looks for due batches (other workers' open batches, their
#: retries, leases run out); its own batches' due times wake it sooner.
BATCH_POLL = 1.0
#: Seconds the first taken delivery waits for others before they are gathered together.
GATHER_DELAY = 0.005
#: Most batches claimed per look.
CLAIM_LIMIT = 16
#: Seconds a stopping worker waits for the batches it is sending.
STOP_WAIT = 10.0


def batch_body(payloads: Sequence[str]) -> bytes:
    """The body of a batch: the envelopes as one JSON array, in the order given.

    Args:
        payloads: Each member's envelope (JSON text).

    Returns:
        ``[e1,e2,...]`` as UTF-8 bytes (each envelope byte for byte as enqueued).
    """
    return ("[" + ",".join(payloads) + "]").encode("utf-8")


class Batcher:
    """A worker's batches: gathers taken deliveries, then sends, retries and records batches.

    Args:
        calls: The worker's store calls.
        config: Lease length (``visibility_timeout``).
        owner: The worker's lease token.
        endpoints: The endpoint cache.
        runner: Sends the request (and single deliveries replayed alone).
        writeback: Holds the claimed deliveries until they are gathered.
        health: Breakers, endpoint health and notices.
        metrics: Attempts and crashes.
        tracing: The ``traceparent`` of each attempt.
    """

    def __init__(self, calls: StoreCalls, config: SenderConfig, owner: str,
                 endpoints: EndpointCache, runner: AttemptRunner, writeback: WriteBack,
                 health: EndpointHealth, metrics: Metrics, tracing: Tracing) -> None:
        self._calls = calls
        self._lease = config.visibility_timeout
        self._owner = owner
        self._endpoints = endpoints
        self._runner = runner
        self._writeback = writeback
        self._health = health
        self._metrics = metrics
        self._tracing = tracing
        # Taken deliveries by endpoint, waiting to be gathered.
        self._taken: dict[str, list[tuple[Claimed, CachedEndpoint]]] = {}
        self._event: Optional[asyncio.Event] = None
        self._wake_at = 0.0  # Unix time of the next look for due batches
        # Due times this worker knows of (its open batches, its retries), by batch or
        # endpoint: each wakes it when it comes.
        self._dues: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # One batch at a time per endpoint, in the order sealed.
        self._locks: dict[str, asyncio.Lock] = {}
        self._held: set[str] = set()  # batches leased and not yet sent
        self._closing = False

    def forget(self, endpoint_ids: Iterable[str]) -> None:
        """Drop the send locks of idle endpoints (the worker's idle sweep), those free.

        Args:
            endpoint_ids: The endpoints.
        """
        locks = self._locks
        for ep in endpoint_ids:
            lock = locks.get(ep)
            if lock is not None and not lock.locked():
                del locks[ep]

    @property
    def held(self) -> Set[str]:
        """The batches this worker holds: leased, waiting for their turn or in flight."""
        return self._held

    def take(self, c: Claimed, cached: CachedEndpoint) -> None:
        """Take a claimed delivery of an endpoint with batches (from the attempt runner).

        Args:
            c: The claimed delivery (still leased in the queue).
            cached: Its endpoint.
        """
        self._taken.setdefault(c.endpoint_id, []).append((c, cached))
        if self._event is not None:
            self._event.set()

    def close(self) -> None:
        """Make :meth:`run` gather what is taken, finish its sends and return."""
        self._closing = True
        if self._event is not None:
            self._event.set()

    async def run(self) -> None:
        """Gather, look for due batches and send them until :meth:`close`."""
        event = self._event = asyncio.Event()
        try:
            while not self._closing:
                delay = self._wake_at - time.time()
                if delay > 0 and not event.is_set():
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(event.wait(), delay)
                event.clear()
                if self._taken and not self._closing:
                    await asyncio.sleep(GATHER_DELAY)  # one transaction for many
                await self._gather()
                if not self._closing and time.time() >= self._wake_at:
                    await self._claim()
        finally:
            await self._finish()

    async def _finish(self) -> None:
        """Stopping: gather what is taken, wait for sends, give back what was not sent."""
        with contextlib.suppress(Exception):
            await self._gather()  # batches it seals are given back below, not sent
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=STOP_WAIT)
            for task in pending:
                task.cancel()  # each gives its batch back
            if pending:
                await asyncio.wait(pending)
        held, self._held = list(self._held), set()
        if held:
            try:
                await self._calls.call(self._calls.store.release_batches, self._owner, held,
                                       time.time())
            except Exception as exc:  # the leases run out: another worker sends them
                self._calls.trouble("batch release", exc)

    def _soon(self, key: str, at: float) -> None:
        self._dues[key] = at
        if at < self._wake_at:
            self._wake_at = at
            if self._event is not None:
                self._event.set()

    async def _gather(self) -> None:
        taken, self._taken = self._taken, {}
        for endpoint_id, items in taken.items():
            await self._gather_endpoint(endpoint_id, items)

    async def _gather_endpoint(self, endpoint_id: str,
                               items: list[tuple[Claimed, CachedEndpoint]]) -> None:
        store = self._calls.store
        first, cached = items[0]
        limits = cached.endpoint.batch or {}
        now = time.time()
        ids = {c.id: c for c, _ in items}
        try:
            got = await self._calls.call(store.gather, self._owner, first.tenant_id, endpoint_id,
                                         [(c.id, c.payload) for c, _ in items], limits, now,
                                         now + self._lease)
        except Exception as exc:
            # Nothing moved: the deliveries stay leased in the queue, and come back when
            # their leases run out.
            if self._calls.unavailable(exc):
                self._calls.trouble("batch gathering", exc)
            else:
                logger.exception("gathering %d deliveries of %s crashed", len(items), endpoint_id)
                self._metrics.exception("batch")
            self._writeback.holding.difference_update(ids)
            return
        alone = set(got.alone)
        self._writeback.holding.difference_update(set(ids) - alone)
        for d in got.alone:  # a member replayed on its own: sent as a single event
            self._spawn(self._alone(ids[d]))
        if got.open_due is not None:
            self._soon(endpoint_id, got.open_due)
        for b in got.sealed:
            self._held.add(b.id)
            if not self._closing:
                self._spawn(self._send(b))

    async def _alone(self, c: Claimed) -> None:
        try:
            await self._runner.attempt(c, gather=False)
        finally:
            if self._writeback.event is not None:
                self._writeback.event.set()

    async def _claim(self) -> None:
        now = time.time()
        self._dues = {k: at for k, at in self._dues.items() if at > now}
        self._wake_at = min([now + BATCH_POLL, *self._dues.values()])
        try:
            found = await self._calls.call(self._calls.store.claim_batches, self._owner,
                                           CLAIM_LIMIT, now, now + self._lease)
        except Exception as exc:
            self._calls.trouble("batch claim", exc)
            return
        for b in found:
            self._held.add(b.id)
            self._spawn(self._send(b))
        if len(found) == CLAIM_LIMIT:
            self._wake_at = now  # more may be due

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, b: ClaimedBatch) -> None:
        lock = self._locks.setdefault(b.endpoint_id, asyncio.Lock())
        async with lock:
            try:
                await self._attempt(b)
            except asyncio.CancelledError:
                await self._give_back(b, time.time())
                raise
            except Exception as exc:
                if self._calls.unavailable(exc):
                    self._calls.trouble("batch attempt", exc)
                else:
                    logger.exception("attempt of batch %s crashed; releasing it", b.id)
                    self._metrics.exception("attempt")
                await self._give_back(b, time.time() + CRASH_RECHECK)
            finally:
                self._held.discard(b.id)

    async def _give_back(self, b: ClaimedBatch, at: float) -> None:
        with contextlib.suppress(Exception):  # else its lease runs out
            await self._calls.call(self._calls.store.release_batches, self._owner, [b.id], at)

    async def _endpoint(self, b: ClaimedBatch) -> Optional[CachedEndpoint]:
        c = Claimed(b.id, b.tenant_id, b.endpoint_id, BATCH_EVENT_TYPE, b.attempt_count,
                    b.round_attempts, "", b.endpoint_version, b.id)
        return self._endpoints.fresh(c, time.time()) or await self._endpoints.load(c)

    async def _attempt(self, b: ClaimedBatch) -> None:
        """Send ``b`` once and record what came of it."""
        call, store = self._calls.call, self._calls.store
        cached = await self._endpoint(b)
        status = cached.endpoint.status if cached is not None else "deleted"
        if status in ("deleted", "disabled") or not b.members:
            await call(store.cancel_batch, self._owner, b.id, time.time())
            return
        if status == "paused":
            await self._give_back(b, time.time() + PAUSED_RECHECK)
            return
        assert cached is not None
        started = time.time()
        round_n = b.round_attempts + 1
        if cached.unusable is not None or cached.signer is None:
            reason = (f"endpoint settings cannot be used: {cached.unusable}"
                      if cached.unusable is not None
                      else f"endpoint has no {cached.endpoint.signing} signing key")
            attempt = Attempt(b.attempt_count + 1, started, None, UNUSABLE, 0.0, {}, reason,
                              FAILED)
            await self._record(b, attempt, "failed", None, round_n)
            return
        # Each envelope as the endpoint takes it alone: without its redacted fields.
        body = batch_body([redact_payload(p, cached.endpoint.redact) for _, p in b.members])
        headers = cached.signer.sign(body, timestamp=int(started), msg_id=b.id,
                                     event_type=BATCH_EVENT_TYPE)
        headers["Content-Type"] = "application/json"
        if cached.endpoint.headers:  # the endpoint's custom headers, as on any attempt
            headers.update(cached.endpoint.headers)
        span = self._tracing.attempt(Claimed(b.id, b.tenant_id, b.endpoint_id, BATCH_EVENT_TYPE,
                                             b.attempt_count, b.round_attempts, "",
                                             b.endpoint_version, b.id))
        headers["traceparent"] = span.header
        t0 = time.perf_counter()
        code, error, resp_headers, resp_body = await self._runner.post(cached, headers, body)
        latency = time.perf_counter() - t0
        outcome = classify(code, error)
        span.finish(code, outcome, error)
        new_status, next_at = next_step(outcome, code, resp_headers, round_n, cached.policy,
                                        started + latency)
        if outcome == GONE:
            self._endpoints.mark_disabled(cached)
        self._metrics.attempt(b.tenant_id, b.endpoint_id, outcome, latency, code, error)
        self._health.breaker(b.endpoint_id).record(outcome != RETRY, retry=b.round_attempts > 0)
        attempt = Attempt(b.attempt_count + 1, started, code, error, round(latency * 1000.0, 3),
                          resp_headers, resp_body, outcome)
        await self._record(b, attempt, new_status, next_at, round_n)

    async def _record(self, b: ClaimedBatch, attempt: Attempt, status: str,
                      next_at: Optional[float], round_n: int) -> None:
        now = time.time()
        await self._calls.call(self._calls.store.complete_batch, self._owner, b.id,
                               [d for d, _ in b.members], attempt, status, next_at, round_n, now)
        self._held.discard(b.id)
        if next_at is not None:
            self._soon(b.id, next_at)
        # One result for the batch: one notice when it is dead-lettered, not one a member.
        result = AttemptResult(b.id, b.endpoint_id, attempt, status, next_at, round_n)
        await self._health.after([(result, b.tenant_id)], now)
