"""Bulk replays of the admin console: what they select, and the background jobs that run them.

A bulk replay is chosen by one of three filters (:data:`KINDS`), previewed (exact count
and a sample), confirmed twice with that count, then run by a :class:`JobRunner` in the
background: in batches, at the sender's ``replay_rate``, recording progress in an
:class:`~hookseal_sender.records.AdminJob` the console's page polls, and checking between
batches whether someone asked it to stop. One bulk replay runs at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Optional

from .. import _inputs as inputs
from .._inputs import MAX_BULK_REPLAY, MAX_NAME, MAX_REASON
from ..errors import ConflictError, InvalidRequestError, NotFoundError
from ..models import Delivery, DeliveryFilter, new_id
from ..owner_notices import notify_bulk_replay
from ..records import AdminJob
from ..sender import Sender
from .links import OPERATOR_LOG

__all__ = ["KINDS", "SAMPLE", "STALE_AFTER", "BulkSelection", "JobRunner", "Preview", "preview", "select"]

log = logging.getLogger("hookseal_sender.admin")

#: The bulk replays the console offers: kind -> (label, statuses replayed).
KINDS: dict[str, tuple[str, list[str]]] = {
    "tenant_failed": ("Every failed delivery of a tenant in a time window",
                      ["failed", "dead_lettered"]),
    "event_type": ("Every delivery of an event type in a time window (a bug window)",
                   ["delivered", "failed", "dead_lettered"]),
    "endpoint_dead": ("Everything dead-lettered for an endpoint", ["dead_lettered"]),
}
#: Deliveries a preview shows as its sample.
SAMPLE = 10
#: A running job that reported no progress for this long is taken as abandoned (its
#: process ended): it is marked so and no longer blocks a new bulk replay. Batches report
#: far more often.
STALE_AFTER = 300.0


@dataclass(frozen=True)
class BulkSelection:
    """Which deliveries a bulk replay acts on.

    Attributes:
        kind: One of :data:`KINDS`.
        tenant_id: The tenant, or ``None`` for every tenant (event-type replays only).
        flt: The filter (statuses from the kind).
    """

    kind: str
    tenant_id: Optional[str]
    flt: DeliveryFilter

    def params(self) -> dict[str, Any]:
        """The selection as JSON-ready data (the job record and the audit log)."""
        return {"kind": self.kind, "tenant_id": self.tenant_id,
                "filter": {k: v for k, v in self.flt.__dict__.items() if v is not None}}


@dataclass(frozen=True)
class Preview:
    """What a bulk replay would do.

    Attributes:
        count: Exactly how many deliveries it would replay.
        sample: The first few of them (oldest first).
        tenants: How many tenants they belong to.
    """

    count: int
    sample: list[Delivery] = field(default_factory=list)
    tenants: int = 0


def select(sender: Sender, kind: str, *, tenant_id: str = "", endpoint_id: str = "",
           event_type: str = "", since: Optional[float] = None,
           until: Optional[float] = None) -> BulkSelection:
    """Check a bulk replay's choice and turn it into a selection.

    Args:
        sender: The sender.
        kind: One of :data:`KINDS`.
        tenant_id: The tenant (needed by ``tenant_failed``; narrows ``event_type``).
        endpoint_id: The endpoint (needed by ``endpoint_dead``).
        event_type: The event type (needed by ``event_type``).
        since: Window start (needed by ``tenant_failed`` and ``event_type``).
        until: Window end (needed by ``tenant_failed`` and ``event_type``).

    Returns:
        The selection.

    Raises:
        InvalidRequestError: An unknown kind, or a needed field missing, or a window that
            ends before it starts.
        NotFoundError: No such endpoint.
    """
    if kind not in KINDS:
        raise InvalidRequestError(f"unknown bulk replay {kind!r}")
    statuses = list(KINDS[kind][1])
    for value, name in ((tenant_id, "tenant"), (endpoint_id, "endpoint"),
                        (event_type, "event type")):
        inputs.check_text(value, name, MAX_NAME)
    if kind == "endpoint_dead":
        if not endpoint_id:
            raise InvalidRequestError("choose the endpoint")
        ep = sender.store.get_endpoint(None, endpoint_id)
        if ep is None:
            raise NotFoundError(f"endpoint {endpoint_id} not found")
        return BulkSelection(kind, ep.tenant_id, DeliveryFilter(endpoint_id=endpoint_id,
                                                                 status=statuses))
    if since is None or until is None:
        raise InvalidRequestError("give the time window (from and to)")
    if until <= since:
        raise InvalidRequestError("the time window ends before it starts")
    if kind == "tenant_failed":
        if not tenant_id:
            raise InvalidRequestError("choose the tenant")
        return BulkSelection(kind, tenant_id, DeliveryFilter(status=statuses, since=since,
                                                             until=until))
    if not event_type:
        raise InvalidRequestError("choose the event type")
    return BulkSelection(kind, tenant_id or None, DeliveryFilter(
        event_type=event_type, status=statuses, since=since, until=until))


def _rows(sender: Sender, sel: BulkSelection) -> list[tuple[str, str]]:
    rows = sender.store.select_for_replay(sel.tenant_id, sel.flt, MAX_BULK_REPLAY + 1)
    if len(rows) > MAX_BULK_REPLAY:
        raise InvalidRequestError(f"more than {MAX_BULK_REPLAY} deliveries match; narrow "
                                  "the window")
    return rows


def preview(sender: Sender, sel: BulkSelection) -> Preview:
    """The exact count and a sample of what a bulk replay would replay (changes nothing).

    Args:
        sender: The sender.
        sel: The selection.

    Returns:
        The preview.

    Raises:
        InvalidRequestError: More than :data:`MAX_BULK_REPLAY` match.
    """
    rows = _rows(sender, sel)
    sample = [d for d in (sender.store.get_delivery(t, i, detail=False)
                          for i, t in rows[:SAMPLE]) if d is not None]
    return Preview(len(rows), sample, len({t for _, t in rows}))


class JobRunner:
    """Runs bulk replays in background threads, one at a time, paced and stoppable.

    Args:
        sender: The sender (its ``replay_rate`` paces the replays).
        batch: Deliveries queued per batch (stop requests are read between batches).
    """

    def __init__(self, sender: Sender, *, batch: int = 50) -> None:
        self.sender = sender
        self.batch = batch
        self._lock = threading.Lock()
        self._stops: dict[str, threading.Event] = {}
        self.threads: dict[str, threading.Thread] = {}
        sender.on_close(self.shutdown)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop this process's running jobs after their current batch and wait for them
        (the sender is closing: they must not read a closed store).

        Args:
            timeout: Seconds to wait for each.
        """
        for event in list(self._stops.values()):
            event.set()
        for thread in list(self.threads.values()):
            thread.join(timeout)

    def start(self, sel: BulkSelection, *, actor: str, reason: str,
              confirmed_count: int) -> AdminJob:
        """Start a bulk replay whose count the operator confirmed.

        Args:
            sel: The selection.
            actor: Who (audit log).
            reason: Why (required).
            confirmed_count: The count the operator confirmed; if the selection now
                matches another number, nothing starts.

        Returns:
            The job, running.

        Raises:
            InvalidRequestError: No reason, or too many match.
            ConflictError: The count changed since it was confirmed, or a bulk replay is
                already running.
        """
        inputs.check_text(reason, "reason", MAX_REASON, multiline=True)
        if not reason.strip():
            raise InvalidRequestError("a bulk replay needs a reason")
        with self._lock:
            self.reap()
            if any(j.status == "running" for j in self.sender.store.list_jobs(20)):
                raise ConflictError("a bulk replay is already running; stop it or wait")
            rows = _rows(self.sender, sel)
            if len(rows) != confirmed_count:
                raise ConflictError(f"{len(rows)} deliveries match now, not the "
                                    f"{confirmed_count} you confirmed: review it again")
            now = time.time()
            job = AdminJob(new_id("job"), "bulk_replay", actor, reason,
                           {**sel.params(), "confirmed_count": confirmed_count},
                           len(rows), 0, 0, "running", created_at=now, updated_at=now)
            self.sender.store.insert_job(job)
            self.sender.audit(OPERATOR_LOG, actor, "bulk_replay_started", reason,
                              {"job_id": job.id, **job.params})
            stop = threading.Event()
            self._stops[job.id] = stop
            thread = threading.Thread(target=self._run, args=(job, rows, stop),
                                      name=f"hookseal-admin-{job.id}", daemon=True)
            self.threads[job.id] = thread
            thread.start()
        return job

    def reap(self) -> list[str]:
        """Mark ``abandoned`` the running jobs without progress for :data:`STALE_AFTER`
        (whichever process started them), each with an entry in the console's log.

        Returns:
            The ids marked.
        """
        now = time.time()
        ids = self.sender.store.abandon_stale_jobs(
            now - STALE_AFTER, now, f"no progress for {STALE_AFTER / 60:g} minutes: the"
            " process that ran it ended; what it replayed stays replayed")
        for job_id in ids:
            log.warning("bulk replay %s abandoned: no progress for %g s", job_id, STALE_AFTER)
            self.sender.audit(OPERATOR_LOG, "system", "bulk_replay_abandoned", "",
                              {"job_id": job_id})
        return ids

    def stop(self, job_id: str, *, actor: str) -> bool:
        """Ask a running job to stop after its current batch (any process's job).

        Args:
            job_id: The job.
            actor: Who (audit log).

        Returns:
            Whether a running job was asked.
        """
        asked = self.sender.store.request_job_stop(job_id, time.time())
        if asked:
            event = self._stops.get(job_id)
            if event is not None:
                event.set()
            self.sender.audit(OPERATOR_LOG, actor, "bulk_replay_stop", "",
                              {"job_id": job_id})
        return asked

    def _run(self, job: AdminJob, rows: list[tuple[str, str]], stop: threading.Event) -> None:
        store = self.sender.store
        interval = 1.0 / self.sender.config.replay_rate
        done = replayed = 0
        per_tenant: dict[str, int] = defaultdict(int)
        due = time.time()
        status, error = "finished", None
        try:
            for i in range(0, len(rows), self.batch):
                current = store.get_job(job.id)
                if stop.is_set() or (current is not None and current.stop_requested):
                    status = "stopped"
                    break
                chunk = rows[i:i + self.batch]
                by_tenant: dict[str, list[str]] = defaultdict(list)
                for did, tenant in chunk:
                    by_tenant[tenant].append(did)
                due = max(due, time.time())
                for tenant, ids in by_tenant.items():
                    n = store.replay(tenant, ids, due, interval)
                    due += len(ids) * interval
                    per_tenant[tenant] += n
                    replayed += n
                done += len(chunk)
                store.update_job(job.id, done=done, replayed=replayed, status="running",
                                 now=time.time())
                self.sender.deliveries.wake()
                # Pace: queue the next batch only when this one is nearly due, so the
                # queue never holds more than a batch ahead and a stop takes effect soon.
                stop.wait(max(0.0, due - time.time() - 1.0))
        except Exception as exc:  # recorded on the job: the page shows it
            log.exception("bulk replay %s failed", job.id)
            status, error = "failed", f"{type(exc).__name__}: {exc}"[:500]
        store.update_job(job.id, done=done, replayed=replayed, status=status,
                         now=time.time(), error=error)
        flt = DeliveryFilter(**job.params.get("filter", {}))
        for tenant, n in per_tenant.items():
            self.sender.audit(tenant, job.actor, "bulk_replay", job.reason,
                              {"job_id": job.id, "count": n, **job.params})
            try:  # each tenant's owners are told, as after the CLI's and the API's replays
                notify_bulk_replay(self.sender, tenant, flt, {"confirmed": True, "replayed": n},
                                   actor=job.actor, reason=job.reason)
            except Exception:  # a notifier failure must not lose the job's record
                log.exception("owner notice after bulk replay %s failed", job.id)
        self.sender.audit(OPERATOR_LOG, job.actor, f"bulk_replay_{status}", job.reason,
                          {"job_id": job.id, "done": done, "replayed": replayed})
        self._stops.pop(job.id, None)
