"""Replay with a corrected payload: an event's data fixed by the provider, sent again.

The corrected event keeps its id (receivers that deduplicate by id see the same event,
and may treat the new body as its latest version), its type, creation time and
``livemode``; only ``data`` (and the schema ``version`` it follows) changes. The body it
replaces is kept as an :class:`~hookseal_sender.records.EventRevision`, and each delivery
of the event then shows ``corrected`` with the original body.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable

from . import _inputs as inputs
from ._inputs import MAX_ACTOR, MAX_BULK_REPLAY, MAX_NAME, MAX_REASON
from .audit import AuditLog
from .catalog import Validator
from .errors import ConflictError, InvalidRequestError, NotFoundError
from .models import DeliveryFilter, new_id
from .outbox import envelope
from .records import EventRevision
from .storage import Store

__all__ = ["CorrectedReplay", "CorrectionService"]


@dataclass(frozen=True)
class CorrectedReplay:
    """What a replay with a corrected payload did.

    Attributes:
        event_id: The event (its id is unchanged).
        revision_id: The revision keeping the body it replaced.
        delivery_ids: Every delivery of the event: each sends the corrected body next.
        replayed: How many finished deliveries were queued again (pending ones were
            not finished: their next attempt sends the corrected body).
        payload: The corrected body.
    """

    event_id: str
    revision_id: str
    delivery_ids: list[str]
    replayed: int
    payload: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (the body is left out: read it from a delivery).

        Returns:
            A dict of the fields but ``payload``.
        """
        return {"event_id": self.event_id, "revision_id": self.revision_id,
                "delivery_ids": list(self.delivery_ids), "replayed": self.replayed}


class CorrectionService:
    """Corrects an event's data and delivers it again, audited.

    Args:
        store: The store.
        audit: Records each correction (who, why, which deliveries).
        validator: Validates the corrected data (the event catalog).
        wake: Wakes this process's workers.
    """

    def __init__(self, store: Store, audit: AuditLog, validator: Validator,
                 wake: Callable[[], None]) -> None:
        self.store = store
        self.audit = audit
        self.validator = validator
        self.wake = wake

    def replay_corrected(self, tenant_id: str, event_id: str, data: Any, *,
                         actor: str = "api", reason: str) -> CorrectedReplay:
        """Replace an event's ``data`` with a corrected one and deliver it again.

        The data is validated against the catalog (for the event's type) before anything
        changes. Then, in one transaction, the event's body becomes the corrected envelope
        (same id, type, ``created`` and ``livemode``) and the old body is kept as a
        revision; every finished delivery of the event (delivered ones too) is queued
        again, and pending ones send the corrected body at their next attempt. The audit
        log records who, why, the revision and the deliveries.

        Args:
            tenant_id: The tenant.
            event_id: The event to correct.
            data: The corrected ``data``.
            actor: Who (audit log).
            reason: Why (required: audit log).

        Returns:
            The revision and the deliveries.

        Raises:
            InvalidRequestError: No reason, a bad id, actor or reason, or the data is the
                same as the event's current data.
            InvalidEventDataError: The data does not validate against the catalog.
            NotFoundError: The tenant has no such event.
            ConflictError: A delivery of the event is being attempted right now (try
                again in a moment: its answer decides what it is).
        """
        inputs.check_name(tenant_id, "tenant")
        inputs.check_text(event_id, "event_id", MAX_NAME)
        inputs.check_name(actor, "actor", MAX_ACTOR)
        inputs.check_text(reason, "reason", MAX_REASON, multiline=True)
        if not reason.strip():
            raise InvalidRequestError("a replay with a corrected payload needs a reason")
        event = self.store.get_event(tenant_id, event_id)
        if event is None:
            raise NotFoundError(f"event {event_id} not found")
        version = self.validator(event.type, data)
        current = json.loads(event.payload)
        payload = envelope(event.id, event.type, data, float(current.get("created",
                                                                           event.created_at)),
                           version=version, livemode=bool(current.get("livemode", True)))
        if current.get("data") == data:
            raise InvalidRequestError("the corrected data is the same as the event's data")
        rows = self.store.select_for_replay(tenant_id, DeliveryFilter(event_id=event_id),
                                            MAX_BULK_REPLAY)
        ids = [d for d, _ in rows]
        if self.store.status_counts(tenant_id, ids).get("delivering"):
            raise ConflictError(f"a delivery of {event_id} is being attempted now; "
                                "try again in a moment")
        now = time.time()
        revision_id = new_id("rev")
        if not self.store.correct_event(tenant_id, event_id, payload, revision_id, actor,
                                        reason, now):
            raise NotFoundError(f"event {event_id} not found")
        replayed = self.store.replay(tenant_id, ids, now, 0.0)
        self.audit.record(tenant_id, actor, "corrected_replay", reason,
                          {"event_id": event_id, "revision_id": revision_id,
                           "delivery_ids": ids, "replayed": replayed})
        self.wake()
        return CorrectedReplay(event_id, revision_id, ids, replayed, payload)

    def revisions(self, tenant_id: str, event_id: str) -> list[EventRevision]:
        """The bodies an event had before each correction, oldest first.

        Args:
            tenant_id: The tenant.
            event_id: The event.

        Returns:
            The revisions (the first holds the original body).

        Raises:
            InvalidRequestError: A bad tenant or id.
        """
        inputs.check_name(tenant_id, "tenant")
        inputs.check_text(event_id, "event_id", MAX_NAME)
        return self.store.event_revisions(tenant_id, event_id)
