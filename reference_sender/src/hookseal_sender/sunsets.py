"""Sunsets of pinned versions (contract 4.2): notices before, the move after.

The owners of endpoints pinned to a deprecated version are told through the notifier
(:mod:`hookseal_sender.notify`, notice kind ``version_sunset``) 30 and 7 days before its
sunset, once each: every notice is claimed in the store first
(``Store.claim_sunset_notice``), so a restarted worker, or several at once, never repeat
one. After the sunset (the sunset day is the last day served) the endpoint's pin moves to
the oldest version still served, and the audit log records it (action
``endpoint.version_moved``, actor ``hookseal-sender``) in the same transaction.

Workers run :meth:`SunsetJob.run` every :data:`SUNSET_INTERVAL` seconds; the clock is
injected so tests can stand on any day. Until the job moves a pin, deliveries already go
out in the version it will move to (:func:`hookseal_sender.versioning.version_for`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from .catalog import SenderCatalog
from .models import AuditEntry, Endpoint, new_id
from .notify import Notice, Notifier
from .storage.base import Store
from .versioning import utc_day

__all__ = ["MOVED_ACTION", "NOTICE_DAYS", "SUNSET_INTERVAL", "SunsetJob", "SunsetReport"]

logger = logging.getLogger("hookseal_sender.sunsets")

#: Days before a sunset that owners are told, each once.
NOTICE_DAYS = (30, 7)
#: Seconds between two runs of the job in a worker.
SUNSET_INTERVAL = 3600.0
#: The audit log's action for a pin moved past its sunset.
MOVED_ACTION = "endpoint.version_moved"
#: The audit log's actor of what the sender does by itself.
ACTOR = "hookseal-sender"


@dataclass
class SunsetReport:
    """What one run did.

    Attributes:
        notices: ``(endpoint_id, event_type, version, days)`` of each notice sent.
        moved: ``(endpoint_id, event_type, old_version, new_version)`` of each move.
    """

    notices: list[tuple[str, str, int, int]] = field(default_factory=list)
    moved: list[tuple[str, str, int, int]] = field(default_factory=list)


class SunsetJob:
    """Tells owners of pinned endpoints about sunsets, and moves pins past them.

    Args:
        store: The store.
        catalog: The sender's catalog (whose versions, statuses and sunsets count).
        notifier: Where notices go.
        clock: Unix time now (tests pass their own).
    """

    def __init__(self, store: Store, catalog: SenderCatalog, notifier: Notifier, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.store, self.catalog, self.notifier, self.clock = store, catalog, notifier, clock

    def run(self) -> SunsetReport:
        """Send the notices due and move the pins past their sunset, once each.

        Returns:
            What was done by this call (not what other processes did).
        """
        from hookseal_catalog.lifecycle import lifecycle, oldest_served_version

        now = self.clock()
        day = utc_day(now)
        report = SunsetReport()
        for ep in self.store.pinned_endpoints():
            moves: dict[str, int] = {}
            for event_type, version in sorted((ep.versions or {}).items()):
                if not self.catalog.knows(event_type):
                    continue
                life = {lc.version: lc for lc in lifecycle(self.catalog.catalog, event_type)}
                lc = life.get(version)
                if lc is None or not lc.served(day):
                    # Past its sunset (or removed from the catalog after it): move on.
                    newer = [v for v, c in sorted(life.items()) if v > version and c.served(day)]
                    moves[event_type] = newer[0] if newer else oldest_served_version(
                        self.catalog.catalog, event_type, day)
                    continue
                days = lc.days_to_sunset(day)
                if lc.status != "deprecated" or days is None:
                    continue
                due = [d for d in NOTICE_DAYS if days <= d]
                if due and self._notify(ep, event_type, version, min(due), days,
                                        lc.sunset.isoformat() if lc.sunset else "", now):
                    report.notices.append((ep.id, event_type, version, min(due)))
            if moves:
                self._move(ep, moves, now, report)
        return report

    def _notify(self, ep: Endpoint, event_type: str, version: int, notice_days: int,
                days: int, sunset: str, now: float) -> bool:
        key = f"{ep.id}|{event_type}|{version}|{notice_days}"
        if not self.store.claim_sunset_notice(key, ep.id, now):
            return False
        after = [v for v in self.catalog.catalog.event(event_type).versions if v > version]
        moves_to = f"v{min(after)}" if after else "the oldest version still served"
        message = (f"Endpoint {ep.id} is pinned to {event_type} v{version}, which is served "
                   f"until {sunset} ({days} day(s) from now). After that it receives "
                   f"{moves_to}: update your receiver and its pin before then.")
        try:
            self.notifier.notify(Notice("version_sunset", ep.tenant_id, ep.id, ep.url, message,
                                        recipient=ep.notify_email))
        except Exception:  # a notifier's failure must not stop the others, nor the moves
            logger.exception("sunset notice for endpoint %s failed", ep.id)
        return True

    def _move(self, ep: Endpoint, moves: dict[str, int], now: float,
              report: SunsetReport) -> None:
        pins = {**(ep.versions or {}), **moves}
        olds = ep.versions or {}
        said = ", ".join(f"{t} v{olds[t]} -> v{v}" for t, v in sorted(moves.items()))
        entry = AuditEntry(new_id("aud"), ep.tenant_id, ACTOR, MOVED_ACTION,
                           f"pinned version past its sunset: {said}",
                           {"endpoint_id": ep.id, "from": {t: olds[t] for t in moves},
                            "to": moves}, now)
        if self.store.move_pins(ep, pins, entry):
            logger.info("endpoint %s: %s (sunset passed)", ep.id, said)
            report.moved += [(ep.id, t, olds[t], v) for t, v in sorted(moves.items())]
