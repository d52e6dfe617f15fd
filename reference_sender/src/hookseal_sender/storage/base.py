"""The storage interface every backend implements."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple, Optional

from ..models import (
    Attempt,
    AttemptResult,
    AuditEntry,
    Batch,
    Claimed,
    ClaimedBatch,
    Delivery,
    DeliveryFilter,
    Endpoint,
    EndpointKey,
    Gathered,
)
from ..records import AdminJob, EventRevision, StoredEvent

#: Deliveries one purge transaction deletes (with their attempts) by default.
PURGE_BATCH_SIZE = 5_000
#: The largest purge batch (bounds the transaction and the statement's parameters).
MAX_PURGE_BATCH_SIZE = 10_000

#: ``on_progress(done, total)``: deliveries deleted so far, deliveries to delete.
PurgeProgress = Callable[[int, int], None]

#: One attempt of :meth:`Statistics.period_attempts`: ``(endpoint_id, at, number,
#: outcome, status_code, latency_ms)``.
PeriodAttempt = tuple[str, float, int, str, Optional[int], float]


@dataclass(frozen=True)
class DeliveryPage:
    """One page of the delivery log, newest first.

    Attributes:
        deliveries: The page.
        older: Cursor for the next (older) page, or ``None`` at the end.
        newer: Cursor for the previous (newer) page, or ``None`` on the first page.
    """

    deliveries: list[Delivery]
    older: Optional[str]
    newer: Optional[str]


class AttemptSample(NamedTuple):
    """One recorded attempt, as the health figures read it.

    Attributes:
        at: Unix time of the attempt.
        outcome: ``delivered``, ``retry``, ... (see :mod:`hookseal_sender.outcome`).
        status_code: The HTTP status, or ``None`` when nothing answered.
        latency_ms: How long it took.
    """

    at: float
    outcome: str
    status_code: Optional[int]
    latency_ms: float


class BreakerRow(NamedTuple):
    """An endpoint's circuit breaker as the store holds it for every worker
    (:meth:`Store.breakers`).

    Attributes:
        endpoint_id: The endpoint.
        state: ``open`` or ``half_open`` (a worker took the probe).
        open_until: Unix time when a probe may be taken (``open``), or when the probe's
            right lapses if its taker has not reported (``half_open``).
        opened_by: The worker (lease token) that opened it last.
        probed_by: The worker that took the probe, while half-open.
        updated_at: Unix time of the last change.
    """

    endpoint_id: str
    state: str
    open_until: float
    opened_by: str
    probed_by: Optional[str]
    updated_at: float


class IdempotencyRecord(NamedTuple):
    """The send that first used an idempotency key, as :meth:`Store.claim_idempotency_key`
    finds it.

    Attributes:
        event_id: Its event.
        fingerprint: The hash of its type and data (see :mod:`hookseal_sender._idempotency`).
        deliveries: Its ``(delivery_id, endpoint_id)`` pairs.
        payload: Its body, or ``""`` if the event was purged meanwhile.
    """

    event_id: str
    fingerprint: str
    deliveries: list[tuple[str, str]]
    payload: str


@dataclass(frozen=True)
class AttemptFigures:
    """Exact counts and latency of a set of attempts (no sampling).

    Attributes:
        attempts: Attempts counted.
        delivered: Of those, answered 2xx (outcome ``delivered``).
        answered: Of those, answered with any HTTP status (the latency figures' base).
        latency_p50_ms: Median latency of the answered attempts, or ``None``.
        latency_p95_ms: 95th percentile latency of the answered attempts, or ``None``.
        last_attempt_at: Unix time of the latest attempt counted, or ``None``.
    """

    attempts: int
    delivered: int
    answered: int
    latency_p50_ms: Optional[float]
    latency_p95_ms: Optional[float]
    last_attempt_at: Optional[float]


@dataclass(frozen=True)
class FailureCount:
    """The most common way attempts failed.

    Attributes:
        status_code: The HTTP status answered, or ``None`` when nothing answered.
        error: The error recorded (``timeout``, ...) when nothing answered, else ``None``.
        attempts: How many failed attempts ended this way.
    """

    status_code: Optional[int]
    error: Optional[str]
    attempts: int


@dataclass(frozen=True)
class DeliveryFigures:
    """What became of a tenant's deliveries created in a period (see
    :meth:`Statistics.delivery_figures`).

    Attributes:
        since: Start of the period (included).
        until: End of the period (excluded).
        deliveries: Deliveries created in the period.
        recent_since: Start of the shorter period counted in :attr:`recent`, or ``None``.
        recent: Of :attr:`deliveries`, those created at or after :attr:`recent_since`.
        delivered_first: Delivered on their first attempt (one attempt in all).
        delivered_retried: Delivered after more than one attempt.
        failed: Failed or dead-lettered (given up on).
        in_progress: Pending or being delivered now.
        cancelled: Cancelled before they were delivered.
        attempts: The attempts made for these deliveries, counted exactly.
        top_failure: The most common failure among those attempts, or ``None``.
    """

    since: float
    until: float
    deliveries: int
    recent_since: Optional[float]
    recent: int
    delivered_first: int
    delivered_retried: int
    failed: int
    in_progress: int
    cancelled: int
    attempts: AttemptFigures
    top_failure: Optional[FailureCount]


@dataclass(frozen=True)
class TenantCounts:
    """A tenant's deliveries created in a period, by what became of them.

    Attributes:
        tenant_id: The tenant.
        deliveries: Deliveries created in the period.
        delivered: Of those, delivered now.
        dead_lettered: Of those, dead-lettered now.
    """

    tenant_id: str
    deliveries: int
    delivered: int
    dead_lettered: int


class BackfillRow(NamedTuple):
    """One event for :meth:`Store.backfill_events`, already validated.

    Attributes:
        event_id: Its own id (kept: the primary key that makes a backfill idempotent).
        tenant_id: The tenant whose subscribed endpoints receive it.
        event_type: The event type.
        payload: The envelope (JSON text) every delivery sends.
        created: Unix time the event was created (kept from the source).
    """

    event_id: str
    tenant_id: str
    event_type: str
    payload: str
    created: float


class EndpointAttempts(NamedTuple):
    """An endpoint's attempts in a period (:meth:`Store.recent_attempts_by_endpoint`).

    Attributes:
        tenant_id: The tenant.
        endpoint_id: The endpoint.
        attempts: Attempts made.
        failures: Of those, not delivered.
        last_attempt_at: The newest attempt's time.
        last_delivered_at: The newest delivered attempt's time, or ``None``.
    """

    tenant_id: str
    endpoint_id: str
    attempts: int
    failures: int
    last_attempt_at: float
    last_delivered_at: Optional[float]


class StaleEndpoint(NamedTuple):
    """An endpoint attempted but not delivered to for a long time.

    Attributes:
        endpoint_id: The endpoint.
        tenant_id: The tenant.
        last_attempted_at: Its newest attempt's time.
        last_delivered_at: Its newest delivery's time, or ``None`` if none was seen.
    """

    endpoint_id: str
    tenant_id: str
    last_attempted_at: float
    last_delivered_at: Optional[float]


class Statistics(abc.ABC):
    """The aggregate reads of a :class:`Store`: the portal's endpoint health and the
    periodic review (:mod:`hookseal_sender.review`). Periods run from ``since``
    (included) to ``until`` (excluded), in Unix time."""

    @abc.abstractmethod
    def recent_attempts(
        self, tenant_id: str, endpoint_id: str, since: float, *, created_since: float,
        sample: int,
    ) -> list[AttemptSample]:
        """A tenant endpoint's attempts made since ``since``, newest first, among its
        latest ``sample`` deliveries created since ``created_since`` (a bounded read
        however large the log is)."""

    @abc.abstractmethod
    def period_attempts(self, since: float, until: float) -> Iterator[PeriodAttempt]:
        """Every attempt made in the period, all tenants, streamed (not held in memory)."""

    @abc.abstractmethod
    def deliveries_per_day(self, since: float, until: float) -> dict[int, tuple[int, int]]:
        """UTC day number (Unix time // 86400) to ``(deliveries, dead_lettered)`` of the
        deliveries created in the period."""

    @abc.abstractmethod
    def deliveries_per_tenant(self, since: float, until: float) -> list[TenantCounts]:
        """Each tenant with deliveries created in the period (in no particular order)."""

    @abc.abstractmethod
    def events_per_type(self, since: float, until: float) -> dict[str, tuple[int, int]]:
        """Event type to ``(events, routed)`` of the events created in the period;
        ``routed``: how many of them have a delivery."""

    @abc.abstractmethod
    def newest_key_times(self) -> dict[str, float]:
        """Endpoint id to when its newest key was created (endpoints with keys)."""

    @abc.abstractmethod
    def endpoint_attempt_figures(
        self, tenant_id: str, endpoint_id: str, since: float, *, created_since: float,
    ) -> AttemptFigures:
        """Every attempt to a tenant's endpoint made since ``since`` (of deliveries created
        since ``created_since``), counted exactly: how many, how many delivered, latency."""

    @abc.abstractmethod
    def delivery_figures(
        self, tenant_id: str, since: float, until: float, *, endpoint_id: Optional[str] = None,
        event_type: Optional[str] = None, recent_since: Optional[float] = None,
    ) -> DeliveryFigures:
        """What became of a tenant's deliveries created in the period (optionally of one
        endpoint or event type), their attempts' latency and most common failure."""


