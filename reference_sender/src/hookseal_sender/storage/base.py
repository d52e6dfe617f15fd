"""The storage interface every backend implements."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Callable, Optional

from ..models import (
    AttemptResult,
    AuditEntry,
    Claimed,
    Delivery,
    DeliveryFilter,
    Endpoint,
    EndpointKey,
)

#: Deliveries one purge transaction deletes (with their attempts) by default.
PURGE_BATCH_SIZE = 5_000
#: The largest purge batch (bounds the transaction and the statement's parameters).
MAX_PURGE_BATCH_SIZE = 10_000

#: ``on_progress(done, total)``: deliveries deleted so far, deliveries to delete.
PurgeProgress = Callable[[int, int], None]


class Store(abc.ABC):
    """Durable state of a sender: endpoints, keys, events, deliveries, attempts, audit.

    Every read and change that a customer can cause takes a ``tenant_id`` and only sees
    that tenant's rows. Methods taking ``conn`` join the caller's open transaction (the
    outbox pattern) and then neither begin nor commit.
    """

    #: ``sqlite`` or ``postgresql``.
    dialect: str = ""

    def unavailable(self, exc: BaseException) -> bool:
        """Whether ``exc`` means the database cannot be reached (a lost connection, a
        server that is down or restarting), as opposed to a bad request or a bug.

        Callers wait and retry such errors: the store reconnects by itself.

        Args:
            exc: An error raised by one of this store's methods.

        Returns:
            True for the driver's connection errors (none on SQLite, a local file).
        """
        return False

    @abc.abstractmethod
    def migrate(self) -> None:
        """Create the schema (idempotent)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close this thread's connections."""

    @abc.abstractmethod
    def check_master_key(self) -> bool:
        """Check that the master key decrypts the secrets already stored.

        Returns:
            ``True`` if the store holds encrypted secrets (and the newest decrypts),
            ``False`` if it holds none yet.

        Raises:
            ConfigError: The stored secrets were encrypted with another master key.
        """

    @abc.abstractmethod
    def transaction(self, conn: Any = None) -> AbstractContextManager[Any]:
        """A write transaction, or the caller's own when ``conn`` is given.

        Args:
            conn: The caller's connection with its transaction open, or ``None``.

        Returns:
            A context manager yielding the connection to use.
        """

    # endpoints -------------------------------------------------------------
    @abc.abstractmethod
    def insert_endpoint(self, endpoint: Endpoint, keys: Sequence[EndpointKey]) -> None:
        """Insert an endpoint with its (plaintext) keys, which the store encrypts."""

    @abc.abstractmethod
    def get_endpoint(self, tenant_id: Optional[str], endpoint_id: str) -> Optional[Endpoint]:
        """One endpoint; ``tenant_id=None`` only for workers (internal use)."""

    @abc.abstractmethod
    def list_endpoints(self, tenant_id: str, *, include_deleted: bool = False) -> list[Endpoint]:
        """A tenant's endpoints, oldest first."""

    @abc.abstractmethod
    def update_endpoint(self, tenant_id: Optional[str], endpoint_id: str, **fields: Any) -> bool:
        """Change fields of an endpoint; returns whether it exists (for that tenant)."""

    @abc.abstractmethod
    def subscribed_endpoints(self, conn: Any, tenant_id: str, event_type: str) -> list[str]:
        """Ids of a tenant's active or paused endpoints subscribed to a type."""

    @abc.abstractmethod
    def keys(self, endpoint_id: str, *, now: Optional[float] = None) -> list[EndpointKey]:
        """An endpoint's keys, decrypted; only those still signing at ``now`` if given."""

    @abc.abstractmethod
    def rotate_keys(
        self, endpoint_id: str, new_keys: Sequence[EndpointKey], expires_at: float,
    ) -> None:
        """Add keys and make the same kinds' current keys expire at ``expires_at``."""

    # events and deliveries ------------------------------------------------
    @abc.abstractmethod
    def insert_event(
        self, conn: Any, event_id: str, tenant_id: str, event_type: str, payload: str,
        deliveries: Sequence[tuple[str, str]], now: float,
    ) -> None:
        """Insert an event and its ``(delivery_id, endpoint_id)`` deliveries."""

    @abc.abstractmethod
    def insert_event_for_subscribers(
        self, conn: Any, event_id: str, tenant_id: str, event_type: str, payload: str,
        now: float,
    ) -> list[tuple[str, str]]:
        """Insert an event and a new delivery for each endpoint of the tenant subscribed to
        its type; returns the ``(delivery_id, endpoint_id)`` pairs."""

    @abc.abstractmethod
    def claim(
        self, owner: str, limit: int, now: float, lease_until: float,
        exclude_endpoints: Sequence[str] = (),
    ) -> list[Claimed]:
        """Lease up to ``limit`` due deliveries (pending, or with an expired lease)."""

    @abc.abstractmethod
    def claim_probe(self, owner: str, endpoint_id: str, now: float,
                    lease_until: float) -> list[Claimed]:
        """Lease one due delivery of an endpoint for a circuit breaker's probe: a due
        retry if there is one (oldest first), else the oldest due delivery."""

    @abc.abstractmethod
    def release(self, owner: str, delivery_ids: Sequence[str], at: float) -> None:
        """Give leased deliveries back, due at ``at``, without an attempt."""

    @abc.abstractmethod
    def complete(self, owner: str, results: Sequence[AttemptResult], now: float) -> list[str]:
        """Record attempts and new states; returns ids whose lease was lost meanwhile."""

    @abc.abstractmethod
    def endpoint_health(
        self, succeeded: Sequence[str], failed: Sequence[str], now: float,
    ) -> dict[str, float]:
        """Track failing streaks; returns ``failing_since`` of the failed endpoints."""

    @abc.abstractmethod
    def get_delivery(
        self, tenant_id: Optional[str], delivery_id: str, *, detail: bool = True,
    ) -> Optional[Delivery]:
        """One delivery with its attempts and payload."""

    @abc.abstractmethod
    def list_deliveries(
        self, tenant_id: str, flt: DeliveryFilter, *, limit: int = 50,
        before: Optional[str] = None,
    ) -> list[Delivery]:
        """A tenant's deliveries, newest first, paged by id (``before`` is a cursor)."""

    @abc.abstractmethod
    def replay(
        self, tenant_id: str, delivery_ids: Sequence[str], start: float, interval: float,
    ) -> int:
        """Make finished deliveries pending again, spaced ``interval`` apart."""

    @abc.abstractmethod
    def select_ids(self, tenant_id: str, flt: DeliveryFilter, limit: int) -> list[str]:
        """Ids of a tenant's deliveries matching a filter, oldest first."""

    @abc.abstractmethod
    def cancel(self, tenant_id: Optional[str], flt: DeliveryFilter,
               delivery_ids: Optional[Sequence[str]] = None, *,
               owner: Optional[str] = None) -> int:
        """Cancel pending deliveries matching a filter (or these ids); leased ones only if
        ``owner`` holds them."""

    @abc.abstractmethod
    def resume_endpoint_deliveries(self, endpoint_id: str, now: float) -> int:
        """Make an endpoint's pending deliveries due now (after a pause)."""

    @abc.abstractmethod
    def status_counts(self, tenant_id: str, delivery_ids: Sequence[str]) -> dict[str, int]:
        """How many of these deliveries of the tenant are in each status (others' unseen)."""

    @abc.abstractmethod
    def purge(
        self, before: float, *, batch_size: int = PURGE_BATCH_SIZE,
        on_progress: Optional[PurgeProgress] = None,
    ) -> int:
        """Delete finished deliveries (and their attempts, orphaned events) older than this.

        Works in transactions of at most ``batch_size`` deliveries, so writers (enqueues,
        workers) wait for one batch at most; ``on_progress(done, total)`` is called after
        each committed batch.
        """

    @abc.abstractmethod
    def queue_depth(self) -> int:
        """Deliveries pending or in flight."""

    @abc.abstractmethod
    def failing_endpoints(self) -> list[tuple[str, str, float]]:
        """``(endpoint_id, tenant_id, failing_since)`` of the active endpoints now failing."""

    @abc.abstractmethod
    def add_audit(self, entry: AuditEntry) -> None:
        """Append to the audit log."""

    @abc.abstractmethod
    def list_audit(self, tenant_id: str, limit: int = 100) -> list[AuditEntry]:
        """A tenant's audit log, newest first."""

    def maintenance(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """Periodic housekeeping run by workers off the enqueue path (default: none)."""

    def iter_all_tenants(self) -> Iterator[str]:  # pragma: no cover - optional
        """Tenants with endpoints (for operator tooling)."""
        return iter(())
