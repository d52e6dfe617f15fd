"""The library's front door: :class:`Sender`, every operation scoped by tenant.

``Sender`` is a facade: it opens the store, enqueues events (:meth:`Sender.send`) and wakes
this process's workers; everything else it delegates to a focused service, each with its
own inputs: endpoints (:mod:`hookseal_sender.endpoints`), signing keys and rotation
(:mod:`hookseal_sender.signing_keys`), the delivery log and replay
(:mod:`hookseal_sender.deliveries`) and the audit log (:mod:`hookseal_sender.audit`). Every
limit and validator is in :mod:`hookseal_sender._inputs`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import Any, Callable, Optional

from hookseal.profiles import DEFAULT_HEADER_PREFIX, HOOKSEAL_V1

from . import _inputs as inputs

# The limits and checks lived here before _inputs; kept importable from here.
from ._inputs import (  # noqa: F401
    MAX_ACTOR,
    MAX_BULK_REPLAY,
    MAX_DESCRIPTION,
    MAX_EMAIL,
    MAX_HEADER_PREFIX,
    MAX_NAME,
    MAX_PAGE,
    MAX_REASON,
    MAX_URL,
    UPDATABLE_FIELDS,
    check_overlap,
    check_text,
)
from ._outage import StoreOutage
from .audit import AuditLog
from .catalog import PING_TYPE, SenderCatalog, Validator, sender_catalog
from .config import SenderConfig
from .corrections import CorrectedReplay, CorrectionService
from .deliveries import DeliveryService
from .endpoints import CreatedEndpoint, EndpointService
from .errors import ConfigError, InvalidPayloadError
from .metrics import Metrics
from .models import Batch, Delivery, DeliveryFilter, Endpoint
from .notify import LogNotifier, Notifier
from .outbox import EnqueueResult, enqueue
from .owner_notices import OwnerNoticePolicy
from .secretbox import SecretBox
from .signing_keys import Rotation, SigningKeyService
from .ssrf import Resolve
from .storage import Store, open_store
from .storage.base import PURGE_BATCH_SIZE, PurgeProgress
from .tracing import Tracing

__all__ = ["CreatedEndpoint", "Rotation", "Sender"]


class _StoreGauges:
    """The gauges read from the store at each scrape; a scrape must not fail, nor log a
    traceback each time, while the database is unreachable."""

    def __init__(self, store: Store, outage: StoreOutage) -> None:
        self.store, self.outage = store, outage

    def queue_depth(self) -> float:
        """The queue-depth gauge: NaN while the database is unreachable."""
        try:
            return float(self.store.queue_depth())
        except Exception as exc:
            if not self.store.unavailable(exc):
                raise
            self.outage.failed("metrics", exc)
            return math.nan

    def failing_endpoints(self) -> list[tuple[str, str, float]]:
        """The failing-endpoints gauge's rows: none while the database is unreachable."""
        try:
            return self.store.failing_endpoints()
        except Exception as exc:
            if not self.store.unavailable(exc):
                raise
            self.outage.failed("metrics", exc)
            return []


