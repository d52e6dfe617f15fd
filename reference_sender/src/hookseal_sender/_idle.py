"""The idle sweep: a worker drops what it keeps per endpoint once it stops sending there.

A worker keeps, per endpoint it sends to, a prepared endpoint (the cache), a circuit
breaker, the health it last wrote, its adapted concurrency limit and its metrics series
(:mod:`hookseal_sender._endpoint_series`, dropped once a scrape showed their last
value): about 5.6 KB in all; and for some, a rate-limit slot time, OAuth tokens and a
batch send lock (dropped through ``also``: the attempt runner's and the batcher's
``forget``; a lock in use stays).
Kept for ever, that grows with every endpoint a worker ever sent to (5.6 GB a process
at 1,000,000 endpoints). The sweep bounds it by the endpoints used lately instead.

Every use of an endpoint's breaker (each attempt's start and result) marks it with the
sweep's round (:attr:`EndpointHealth.round`); at most every :data:`SWEEP_INTERVAL`
seconds the round moves on, and an endpoint not used in the last :data:`IDLE_ROUNDS`
rounds is idle: unused for at least ``(IDLE_ROUNDS - 1) x SWEEP_INTERVAL`` seconds (2
minutes). Counting rounds, not reading a clock on each use, costs an attempt one store
of an integer, and a sweep that could not run (a busy loop) never makes an endpoint
look idle that was used meanwhile.

An idle endpoint's state is dropped only when it is neutral, so that what a new
endpoint gets on its first use is all it needs: its breaker closed with no probe of its
own, no open or half-open breaker in the store as this worker last read it (or one it
has not written yet), nothing of it in flight or buffered, not left out of claims for a
while (paused, or rate-limited: :meth:`Claims.hold`). What the store keeps is rebuilt
from the store: the endpoint is read again on its next delivery, its health written
again with its next result, its send slots (rate limits) are the store's. An endpoint
whose breaker is open keeps it, however long.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Optional

from ._buffer import ClaimBuffer
from ._claims import Claims
from ._endpoint_cache import EndpointCache
from ._health import EndpointHealth
from .breaker import CLOSED

logger = logging.getLogger("hookseal_sender.worker")

#: Seconds between two rounds of the sweep, at least.
SWEEP_INTERVAL = 30.0
#: Rounds an endpoint goes unused before its state is dropped.
IDLE_ROUNDS = 5
#: Idle endpoints dropped per call at most (dropping one frees its prepared endpoint and
#: breaker: 2.4-5.4 us measured, so a call holds the loop for 12-27 ms at most).
CHUNK = 5000


class IdleSweep:
    """Drops the per-endpoint state of a worker's idle endpoints.

    Args:
        endpoints: The endpoint cache.
        health: The breakers and health (their marks say when each endpoint was used).
        buffer: Deliveries buffered and in flight (their endpoints are in use), and the
            adapted limits.
        claims: Endpoints left out of claims for a while, and probes being claimed.
        interval: Seconds between two rounds, at least (default :data:`SWEEP_INTERVAL`
            as the module has it when the sweep is made).
        rounds: Rounds an endpoint goes unused before it is idle (default
            :data:`IDLE_ROUNDS`).
        also: More parts' ``forget(endpoint_ids)``, called with the endpoints dropped
            (the attempts' rate gates and OAuth tokens, the batches' locks).
    """

    def __init__(self, endpoints: EndpointCache, health: EndpointHealth, buffer: ClaimBuffer,
                 claims: Claims, *, interval: Optional[float] = None,
                 rounds: Optional[int] = None,
                 also: Sequence[Callable[[list[str]], None]] = ()) -> None:
        self._also = tuple(also)
        self._endpoints = endpoints
        self._health = health
        self._buffer = buffer
        self._claims = claims
        self._interval = SWEEP_INTERVAL if interval is None else interval
        self._rounds = IDLE_ROUNDS if rounds is None else rounds
        self._next = 0.0  # monotonic: the next round, at the first call
        self._oldest = 0  # the round's threshold: marks at or before it are idle
        self._keep: set[str] = set()  # in use at the round's start (held, open, ...)
        self._idle: list[str] = []  # found idle by the round, not dropped yet

    def due(self, mono: float) -> bool:
        """Whether a round is due, or idle endpoints found by the last are left to drop.

        Args:
            mono: Monotonic time.
        """
        return mono >= self._next or bool(self._idle)

    def sweep(self, mono: float, now: float) -> int:
        """Start a new round if one is due, then drop the state of up to :data:`CHUNK`
        idle endpoints (on the loop: the rest at the next calls, the worker's maintenance
        ticks, so no call holds the loop for long).

        A round marks the breakers not used in the last rounds idle (one pass over
        them), and drops what has no breaker and is not in use (cache entries gone
        stale, health, lowered limits: orphans of endpoints dropped before). Each
        endpoint is checked again when its turn to be dropped comes.

        Args:
            mono: Monotonic time.
            now: Unix time (the cache's entries expire in it).

        Returns:
            How many endpoints' state was dropped by this call.
        """
        if mono >= self._next:
            self._round(mono, now)
        health, buffer, cache = self._health, self._buffer, self._endpoints
        breakers, inflight, queues = health.breakers, buffer.inflight, buffer.queues
        keep = self._keep
        gone: list[str] = []
        idle = self._idle
        while idle and len(gone) < CHUNK:
            ep = idle.pop()
            br = breakers.get(ep)
            if (br is None or br.used > self._oldest or br.state != CLOSED or ep in inflight
                    or ep in queues or ep in keep):
                continue  # used again since the round, or dropped already
            gone.append(ep)
        health.forget(gone)
        cache.forget_all(gone)
        buffer.forget(gone)
        if gone:
            for forget in self._also:
                forget(gone)
            logger.debug("idle sweep: dropped the state of %d endpoints, %d kept",
                         len(gone), len(breakers))
        return len(gone)

    def _round(self, mono: float, now: float) -> None:
        """A new round: find the idle endpoints, drop the orphans."""
        self._next = mono + self._interval
        health = self._health
        health.round += 1
        self._oldest = oldest = health.round - self._rounds  # marks at or before it: idle
        self._keep = keep = self._in_use(mono)
        self._idle = [ep for ep, br in health.breakers.items()
                      if br.used <= oldest and ep not in keep and br.state == CLOSED]
        # What has no breaker (its endpoint dropped before: a result written back late;
        # or never made): dropped if not in use.
        has = keep.union(health.breakers)
        self._endpoints.forget_idle(has, now)
        health.forget_health(has)
        self._buffer.forget_limits(has)

    def _in_use(self, mono: float) -> set[str]:
        """The endpoints whose state must stay, whatever their breakers' marks (checked
        again, with those in flight or buffered, as each is dropped)."""
        buffer = self._buffer
        keep = set(buffer.inflight)
        keep.update(buffer.queues)
        keep.update(self._claims.busy(mono))
        keep.update(self._health.shared.in_use())
        return keep
