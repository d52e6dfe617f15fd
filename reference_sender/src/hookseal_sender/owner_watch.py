"""The periodic owner checks workers run: endpoints down, failing tenants, stale endpoints.

Each check tells the tenant's owners through the notifier (the operator's Prometheus
alerts fire on the same conditions) once per episode: the episode is opened in the store
(:meth:`~hookseal_sender.storage.base.Store.open_owner_alert`) by whichever process sees
it first, so several workers, and restarts, tell an owner once.

- ``endpoint_down``: an active endpoint failing (``failing_since``) for longer than
  ``endpoint_down_after``; the episode is the failing streak, so a new streak after a
  success is told again.
- ``tenant_failing``: a tenant whose attempts in the last hour failed more often than
  ``tenant_failure_rate`` (with at least ``tenant_min_attempts``); it ends when the share
  falls to half of that, or after an hour without attempts.
- ``endpoint_stale``: an active endpoint attempted but not delivered to for
  ``stale_after_days`` is paused, its owner told, and both are in the audit log.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .audit import AuditLog
from .notify import Notifier
from .owner_notices import OwnerNoticePolicy, tell_owners
from .storage import Store

__all__ = ["HOUR", "OwnerWatch", "WatchReport"]

logger = logging.getLogger("hookseal_sender.owner_watch")

#: The tenant failure window, seconds.
HOUR = 3600.0
#: Seconds an attempt row may be written after the attempt started (its timeout, the
#: write-back delay, concurrent writers): the id bound is found this much before the
#: window. (An endpoint whose own timeout is longer could make the window miss a few of
#: the attempts written around its late ones.)
_MARGIN = 3600.0
#: The actor of the watch's audit entries.
ACTOR = "owner-watch"


@dataclass
class WatchReport:
    """What one run of the checks did.

    Attributes:
        endpoints_down: Endpoints whose owners were told they are down.
        tenants_failing: Tenants whose owners were told they are failing.
        paused: Endpoints paused as stale (their owners told).
        closed: ``kind:subject`` of the episodes that ended.
    """

    endpoints_down: list[str] = field(default_factory=list)
    tenants_failing: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)


def _utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


class OwnerWatch:
    """The owner checks; call :meth:`run` periodically (workers call it every
    ``policy.check_interval`` seconds).

    Args:
        store: The store.
        notifier: Tells owners.
        policy: Thresholds and templates.
        clock: Unix time now (tests inject one).
    """

    def __init__(self, store: Store, notifier: Notifier, policy: OwnerNoticePolicy, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.notifier = notifier
        self.policy = policy
        self.clock = clock
        self.audit = AuditLog(store)

    @classmethod
    def of(cls, sender: Any) -> OwnerWatch:
        """The watch of a :class:`~hookseal_sender.Sender` (its store, notifier, policy).

        Args:
            sender: The sender.

        Returns:
            The watch.
        """
        return cls(sender.store, sender.notifier, sender.owner_notices)

    def run(self) -> WatchReport:
        """Run every check once.

        Returns:
            What was told, paused and closed.
        """
        now = self.clock()
        report = WatchReport()
        self._endpoints_down(now, report)
        self._recent(now, report)
        if self.policy.stale_after_days:
            self._stale(now, report)
        return report

    # endpoint down --------------------------------------------------------
    def _endpoints_down(self, now: float, report: WatchReport) -> None:
        store, limit = self.store, self.policy.endpoint_down_after
        down = {ep: (tenant, since) for ep, tenant, since in store.failing_endpoints()
                if now - since > limit}
        for ep_id, (tenant, since) in down.items():
            if not store.open_owner_alert("endpoint_down", ep_id, tenant, repr(since), now):
                continue
            ep = store.get_endpoint(None, ep_id)
            if ep is None:
                continue
            message = self.policy.template("endpoint_down").format(
                url=ep.url, endpoint=ep.id, since=_utc(since),
                hours=int((now - since) // 3600), tenant=tenant)
            tell_owners(self.notifier, self.audit, "endpoint_down", tenant, message,
                        endpoints=[ep], actor=ACTOR, reason="endpoint failing since "
                        f"{_utc(since)}")
            report.endpoints_down.append(ep_id)
        for ep_id, _, _ in store.open_owner_alerts("endpoint_down"):
            if ep_id not in down and store.close_owner_alert("endpoint_down", ep_id, now):
                report.closed.append(f"endpoint_down:{ep_id}")

    # the last hour: failing tenants, endpoint activity -----------------------
    def _recent(self, now: float, report: WatchReport) -> None:
        store, policy = self.store, self.policy
        # Only the newest rows are read: the bound comes from the primary key.
        bound = store.attempt_id_before(now - HOUR - _MARGIN)
        rows = store.recent_attempts_by_endpoint(bound, now - HOUR)
        store.record_endpoint_activity(rows, now)
        per_tenant: dict[str, list[int]] = {}
        for r in rows:
            counts = per_tenant.setdefault(r.tenant_id, [0, 0])
            counts[0] += r.attempts
            counts[1] += r.failures
        failing = {t for t, (n, bad) in per_tenant.items()
                   if n >= policy.tenant_min_attempts and bad / n > policy.tenant_failure_rate}
        for tenant in sorted(failing):
            if not store.open_owner_alert("tenant_failing", tenant, tenant, "", now):
                continue
            attempts, failures = per_tenant[tenant]
            message = policy.template("tenant_failing").format(
                failure_percent=round(100 * failures / attempts), failures=failures,
                attempts=attempts, tenant=tenant)
            tell_owners(self.notifier, self.audit, "tenant_failing", tenant, message,
                        endpoints=store.list_endpoints(tenant), actor=ACTOR,
                        reason=f"{failures} of {attempts} attempts failed in the last hour")
            report.tenants_failing.append(tenant)
        for tenant, _, _ in store.open_owner_alerts("tenant_failing"):
            n, bad = per_tenant.get(tenant, (0, 0))
            recovered = n == 0 or (n >= policy.tenant_min_attempts
                                   and bad / n <= policy.tenant_failure_rate / 2)
            if recovered and store.close_owner_alert("tenant_failing", tenant, now):
                report.closed.append(f"tenant_failing:{tenant}")

    # stale endpoints --------------------------------------------------------
    def _stale(self, now: float, report: WatchReport) -> None:
        store, days = self.store, self.policy.stale_after_days
        for stale in store.stale_endpoints(now - days * 86400):
            ep = store.get_endpoint(None, stale.endpoint_id)
            if ep is None or ep.status != "active":
                continue
            # Opened first: of two processes, one pauses and tells.
            if not store.open_owner_alert("endpoint_stale", ep.id, ep.tenant_id,
                                          repr(stale.last_attempted_at), now):
                continue
            reason = f"no successful delivery for {days:g} days"
            store.update_endpoint(None, ep.id, status="paused", status_reason=reason,
                                  updated_at=now)
            self.audit.record(ep.tenant_id, ACTOR, "pause", reason, {"endpoint_id": ep.id})
            last: Optional[float] = stale.last_delivered_at
            message = self.policy.template("endpoint_stale").format(
                url=ep.url, endpoint=ep.id, days=f"{days:g}",
                last_delivered=_utc(last) if last is not None else "never", tenant=ep.tenant_id)
            tell_owners(self.notifier, self.audit, "endpoint_stale", ep.tenant_id, message,
                        endpoints=[ep], actor=ACTOR, reason=reason)
            report.paused.append(ep.id)
            logger.info("paused endpoint %s of tenant %s: %s", ep.id, ep.tenant_id, reason)