class Sender:
    """A webhook sender: endpoints, outbox, delivery log; workers come from :meth:`worker`.

    The facade of the services in :attr:`endpoints`, :attr:`keys`, :attr:`deliveries` and
    :attr:`audit_log`: each method below says which one it delegates to, and that method's
    docstring is the full contract.

    Args:
        config: Configuration.
        store: The store (default: opened from ``config.database``).
        box: Encrypts secrets (default: loaded from the config or environment).
        notifier: Tells owners about dead letters (default: :class:`LogNotifier`).
        validator: Validates event data (default: the catalog of ``config.catalog``).
        resolve: DNS resolver for SSRF checks (tests pass a fake one).
        tracer_provider: An OpenTelemetry ``TracerProvider`` for the sender's spans
            (default: the global one, if OpenTelemetry is installed and configured); see
            :mod:`hookseal_sender.tracing`.

        clock: Unix time source of sends and retention purges (tests pass a fake one).

    Raises:
        SenderConfigError: The catalog directory is missing or does not lint (the
            linter's message), or the master key does not decrypt the stored secrets.
    """

    def __init__(
        self, config: Optional[SenderConfig] = None, *, store: Optional[Store] = None,
        box: Optional[SecretBox] = None, notifier: Optional[Notifier] = None,
        validator: Optional[Validator] = None, resolve: Optional[Resolve] = None,
        tracer_provider: Any = None, clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config or SenderConfig()
        # Before the store opens: a wrong catalog is refused at start, with lint's message.
        #: The event catalog (validation, event types, pinned versions).
        self.catalog: SenderCatalog = sender_catalog(self._config.catalog,
                                                     self._config.derivations)
        if store is None:
            box = box or SecretBox.load(self._config.master_key, self._config.master_key_file)
            store = open_store(self._config.database, box,
                               sqlite_synchronous=self._config.sqlite_synchronous)
            try:
                # A wrong master key fails here, once and clearly, not in every attempt.
                store.check_master_key()
            except ConfigError:
                store.close()
                raise
        self.store = store
        self.notifier: Notifier = notifier or LogNotifier()
        #: What owners are told, and when (the settings file's ``owner_notices``).
        self.owner_notices = OwnerNoticePolicy()
        self._own_validator = validator is None
        self.validator: Validator = validator or self.catalog.validate
        self.resolve = resolve
        #: The trace context of attempts and the sender's spans.
        self.tracing = Tracing(tracer_provider)
        self.clock = clock
        #: Whether the database is reachable, as this process last saw it (one log line
        #: per outage, however many workers and requests notice it).
        self.outage = StoreOutage()
        gauges = _StoreGauges(store, self.outage)
        self.metrics = Metrics(queue_depth=gauges.queue_depth,
                               failing_endpoints=gauges.failing_endpoints,
                               endpoint_series=self._config.metrics_endpoint_series)
        self._wakers: list[Callable[[], None]] = []
        self._on_close: list[Callable[[], None]] = []
        # The focused services this facade delegates to, each with its own inputs.
        self.endpoints = EndpointService(store, self._config, resolve, self._wake)
        self.audit_log = AuditLog(store)
        self.keys = SigningKeyService(store, self._config, self.endpoints, self.audit_log)
        self.deliveries = DeliveryService(store, self._config, self.endpoints, self.audit_log,
                                          self._wake, clock=clock)
        self.corrections = CorrectionService(store, self.audit_log, self.validator, self._wake)

    def on_close(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the sender closes, before its store does (a background
        thread of its own, such as the admin console's bulk replays, stops there first:
        a thread still reading a closed SQLite store could crash the process).

        Args:
            callback: Stops what uses the store; it must not raise.
        """
        self._on_close.append(callback)

    def close(self) -> None:
        """Stop what registered with :meth:`on_close`, then close the store's connections."""
        for callback in reversed(self._on_close):
            try:
                callback()
            except Exception:  # one failing stop must not keep the store open
                logging.getLogger("hookseal_sender").exception("on_close callback failed")
        self._on_close.clear()
        self.store.close()

    @property
    def config(self) -> SenderConfig:
        """The configuration (assigning a new one reaches every service)."""
        return self._config

    @config.setter
    def config(self, config: SenderConfig) -> None:
        self.catalog = sender_catalog(config.catalog, config.derivations)
        if self._own_validator:
            self.validator = self.catalog.validate
        self._config = config
        for service in (self.endpoints, self.keys, self.deliveries):
            service.config = config

    # endpoints: EndpointService and SigningKeyService ------------------------
    def allows_local(self, endpoint: Endpoint) -> bool:
        """Whether deliveries to ``endpoint`` may go to local addresses now.

        See ``EndpointService.allows_local``.
        """
        return self.endpoints.allows_local(endpoint)

    def create_endpoint(
        self, tenant_id: str, url: str, *, description: str = "", profile: str = HOOKSEAL_V1,
        header_prefix: str = DEFAULT_HEADER_PREFIX, event_types: Optional[list[str]] = None,
        signing: str = "hmac", retry_schedule: Optional[list[float]] = None,
        retry_after_cap: Optional[float] = None, timeout: Optional[float] = None,
        allow_local: bool = False, notify_email: Optional[str] = None,
        versions: Optional[dict[str, int]] = None, filter: Optional[dict[str, Any]] = None,
        headers: Optional[dict[str, str]] = None, redact: Optional[list[str]] = None,
        rate_limit: Optional[float] = None, batch: Optional[dict[str, float]] = None,
        ordering: Optional[str] = None, auth: Optional[dict[str, Any]] = None,
        tls_ca_pem: Optional[str] = None,
    ) -> CreatedEndpoint:
        """Register an endpoint (SSRF-checked) with a new secret and signing key.

        See ``EndpointService.create_endpoint`` for every field's rules and errors.
        """
        return self.endpoints.create_endpoint(
            tenant_id, url, description=description, profile=profile,
            header_prefix=header_prefix, event_types=event_types, signing=signing,
            retry_schedule=retry_schedule, retry_after_cap=retry_after_cap, timeout=timeout,
            allow_local=allow_local, notify_email=notify_email, versions=versions,
            filter=filter, headers=headers, redact=redact, rate_limit=rate_limit, batch=batch,
            ordering=ordering, auth=auth, tls_ca_pem=tls_ca_pem)

    def get_endpoint(self, tenant_id: str, endpoint_id: str) -> Endpoint:
        """One of a tenant's endpoints; see ``EndpointService.get_endpoint``."""
        return self.endpoints.get_endpoint(tenant_id, endpoint_id)

    def list_endpoints(self, tenant_id: str) -> list[Endpoint]:
        """A tenant's endpoints (not deleted); see ``EndpointService.list_endpoints``."""
        return self.endpoints.list_endpoints(tenant_id)

    def public_keys(self, tenant_id: str, endpoint_id: str) -> list[str]:
        """An endpoint's current ``whpk_`` public keys; see ``SigningKeyService.public_keys``."""
        return self.keys.public_keys(tenant_id, endpoint_id)

    def update_endpoint(self, tenant_id: str, endpoint_id: str, **fields: Any) -> Endpoint:
        """Change an endpoint's fields (any of ``UPDATABLE_FIELDS``).

        See ``EndpointService.update_endpoint``.
        """
        return self.endpoints.update_endpoint(tenant_id, endpoint_id, **fields)

    def pause_endpoint(self, tenant_id: str, endpoint_id: str) -> Endpoint:
        """Stop delivering to an endpoint; see ``EndpointService.pause_endpoint``."""
        return self.endpoints.pause_endpoint(tenant_id, endpoint_id)

    def resume_endpoint(self, tenant_id: str, endpoint_id: str) -> Endpoint:
        """Resume a paused or disabled endpoint; see ``EndpointService.resume_endpoint``."""
        return self.endpoints.resume_endpoint(tenant_id, endpoint_id)

    def delete_endpoint(self, tenant_id: str, endpoint_id: str) -> None:
        """Soft-delete an endpoint and cancel its pending deliveries.

        See ``EndpointService.delete_endpoint``.
        """
        self.endpoints.delete_endpoint(tenant_id, endpoint_id)

    def rotate_secret(
        self, tenant_id: str, endpoint_id: str, *, overlap: Optional[float] = None,
        actor: str = "api",
    ) -> Rotation:
        """Rotate an endpoint's secret (and its signing key if it signs with Ed25519).

        See ``SigningKeyService.rotate_secret``.
        """
        return self.keys.rotate_secret(tenant_id, endpoint_id, overlap=overlap, actor=actor)

    # sending -------------------------------------------------------------
    def add_waker(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` after each enqueue (in-process workers start at once).

        Args:
            wake: A thread-safe callable.
        """
        self._wakers.append(wake)

    def remove_waker(self, wake: Callable[[], None]) -> None:
        """Stop calling ``wake`` (a no-op if it is not registered).

        Args:
            wake: A callable given to :meth:`add_waker`.
        """
        if wake in self._wakers:
            self._wakers.remove(wake)

    def _wake(self) -> None:
        for wake in list(self._wakers):
            wake()

    def wake_workers(self) -> None:
        """Wake this process's workers: work was queued outside :meth:`send` (a backfill)."""
        self._wake()

    def send(
        self, tenant_id: str, event_type: str, data: Any, *, conn: Any = None,
        idempotency_key: Optional[str] = None,
    ) -> EnqueueResult:
        """Enqueue an event for every endpoint of the tenant subscribed to its type.

        Args:
            tenant_id: The tenant.
            event_type: The catalog event type.
            data: The event data, validated against the catalog.
            conn: Your own connection with its transaction open, to enqueue atomically
                with your business change (you commit).
            idempotency_key: Send this event once: a later send with the same key for
                the same tenant, within ``SenderConfig.idempotency_retention`` (24 h by
                default), enqueues nothing and returns this send's event and deliveries
                (``replayed=True``). 1 to 255 printable characters. The key is taken in
                the event's transaction, so it holds across processes.

        Returns:
            The event and its deliveries.

        Raises:
            InvalidPayloadError: The data does not validate, or holds a lone surrogate
                (no store can encode it as UTF-8).
            InvalidRequestError: The tenant or type is empty, longer than
                ``MAX_NAME`` or holds a control character; or the idempotency key is
                not 1 to 255 printable characters.
            IdempotencyConflictError: The key was used, within the retention, by a send
                with another type or other data.
        """
        inputs.check_name(tenant_id, "tenant")
        # The type is also sent as a header value (<prefix>-Event-Type): no CR or LF.
        inputs.check_name(event_type, "type")
        key = inputs.check_idempotency_key(idempotency_key)
        started = time.time_ns()
        try:
            result = enqueue(self.store, tenant_id, event_type, data, validator=self.validator,
                             conn=conn, now=self.clock(), idempotency_key=key,
                             ordering=self.catalog.ordering_value,
                             idempotency_retention=self._config.idempotency_retention)
        except UnicodeEncodeError:  # the driver could not encode the payload: its INSERT failed
            raise InvalidPayloadError("data must not contain lone surrogates (not UTF-8)") from None
        if result.replayed:
            return result  # nothing enqueued: nothing to count, no worker to wake
        self.tracing.enqueued(result.event_id, started, {
            "hookseal.tenant": tenant_id, "hookseal.event_type": event_type,
            "hookseal.deliveries": len(result.deliveries)})
        return self._enqueued(event_type, result)

    def ping(self, tenant_id: str, endpoint_id: str) -> EnqueueResult:
        """Send a ``test.ping`` event to one endpoint.

        Args:
            tenant_id: The tenant.
            endpoint_id: The endpoint.

        Returns:
            The event and its delivery.
        """
        self.get_endpoint(tenant_id, endpoint_id)
        result = enqueue(self.store, tenant_id, PING_TYPE, {"message": "ping"},
                         validator=self.catalog.ping_version, endpoint_ids=[endpoint_id],
                         livemode=False)
        return self._enqueued(PING_TYPE, result)

    def _enqueued(self, event_type: str, result: EnqueueResult) -> EnqueueResult:
        # Every enqueue path counts its event and wakes this process's workers.
        self.metrics.child(self.metrics.enqueued, event_type).inc()
        self.metrics.deliveries_created.inc(len(result.deliveries))
        self._wake()
        return result

    # delivery log: DeliveryService and AuditLog ------------------------------
    def get_delivery(self, tenant_id: str, delivery_id: str) -> Delivery:
        """One delivery with every attempt; see ``DeliveryService.get_delivery``."""
        return self.deliveries.get_delivery(tenant_id, delivery_id)

    def list_deliveries(
        self, tenant_id: str, flt: Optional[DeliveryFilter] = None, *, limit: int = 50,
        before: Optional[str] = None,
    ) -> list[Delivery]:
        """A tenant's deliveries, newest first, one page.

        See ``DeliveryService.list_deliveries``.
        """
        return self.deliveries.list_deliveries(tenant_id, flt, limit=limit, before=before)

    def audit(self, tenant_id: str, actor: str, action: str, reason: str,
              target: dict[str, Any]) -> None:
        """Append to the audit log; see ``AuditLog.record``."""
        self.audit_log.record(tenant_id, actor, action, reason, target)

    def replay(self, tenant_id: str, delivery_id: str, *, actor: str = "api",
               reason: str = "") -> Delivery:
        """Send a finished delivery again; see ``DeliveryService.replay``."""
        return self.deliveries.replay(tenant_id, delivery_id, actor=actor, reason=reason)

    def get_batch(self, tenant_id: str, batch_id: str) -> Batch:
        """One batch with its members; see ``DeliveryService.get_batch``."""
        return self.deliveries.get_batch(tenant_id, batch_id)

    def replay_batch(self, tenant_id: str, batch_id: str, *, actor: str = "api",
                     reason: str = "") -> Batch:
        """Send a finished batch again, same id and members; see
        ``DeliveryService.replay_batch``."""
        return self.deliveries.replay_batch(tenant_id, batch_id, actor=actor, reason=reason)

    def replay_bulk(
        self, tenant_id: str, flt: DeliveryFilter, *, confirm: bool = False,
        actor: str = "api", reason: str = "", include_ids: bool = False,
        limit: Optional[int] = None,
    ) -> dict[str, Any]:
        """Replay the finished deliveries matching a filter, oldest first, rate-limited.

        See ``DeliveryService.replay_bulk``.
        """
        return self.deliveries.replay_bulk(tenant_id, flt, confirm=confirm, actor=actor,
                                           reason=reason, include_ids=include_ids,
                                           limit=limit)

    def replay_corrected(self, tenant_id: str, event_id: str, data: Any, *,
                         actor: str = "api", reason: str) -> CorrectedReplay:
        """Correct an event's data (catalog-validated) and deliver it again, same id.

        See ``CorrectionService.replay_corrected``.
        """
        return self.corrections.replay_corrected(tenant_id, event_id, data, actor=actor,
                                                 reason=reason)

    def cancel(self, tenant_id: str, *, endpoint_id: Optional[str] = None,
               delivery_ids: Optional[Sequence[str]] = None, actor: str = "api",
               reason: str = "") -> int:
        """Cancel pending deliveries of an endpoint, or these deliveries.

        See ``DeliveryService.cancel``.
        """
        return self.deliveries.cancel(tenant_id, endpoint_id=endpoint_id,
                                      delivery_ids=delivery_ids, actor=actor, reason=reason)

    def delivery_status_counts(
        self, tenant_id: str, delivery_ids: Sequence[str],
    ) -> dict[str, int]:
        """How many of these deliveries are in each status (to follow a replay).

        See ``DeliveryService.delivery_status_counts``.
        """
        return self.deliveries.delivery_status_counts(tenant_id, delivery_ids)

    def purge(
        self, *, older_than_days: Optional[float] = None, batch_size: int = PURGE_BATCH_SIZE,
        on_progress: Optional[PurgeProgress] = None,
    ) -> int:
        """Delete finished deliveries older than the retention (default 30 days).

        See ``DeliveryService.purge``.
        """
        return self.deliveries.purge(older_than_days=older_than_days, batch_size=batch_size,
                                     on_progress=on_progress)

    def worker(self, **kwargs: Any) -> Any:
        """A delivery worker for this sender (see :class:`hookseal_sender.worker.Worker`).

        Args:
            **kwargs: Passed to the worker.

        Returns:
            The worker.
        """
        from .worker import Worker

        return Worker(self, **kwargs)
