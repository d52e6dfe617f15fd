"""Records of the operator's tooling: stored events, their corrections, admin jobs.

Plain data, like :mod:`hookseal_sender.models`; the store returns them and the admin
console, the admin API and the CLI show them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Optional

__all__ = ["JOB_STATUSES", "AdminJob", "EventRevision", "StoredEvent"]

#: States of an admin job: running, then finished, stopped (on request) or failed.
JOB_STATUSES = ("running", "finished", "stopped", "failed")


@dataclass(frozen=True)
class StoredEvent:
    """An event as stored: what every delivery of it sends.

    Attributes:
        id: The event id (the envelope's ``id``, the webhook-id header).
        tenant_id: The tenant.
        type: The event type.
        payload: The body (the catalog envelope), corrected if it was corrected.
        created_at: Unix time it was enqueued.
    """

    id: str
    tenant_id: str
    type: str
    payload: str
    created_at: float


@dataclass(frozen=True)
class EventRevision:
    """One correction of an event: the body it replaced, who and why.

    Attributes:
        id: Revision id.
        event_id: The event.
        tenant_id: The tenant.
        payload: The body the event had before this correction.
        actor: Who corrected it.
        reason: Why.
        at: Unix time of the correction.
    """

    id: str
    event_id: str
    tenant_id: str
    payload: str
    actor: str
    reason: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data.

        Returns:
            A dict of the fields.
        """
        return asdict(self)


@dataclass(frozen=True)
class AdminJob:
    """A background job of the admin console (a bulk replay), as the page follows it.

    Attributes:
        id: Job id.
        kind: What it does (``bulk_replay``).
        actor: Who started it.
        reason: Why (required).
        params: What it acts on (the filter, the confirmed count).
        total: Deliveries it will replay.
        done: Deliveries handled so far.
        replayed: Of those, replayed (a delivery that went live meanwhile is skipped).
        status: One of :data:`JOB_STATUSES`.
        stop_requested: Someone asked it to stop.
        error: Why it failed, if it did.
        created_at: Unix time.
        updated_at: Unix time of the last progress.
    """

    id: str
    kind: str
    actor: str
    reason: str
    params: dict[str, Any]
    total: int
    done: int
    replayed: int
    status: str
    stop_requested: bool = False
    error: Optional[str] = None
    created_at: float = 0.0
    updated_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data.

        Returns:
            A dict of the fields.
        """
        return asdict(self)
