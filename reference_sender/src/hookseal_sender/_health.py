"""Endpoint health in a worker: breakers, failing-since transitions, disabling, notices."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Container, Iterable
from typing import Optional

from ._breakers import SharedBreakers
from ._endpoint_cache import EndpointCache
from ._logs import fields
from ._store_calls import StoreCalls
from .breaker import CLOSED, OPEN, CircuitBreaker
from .config import BreakerPolicy
from .metrics import Metrics
from .models import AttemptResult, DeliveryFilter, Endpoint
from .notify import Notice, Notifier
from .outcome import GONE, RETRY

logger = logging.getLogger("hookseal_sender.worker")

#: The error of a delivery failed because its endpoint's stored settings cannot be used.
UNUSABLE = "invalid_endpoint_settings"
#: The error of a delivery failed because its endpoint's pinned version could not be
#: derived from the event (contract 4.2; :mod:`hookseal_sender._derived`).
DERIVATION_FAILED = "derivation_failed"
#: The errors of deliveries failed unsent: the owner is told, and they say nothing of
#: the endpoint's health.
UNSENT = (UNUSABLE, DERIVATION_FAILED)


class EndpointHealth:
    """Each endpoint's breaker and health as one worker sees it, and what follows from it.

    Each endpoint's breaker opens by this worker's own attempts; its state is then shared
    with every worker through the store (:attr:`shared`): opened, probed once, closed or
    reopened for all.

    After each write-back, endpoints that started or stopped failing are written to the
    store (only transitions: a steady stream of successes costs no statement), an endpoint
    failing for longer than ``policy.disable_after`` (or answering 410 Gone) is disabled
    and its pending deliveries cancelled, and owners hear of dead letters, deliveries
    failed without being sent and disabled endpoints.

    Args:
        calls: The worker's store calls.
        policy: Breaker thresholds and ``disable_after``.
        metrics: Dead letters, open breakers and failures are counted there.
        notifier: Tells owners.
        endpoints: The worker's endpoint cache (URLs and addresses for notices; a disabled
            endpoint is dropped from it).
        owner: The worker's lease token (who opened or probes a breaker).
        interval: Seconds between two reads of the store's breakers, at least (the poll
            interval).
        lease: Seconds a probe taken is this worker's alone (the visibility timeout).
    """

    def __init__(self, calls: StoreCalls, policy: BreakerPolicy, metrics: Metrics,
                 notifier: Notifier, endpoints: EndpointCache, *, owner: str = "",
                 interval: float = 0.2, lease: float = 60.0) -> None:
        self._calls = calls
        self._policy = policy
        self._metrics = metrics
        self._notifier = notifier
        self._endpoints = endpoints
        #: Each endpoint's breaker (created on first use, dropped by the idle sweep).
        self.breakers: dict[str, CircuitBreaker] = {}
        # The breakers not closed, kept up to date by the breakers themselves (on_closed):
        # a claim leaves their endpoints out without looking at every breaker.
        self._not_closed: dict[str, CircuitBreaker] = {}
        #: The idle sweep's round: each use of a breaker marks it with the round
        #: (:attr:`CircuitBreaker.used`), the sweep drops those unused for long
        #: (:mod:`hookseal_sender._idle`).
        self.round = 1
        #: The breakers' state shared with every worker through the store.
        self.shared = SharedBreakers(calls, owner, interval, lease, self.breaker,
                                     self.breakers)
        # Health as last written: None healthy, a time failing since; unknown endpoints
        # (absent) are written on their first result.
        self._health: dict[str, Optional[float]] = {}

    def breaker(self, endpoint_id: str) -> CircuitBreaker:
        """The endpoint's breaker (marked as used in this round of the idle sweep)."""
        br = self.breakers.get(endpoint_id)
        if br is None:
            br = self.breakers[endpoint_id] = CircuitBreaker(
                self._policy, on_change=functools.partial(self._breaker_changed, endpoint_id),
                shared=True, on_closed=functools.partial(self._closed, endpoint_id))
        br.used = self.round
        return br

    def _closed(self, endpoint_id: str, closed: bool) -> None:
        """Keep :meth:`not_closed` exact: a breaker closed, or stopped being closed."""
        if closed:
            self._not_closed.pop(endpoint_id, None)
        else:
            br = self.breakers.get(endpoint_id)
            if br is not None:
                self._not_closed[endpoint_id] = br

    def forget(self, endpoint_ids: Iterable[str]) -> None:
        """Drop the breakers, the health last written and the metrics' series of idle
        endpoints (closed breakers only: the sweep checks): an endpoint used again gets a
        new breaker and new series, and its health is written again with its next result,
        as on its first use.

        Args:
            endpoint_ids: The endpoints.
        """
        breakers, health, not_closed = self.breakers, self._health, self._not_closed
        endpoint_ids = list(endpoint_ids)
        for ep in endpoint_ids:
            breakers.pop(ep, None)
            health.pop(ep, None)
            not_closed.pop(ep, None)
        self._metrics.forget_endpoints(endpoint_ids)

    def forget_health(self, keep: Container[str]) -> int:
        """Drop the health last written of endpoints not in ``keep`` (the store holds
        it: a result of theirs writes it again, as a first result does).

        Args:
            keep: The endpoints in use.

        Returns:
            How many were dropped.
        """
        gone = [ep for ep in self._health if ep not in keep]
        for ep in gone:
            del self._health[ep]
        return len(gone)

    def _breaker_changed(self, endpoint_id: str, old: str, new: str) -> None:
        """Share a breaker's change of state (opened, reopened or closed by this worker)
        through the store, and log it (a warning: an endpoint stopped or resumed)."""
        if new == OPEN:
            self.shared.opened(endpoint_id, self._policy.open_seconds)
        elif new == CLOSED:
            self.shared.closed(endpoint_id)
        cached = self._endpoints.entries.get(endpoint_id)
        what = {"open": "opened: its deliveries wait", "half_open": "half-open: one probe "
                "goes", "closed": "closed: delivering again"}.get(new, new)
        logger.warning("endpoint %s breaker %s", endpoint_id, what, extra=fields(
            event="breaker", endpoint_id=endpoint_id,
            tenant_id=cached.endpoint.tenant_id if cached else None,
            url=cached.endpoint.url if cached else None, breaker_from=old, breaker_to=new))

    def is_closed(self, endpoint_id: str) -> bool:
        """Whether the endpoint's breaker is closed here and in the store as last read (an
        endpoint without a breaker here is closed).

        Args:
            endpoint_id: The endpoint.
        """
        return endpoint_id not in self._not_closed and endpoint_id not in self.shared.open

    def count_not_closed(self) -> int:
        """How many breakers are open or half-open (also sets the gauge); costs nothing
        per breaker."""
        n = len(self._not_closed)
        self._metrics.breaker_open.set(n)
        return n

    def not_closed(self) -> list[tuple[str, CircuitBreaker]]:
        """The endpoints whose breaker is open or half-open (also sets the gauge).

        Kept as the breakers change state, so it costs nothing per closed breaker.
        """
        found = list(self._not_closed.items())
        self._metrics.breaker_open.set(len(found))
        return found

    async def after(self, results: list[tuple[AttemptResult, str]], now: float) -> None:
        """Act on results just written back: health transitions, notices, disabling.

        Args:
            results: The results with their tenants.
            now: Unix time they were written.
        """
        failing = await self._transitions(results, now)
        limit = self._policy.disable_after
        to_disable = {ep: f"failing since {time.ctime(since)}"
                      for ep, since in failing.items() if now - since >= limit}
        for r, tenant in results:
            if r.attempt.outcome == GONE:
                to_disable[r.endpoint_id] = "410 Gone"
            if r.attempt.error in UNSENT:
                await self._notify(self._notice(
                    "delivery_failed", r, tenant, f"delivery {r.delivery_id} failed without "
                    f"being sent: {r.attempt.response_body}"))
            if r.status == "dead_lettered":
                self._metrics.dead_letter(tenant, r.endpoint_id)
                await self._notify(self._notice(
                    "dead_letter", r, tenant, f"delivery {r.delivery_id} failed "
                    f"{r.round_attempts} times and was dead-lettered"))
        tenants = {r.endpoint_id: t for r, t in results} if to_disable else {}
        for ep_id, reason in to_disable.items():
            await self._disable(tenants.get(ep_id, ""), ep_id, reason,
                                stale_check=reason != "410 Gone")

    def _changes(self, results: list[tuple[AttemptResult, str]],
                 ) -> tuple[list[str], list[str], dict[str, float]]:
        """What ``results`` change: endpoints now healthy, now failing, and those failing
        already (with the time each has been failing since)."""
        ok = {r.endpoint_id for r, _ in results
              if r.attempt.outcome != RETRY and r.attempt.error not in UNSENT}
        bad = {r.endpoint_id for r, _ in results if r.attempt.outcome == RETRY} - ok
        health = self._health
        to_ok = sorted(ep for ep in ok if health.get(ep, 0.0) is not None)
        to_bad = sorted(ep for ep in bad if health.get(ep, 0.0) in (None, 0.0))
        failing = {ep: since for ep in bad
                   if (since := health.get(ep)) is not None and since > 0.0}
        return to_ok, to_bad, failing

    async def _transitions(self, results: list[tuple[AttemptResult, str]],
                           now: float) -> dict[str, float]:
        """Write the endpoints that became healthy or failing; returns the failing ones
        among ``results`` with the time each has been failing since."""
        to_ok, to_bad, failing = self._changes(results)
        if to_ok or to_bad:
            try:
                failing.update(await self._calls.call(self._calls.store.endpoint_health,
                                                      to_ok, to_bad, now))
            except Exception as exc:
                if self._calls.unavailable(exc):
                    self._calls.trouble("endpoint health", exc)
                else:
                    logger.exception("could not update endpoint health")
                    self._metrics.exception("health")
        for ep in to_ok:
            self._health[ep] = None
        self._health.update(failing)
        return failing

    def _notice(self, kind: str, r: AttemptResult, tenant: str, message: str) -> Notice:
        cached = self._endpoints.entries.get(r.endpoint_id)
        return Notice(kind, tenant, r.endpoint_id, cached.endpoint.url if cached else "",
                      message, r.delivery_id,
                      cached.endpoint.notify_email if cached else None)

    async def _disable(self, tenant: str, endpoint_id: str, reason: str,
                       stale_check: bool = False) -> None:
        limit = self._policy.disable_after
        store = self._calls.store

        def work() -> Optional[Endpoint]:
            ep = store.get_endpoint(None, endpoint_id)
            if ep is None or ep.status in ("disabled", "deleted"):
                return None
            if stale_check and (ep.failing_since is None
                                or time.time() - ep.failing_since < limit):
                self._health.pop(endpoint_id, None)  # another worker saw it succeed
                return None
            store.update_endpoint(None, endpoint_id, status="disabled",
                                  status_reason=reason, updated_at=time.time())
            store.cancel(None, DeliveryFilter(endpoint_id=endpoint_id))
            return ep

        ep = await self._calls.call(work)
        self._endpoints.forget(endpoint_id)  # its next delivery reads the new status
        if ep is not None:
            await self._notify(Notice("endpoint_disabled", ep.tenant_id or tenant, endpoint_id,
                                      ep.url, f"endpoint disabled: {reason}",
                                      recipient=ep.notify_email))

    async def _notify(self, notice: Notice) -> None:
        try:
            await asyncio.to_thread(self._notifier.notify, notice)
        except Exception:
            logger.exception("notifier failed")
            self._metrics.exception("notify")