class Store(Statistics):
    """Durable state of a sender: endpoints, keys, events, deliveries, attempts, audit.

    Every read and change that a customer can cause takes a ``tenant_id`` and only sees
    that tenant's rows. Methods taking ``conn`` join the caller's open transaction (the
    outbox pattern) and then neither begin nor commit.
    """

    #: ``sqlite`` or ``postgresql`` (for messages and tests; code that behaves
    #: differently per backend reads a capability below instead).
    dialect: str = ""
    #: Whether writes on separate connections run at the same time (row locks, claims
    #: with ``SKIP LOCKED``) rather than one after another (SQLite's single writer).
    #: Workers give claims a connection of their own, and two claims in flight, if so.
    concurrent_writers: bool = False

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
    def all_endpoints(self) -> list[Endpoint]:
        """Every tenant's endpoints, deleted ones too, by id (operator tooling only)."""

    @abc.abstractmethod
    def update_endpoint(self, tenant_id: Optional[str], endpoint_id: str, **fields: Any) -> bool:
        """Change fields of an endpoint; returns whether it exists (for that tenant)."""

    @abc.abstractmethod
    def subscribed_endpoints(self, conn: Any, tenant_id: str, event_type: str,
                             payload: Optional[str] = None) -> list[str]:
        """Ids of a tenant's active or paused endpoints subscribed to a type (and, given the
        event's ``payload``, whose filter matches it)."""

    @abc.abstractmethod
    def keys(self, endpoint_id: str, *, now: Optional[float] = None) -> list[EndpointKey]:
        """An endpoint's keys, decrypted; only those still signing at ``now`` if given."""

    @abc.abstractmethod
    def rotate_keys(
        self, endpoint_id: str, new_keys: Sequence[EndpointKey], expires_at: float,
        kinds: Sequence[str] = (),
    ) -> None:
        """Add keys and make the same kinds' current keys (and those of ``kinds``) expire
        at ``expires_at``."""

    @abc.abstractmethod
    def take_send_slot(self, endpoint_id: str, interval: float, now: float,
                       horizon: float) -> tuple[Optional[float], float]:
        """Take an endpoint's next send slot if it starts within ``horizon`` of ``now``
        (rate limits, contract 4.3); returns ``(slot or None, next free slot)``."""

    @abc.abstractmethod
    def breakers(self) -> list[BreakerRow]:
        """The endpoints whose circuit breaker is open or half-open, for every worker
        (disabled and deleted endpoints left out)."""

    @abc.abstractmethod
    def open_breaker(self, endpoint_id: str, owner: str, now: float, until: float) -> None:
        """Open (or reopen) an endpoint's breaker for every worker until ``until``."""

    @abc.abstractmethod
    def take_breaker_probe(self, endpoint_id: str, owner: str, now: float,
                           until: float) -> bool:
        """Take the right to probe an endpoint whose open period ended, atomically (one
        taker of any number at once), half-open until ``until``; returns whether taken."""

    @abc.abstractmethod
    def close_breaker(self, endpoint_id: str) -> bool:
        """Close an endpoint's breaker for every worker; returns whether it was not closed."""

    @abc.abstractmethod
    def recent_events(self, tenant_id: str, limit: int,
                      since: float) -> list[tuple[str, str, float, str]]:
        """A tenant's newest events since a time: ``(id, type, created_at, payload)``."""

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
        its type whose filter matches the payload; returns the ``(delivery_id,
        endpoint_id)`` pairs."""

    @abc.abstractmethod
    def claim_idempotency_key(
        self, conn: Any, tenant_id: str, key: str, event_id: str, fingerprint: str,
        now: float, expired_before: float,
    ) -> Optional[IdempotencyRecord]:
        """Take a tenant's idempotency key for a new event, in the caller's transaction.

        Atomic across processes: while another transaction holds the key it waits for it
        to end, then finds its row. A row created before ``expired_before`` is taken over
        as if it were not there.

        Returns:
            ``None`` if the key is now this event's (insert the event, then call
            :meth:`record_idempotency_deliveries`), else the send that holds it.
        """

    @abc.abstractmethod
    def record_idempotency_deliveries(
        self, conn: Any, tenant_id: str, key: str, deliveries: Sequence[tuple[str, str]],
    ) -> None:
        """Store the deliveries of the event that took the key, in the same transaction."""

    @abc.abstractmethod
    def purge_idempotency_keys(self, before: float, *,
                               batch_size: int = PURGE_BATCH_SIZE) -> int:
        """Delete idempotency keys created before ``before``, every tenant's, in short
        transactions of about ``batch_size``; returns how many (the retention job)."""

    @abc.abstractmethod
    def order_event(self, conn: Any, event_id: str, order_key: str) -> int:
        """Number an event's deliveries to ordered endpoints (contract 4.5) in the caller's
        transaction: each gets the next sequence number of its endpoint and key."""

    @abc.abstractmethod
    def claim(
        self, owner: str, limit: int, now: float, lease_until: float,
        exclude_endpoints: Sequence[str] = (), per_endpoint: Optional[int] = None,
        each: Optional[int] = None,
    ) -> list[Claimed]:
        """Lease up to ``limit`` due deliveries (pending, or with an expired lease).

        With ``per_endpoint``, a store whose queue several worker processes share
        (:attr:`concurrent_writers`) leases no endpoint more than that many deliveries at
        once, counting every worker's unexpired leases: since a worker sends only what it
        leased, that caps each endpoint's attempts in flight across all of them. A store
        with one worker process ignores it (the worker's own limit holds).

        With ``each``, this claim leases at most that many deliveries of any one endpoint
        (what the worker has room for per endpoint), so it brings no rows it would have
        to give back."""

    @abc.abstractmethod
    def claim_probe(self, owner: str, endpoint_id: str, now: float,
                    lease_until: float, per_endpoint: Optional[int] = None) -> list[Claimed]:
        """Lease one due delivery of an endpoint for a circuit breaker's probe: a due
        retry if there is one (oldest first), else the oldest due delivery, parked ones
        (their breaker open) included (``per_endpoint`` as for :meth:`claim`)."""

    @abc.abstractmethod
    def release(self, owner: str, delivery_ids: Sequence[str], at: float) -> None:
        """Give leased deliveries back, due at ``at``, without an attempt."""

    @abc.abstractmethod
    def renew(self, owner: str, delivery_ids: Sequence[str], lease_until: float) -> list[str]:
        """Extend the leases ``owner`` still holds to ``lease_until``; returns their ids."""

    @abc.abstractmethod
    def park(self, owner: str, delivery_ids: Sequence[str], now: float, at: float) -> int:
        """Give leased deliveries back parked if their endpoint's breaker is open or
        half-open in the store (no plain claim reads them until it closes, which makes
        them due at ``now``), else due at ``at``; returns how many were parked."""

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
    def page_deliveries(
        self, tenant_id: str, flt: DeliveryFilter, *, limit: int = 50,
        before: Optional[str] = None, after: Optional[str] = None,
    ) -> DeliveryPage:
        """A page of a tenant's deliveries, newest first, with cursors both ways:
        ``before`` (older than this id) or ``after`` (newer than this id)."""

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

    # backfill ---------------------------------------------------------------
    @abc.abstractmethod
    def backfill_events(
        self, rows: Sequence[BackfillRow], now: float,
    ) -> list[Optional[list[tuple[str, str]]]]:
        """Insert each event unless its id is stored, with deliveries (due ``now``) to its
        tenant's subscribed endpoints, in one transaction; per row the
        ``(delivery_id, endpoint_id)`` pairs written or ``None`` if it was there."""

    @abc.abstractmethod
    def stored_event_ids(self, event_ids: Sequence[str]) -> set[str]:
        """Which of these event ids are stored already."""

    @abc.abstractmethod
    def subscriber_counts(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """How many endpoints an event of each ``(tenant, type)`` would go to now."""

    # owner alerts -----------------------------------------------------------
    @abc.abstractmethod
    def open_owner_alert(self, kind: str, subject: str, tenant_id: str, episode: str,
                         now: float) -> bool:
        """Open an alert episode unless it is open; ``True`` for exactly one caller."""

    @abc.abstractmethod
    def close_owner_alert(self, kind: str, subject: str, now: float) -> bool:
        """End an open alert episode; returns whether one was open."""

    @abc.abstractmethod
    def open_owner_alerts(self, kind: str) -> list[tuple[str, str, str]]:
        """``(subject, tenant_id, episode)`` of the open episodes of an alert."""

    @abc.abstractmethod
    def attempt_id_before(self, since: float) -> int:
        """A row id after which the attempts are those made since ``since`` (attempts are
        written in about the order they are made); 0 if none is older."""

    @abc.abstractmethod
    def recent_attempts_by_endpoint(self, after_id: int, since: float) -> list[EndpointAttempts]:
        """Per endpoint, all tenants: attempts made since ``since`` with a row id above
        ``after_id`` (operator tooling)."""

    @abc.abstractmethod
    def record_endpoint_activity(self, rows: Sequence[EndpointAttempts], now: float) -> None:
        """Move endpoints' last-attempted and last-delivered times forward."""

    @abc.abstractmethod
    def stale_endpoints(self, before: float) -> list[StaleEndpoint]:
        """Active endpoints attempted but not delivered to since ``before`` (tracked,
        created and last changed before it)."""
    # operator tooling (the admin console) ----------------------------------
    @abc.abstractmethod
    def search_deliveries(
        self, tenant_id: Optional[str], flt: DeliveryFilter, *, limit: int = 50,
        before: Optional[str] = None, after: Optional[str] = None,
    ) -> DeliveryPage:
        """A page of deliveries as :meth:`page_deliveries` gives, of one tenant or, with
        ``tenant_id=None``, of every tenant (operator tooling only: never reachable by a
        customer)."""

    @abc.abstractmethod
    def select_for_replay(self, tenant_id: Optional[str], flt: DeliveryFilter,
                          limit: int) -> list[tuple[str, str]]:
        """``(delivery_id, tenant_id)`` of the deliveries matching a filter, oldest first,
        of one tenant or every tenant (``None``; operator tooling only)."""

    @abc.abstractmethod
    def get_event(self, tenant_id: str, event_id: str) -> Optional[StoredEvent]:
        """One of a tenant's events as stored (body corrected if it was), or ``None``."""

    @abc.abstractmethod
    def correct_event(self, tenant_id: str, event_id: str, payload: str,
                      revision_id: str, actor: str, reason: str, now: float) -> bool:
        """Replace a tenant's event body, keeping the replaced body as a revision, in one
        transaction; returns whether the tenant has the event."""

    @abc.abstractmethod
    def event_revisions(self, tenant_id: str, event_id: str) -> list[EventRevision]:
        """The bodies a tenant's event had before each correction, oldest first."""

    @abc.abstractmethod
    def insert_job(self, job: AdminJob) -> None:
        """Record a new admin job."""

    @abc.abstractmethod
    def get_job(self, job_id: str) -> Optional[AdminJob]:
        """One admin job, or ``None``."""

    @abc.abstractmethod
    def list_jobs(self, limit: int = 20) -> list[AdminJob]:
        """The newest admin jobs first."""

    @abc.abstractmethod
    def update_job(self, job_id: str, *, done: int, replayed: int, status: str,
                   now: float, error: Optional[str] = None) -> None:
        """Record an admin job's progress or end."""

    @abc.abstractmethod
    def abandon_stale_jobs(self, before: float, now: float, error: str) -> list[str]:
        """Mark ``abandoned`` the running jobs not updated since ``before``; their ids."""

    @abc.abstractmethod
    def request_job_stop(self, job_id: str, now: float) -> bool:
        """Ask a running admin job to stop; returns whether one was running."""
    @abc.abstractmethod
    def pinned_endpoints(self) -> list[Endpoint]:
        """Every tenant's endpoints that pin a version (contract 4.2), but deleted ones."""

    @abc.abstractmethod
    def claim_sunset_notice(self, key: str, endpoint_id: str, now: float) -> bool:
        """Record a sunset notice unless it was recorded before; True if this call did."""

    @abc.abstractmethod
    def move_pins(self, endpoint: Endpoint, versions: dict[str, int],
                  entry: AuditEntry) -> bool:
        """Set the endpoint's pins and append ``entry`` to the audit log at once, if the
        endpoint's ``version`` is still the one read; True if this call did."""

    def maintenance(self) -> None:
        """Periodic housekeeping run by workers off the enqueue path (default: none)."""

    # batches (contract 4.4) ---------------------------------------------------------
    @abc.abstractmethod
    def gather(
        self, owner: str, tenant_id: str, endpoint_id: str, items: Sequence[tuple[str, str]],
        limits: Mapping[str, float], now: float, lease_until: float,
    ) -> Gathered:
        """Move claimed deliveries (still leased by ``owner``) of one endpoint out of the
        queue into its batches, in one transaction; batches that are full or due are
        sealed and leased to ``owner``."""

    @abc.abstractmethod
    def claim_batches(self, owner: str, limit: int, now: float,
                      lease_until: float) -> list[ClaimedBatch]:
        """Lease up to ``limit`` due batches (open past ``max_wait``, retries, expired
        leases) with their members still to deliver."""

    @abc.abstractmethod
    def complete_batch(
        self, owner: str, batch_id: str, delivery_ids: Sequence[str], attempt: Attempt,
        status: str, next_attempt_at: Optional[float], round_attempts: int, now: float,
    ) -> bool:
        """Record a batch's attempt on each member and the new states; returns whether
        the lease was still held."""

    @abc.abstractmethod
    def renew_batches(self, owner: str, batch_ids: Sequence[str],
                      lease_until: float) -> list[str]:
        """Extend the leases ``owner`` still holds on batches; returns their ids."""

    @abc.abstractmethod
    def release_batches(self, owner: str, batch_ids: Sequence[str], at: float) -> None:
        """Give leased batches back, due at ``at``, without an attempt."""

    @abc.abstractmethod
    def cancel_batch(self, owner: str, batch_id: str, now: float) -> int:
        """Cancel a leased batch and its pending members; returns the members cancelled."""

    @abc.abstractmethod
    def get_batch(self, tenant_id: Optional[str], batch_id: str) -> Optional[Batch]:
        """One batch with its members, scoped by tenant (``None``: internal reads)."""

    @abc.abstractmethod
    def replay_batch(self, tenant_id: str, batch_id: str, now: float) -> int:
        """Make a finished batch of the tenant pending again (same id and members);
        returns the members replayed."""


__all__ = ["MAX_PURGE_BATCH_SIZE", "PURGE_BATCH_SIZE", "AttemptSample", "BackfillRow",
           "BreakerRow", "DeliveryPage", "EndpointAttempts", "IdempotencyRecord", "PeriodAttempt",
           "PurgeProgress", "StaleEndpoint", "Statistics", "Store", "TenantCounts"]
