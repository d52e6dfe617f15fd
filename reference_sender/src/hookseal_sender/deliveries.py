"""The delivery log: read a tenant's deliveries, replay, cancel, follow and purge them."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any, Callable, Optional

from . import _inputs as inputs
from ._inputs import MAX_ACTOR, MAX_BULK_REPLAY, MAX_NAME, MAX_PAGE, MAX_REASON
from .audit import AuditLog
from .config import SenderConfig
from .endpoints import EndpointService
from .errors import ConflictError, InvalidRequestError, NotFoundError
from .models import Delivery, DeliveryFilter
from .storage import Store
from .storage.base import MAX_PURGE_BATCH_SIZE, PURGE_BATCH_SIZE, PurgeProgress

__all__ = ["DeliveryService"]


class DeliveryService:
    """A tenant's deliveries: the log, replays (audited, rate-limited), cancels, purges.

    Args:
        store: The store.
        config: The sender's configuration (the facade replaces it when its own changes).
        endpoints: Finds a tenant's endpoints (an unknown one is refused).
        audit: Records replays and cancels.
        wake: Wakes this process's workers (after a replay).
    """

    def __init__(self, store: Store, config: SenderConfig, endpoints: EndpointService,
                 audit: AuditLog, wake: Callable[[], None]) -> None:
        self.store = store
        self.config = config
        self.endpoints = endpoints
        self.audit = audit
        self.wake = wake

    def get_delivery(self, tenant_id: str, delivery_id: str) -> Delivery:
        """One delivery with every attempt and its body.

        Args:
            tenant_id: The tenant.
            delivery_id: The delivery.

        Returns:
            The delivery.

        Raises:
            InvalidRequestError: An id no delivery can have.
            NotFoundError: No such delivery for this tenant.
        """
        inputs.check_name(tenant_id, "tenant")
        inputs.check_text(delivery_id, "delivery_id", MAX_NAME)
        d = self.store.get_delivery(tenant_id, delivery_id)
        if d is None:
            raise NotFoundError(f"delivery {delivery_id} not found")
        return d

    def list_deliveries(
        self, tenant_id: str, flt: Optional[DeliveryFilter] = None, *, limit: int = 50,
        before: Optional[str] = None,
    ) -> list[Delivery]:
        """A tenant's deliveries, newest first, one page.

        Args:
            tenant_id: The tenant.
            flt: Filters by endpoint, type, status, time range.
            limit: Page size (at most 500).
            before: Cursor: the last id of the previous page.

        Returns:
            The page.

        Raises:
            InvalidRequestError: The tenant is not a name, or a bad filter or cursor.
        """
        inputs.check_name(tenant_id, "tenant")
        flt = flt or DeliveryFilter()
        inputs.check_filter(flt)
        if before is not None:
            inputs.check_text(before, "before", MAX_NAME)
        return self.store.list_deliveries(tenant_id, flt, limit=max(1, min(limit, MAX_PAGE)),
                                          before=before)

    def replay(self, tenant_id: str, delivery_id: str, *, actor: str = "api",
               reason: str = "") -> Delivery:
        """Send a finished delivery again (same delivery id, freshly signed).

        Args:
            tenant_id: The tenant.
            delivery_id: The delivery.
            actor: Who (audit log).
            reason: Why (audit log).

        Returns:
            The delivery, pending again.

        Raises:
            ConflictError: It is still pending or in flight.
        """
        # Checked first: the audit entry is written after the replay, too late to refuse it.
        inputs.check_name(actor, "actor", MAX_ACTOR)
        inputs.check_text(reason, "reason", MAX_REASON, multiline=True)
        d = self.get_delivery(tenant_id, delivery_id)
        if not self.store.replay(tenant_id, [delivery_id], time.time(), 0.0):
            raise ConflictError(f"delivery {delivery_id} is {d.status}; nothing to replay")
        self.audit.record(tenant_id, actor, "replay", reason, {"delivery_ids": [delivery_id]})
        self.wake()
        return self.get_delivery(tenant_id, delivery_id)

    def replay_bulk(
        self, tenant_id: str, flt: DeliveryFilter, *, confirm: bool = False,
        actor: str = "api", reason: str = "", include_ids: bool = False,
        limit: Optional[int] = None,
    ) -> dict[str, Any]:
        """Replay the finished deliveries matching a filter, oldest first, rate-limited.

        Without ``confirm`` nothing changes and the counts are returned (the confirmation
        step): how many match, and how many would be replayed (``selected``: at most
        ``limit``). Replays are spaced ``1 / config.replay_rate`` seconds apart, so a bulk
        replay never floods an endpoint.

        Args:
            tenant_id: The tenant.
            flt: Which deliveries (statuses default to failed and dead-lettered).
            confirm: Actually replay.
            actor: Who (audit log).
            reason: Why (audit log).
            include_ids: Also return the selected delivery ids under ``"ids"`` (to follow
                them with :meth:`delivery_status_counts`). A selected delivery that went
                live meanwhile is not replayed but still listed: it finishes too.
            limit: Replay at most this many (1 to :data:`MAX_BULK_REPLAY`), the oldest;
                ``None``: all that match, if no more than :data:`MAX_BULK_REPLAY` do.

        Returns:
            ``{"matched": n, "more_match": bool, "selected": n, "limit": n or None,
            "replayed": n, "confirmed": bool, "rate_per_s": r}``, plus ``"ids"`` if asked
            for. ``matched`` counts at most :data:`MAX_BULK_REPLAY` (``more_match`` says
            there were more).

        Raises:
            InvalidRequestError: A bad filter, reason or limit, or more than
                :data:`MAX_BULK_REPLAY` match and no limit was given.
        """
        inputs.check_name(tenant_id, "tenant")
        inputs.check_name(actor, "actor", MAX_ACTOR)
        inputs.check_text(reason, "reason", MAX_REASON, multiline=True)
        inputs.check_filter(flt)
        inputs.check_replay_limit(limit)
        if flt.status is None:
            flt = dataclasses.replace(flt, status=["failed", "dead_lettered"])
        if any(s in ("pending", "delivering") for s in flt.status or ()):
            raise InvalidRequestError("only finished deliveries can be replayed")
        ids = self.store.select_ids(tenant_id, flt, MAX_BULK_REPLAY + 1)
        matched = len(ids)
        if limit is None and matched > MAX_BULK_REPLAY:
            raise InvalidRequestError(f"more than {MAX_BULK_REPLAY} deliveries match; narrow "
                                      "the filter or give a limit")
        ids = ids[:MAX_BULK_REPLAY if limit is None else limit]
        out: dict[str, Any] = {"matched": min(matched, MAX_BULK_REPLAY),
                               "more_match": matched > MAX_BULK_REPLAY,
                               "selected": len(ids), "limit": limit, "replayed": 0,
                               "confirmed": confirm, "rate_per_s": self.config.replay_rate}
        if include_ids:
            out["ids"] = ids
        if confirm and ids:
            out["replayed"] = self.store.replay(tenant_id, ids, time.time(),
                                                1.0 / self.config.replay_rate)
            self.audit.record(tenant_id, actor, "bulk_replay", reason,
                              {"filter": flt.__dict__, "count": out["replayed"]})
            self.wake()
        return out

    def cancel(self, tenant_id: str, *, endpoint_id: Optional[str] = None,
               delivery_ids: Optional[Sequence[str]] = None, actor: str = "api",
               reason: str = "") -> int:
        """Cancel pending deliveries of an endpoint, or these deliveries.

        Args:
            tenant_id: The tenant.
            endpoint_id: Cancel this endpoint's pending deliveries.
            delivery_ids: Or these.
            actor: Who (audit log).
            reason: Why (audit log).

        Returns:
            How many were cancelled.

        Raises:
            InvalidRequestError: Neither an endpoint nor ids given, ``delivery_ids`` is not
                a list, or the tenant, the endpoint, an id or the reason is too long or
                holds a control character or a lone surrogate (nothing is cancelled).
            NotFoundError: No such endpoint for this tenant.
        """
        if endpoint_id is None and delivery_ids is None:
            raise InvalidRequestError("give an endpoint or delivery ids")
        # All checked before any query: PostgreSQL cannot even compare a string holding
        # NUL, and no store can encode a lone surrogate (both were untyped errors).
        inputs.check_name(tenant_id, "tenant")
        if endpoint_id is not None:
            inputs.check_text(endpoint_id, "endpoint_id", MAX_NAME)
        if delivery_ids is not None:
            if not isinstance(delivery_ids, Sequence):
                raise InvalidRequestError("delivery_ids must be a list of delivery ids")
            delivery_ids = inputs.check_ids(delivery_ids)
        inputs.check_name(actor, "actor", MAX_ACTOR)
        inputs.check_text(reason, "reason", MAX_REASON, multiline=True)
        if endpoint_id is not None:
            self.endpoints.get_endpoint(tenant_id, endpoint_id)
        n = self.store.cancel(tenant_id, DeliveryFilter(endpoint_id=endpoint_id),
                              list(delivery_ids) if delivery_ids is not None else None)
        self.audit.record(tenant_id, actor, "cancel", reason,
                          {"endpoint_id": endpoint_id, "delivery_ids": list(delivery_ids or []),
                           "count": n})
        return n

    def delivery_status_counts(
        self, tenant_id: str, delivery_ids: Sequence[str],
    ) -> dict[str, int]:
        """How many of these deliveries are in each status (to follow a replay).

        Only the tenant's deliveries are counted: another tenant's ids count as nothing.

        Args:
            tenant_id: The tenant.
            delivery_ids: The deliveries.

        Returns:
            ``{status: count}``, e.g. ``{"pending": 2, "delivered": 7}``.

        Raises:
            InvalidRequestError: No tenant given (or not a name), or an id no delivery can
                have.
        """
        inputs.check_name(tenant_id, "tenant")
        return self.store.status_counts(tenant_id, inputs.check_ids(delivery_ids))

    def purge(
        self, *, older_than_days: Optional[float] = None, batch_size: int = PURGE_BATCH_SIZE,
        on_progress: Optional[PurgeProgress] = None,
    ) -> int:
        """Delete finished deliveries older than the retention (default 30 days).

        Deletes in transactions of ``batch_size`` deliveries (with their attempts), then
        the events left without deliveries, so enqueues and workers keep running while a
        large backlog is purged.

        Args:
            older_than_days: Override the configured retention.
            batch_size: Most deliveries deleted per transaction (1 to 10,000).
            on_progress: Called as ``on_progress(done, total)`` with the deliveries
                deleted so far and the number that matched when the purge started.

        Returns:
            Deliveries deleted.

        Raises:
            InvalidRequestError: ``batch_size`` is out of range.
        """
        inputs.check_batch_size(batch_size, MAX_PURGE_BATCH_SIZE)
        days = self.config.retention_days if older_than_days is None else older_than_days
        return self.store.purge(time.time() - days * 86400, batch_size=batch_size,
                                on_progress=on_progress)
