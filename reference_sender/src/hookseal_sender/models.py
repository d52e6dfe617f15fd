"""Plain records the library returns: endpoints, keys, deliveries, attempts, audit."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from hookseal.profiles import DEFAULT_HEADER_PREFIX, HOOKSEAL_V1

__all__ = ["DELIVERY_STATUSES", "ENDPOINT_STATUSES", "SIGNING_MODES", "Attempt", "AttemptResult",
           "AuditEntry", "Batch", "Claimed", "ClaimedBatch", "Delivery", "DeliveryFilter",
           "Endpoint", "EndpointKey", "Gathered", "new_id"]


#: Delivery states.
DELIVERY_STATUSES = ("pending", "delivering", "delivered", "failed", "dead_lettered", "cancelled")
#: Endpoint states.
ENDPOINT_STATUSES = ("active", "paused", "disabled", "deleted")
#: Signing modes of an endpoint.
SIGNING_MODES = ("hmac", "ed25519", "both")


#: The last id's milliseconds and random part (ids made in one millisecond increase).
_last = [0, 0]
_last_lock = threading.Lock()


def new_id(prefix: str) -> str:
    """A time-ordered random id such as ``dlv_018c...``.

    Ids made by one process sort in the order they were made, even within a millisecond:
    the audit log, an event's revisions and the delivery log are read in id order. (Ids
    of several processes within one millisecond sort in any order.)

    Args:
        prefix: The kind prefix, without underscore.

    Returns:
        The id: prefix, 12 hex digits of milliseconds, 16 hex digits: random, or within
        the millisecond of the last id, that id's plus a random step.
    """
    ms = int(time.time() * 1000)
    rnd = int.from_bytes(os.urandom(8), "big")
    with _last_lock:
        last_ms, last_rnd = _last
        if ms <= last_ms:  # the same millisecond (or the clock stepped back)
            # A step of up to 2**32 keeps the next id unguessable from this one.
            ms, rnd = last_ms, last_rnd + 1 + (rnd >> 32)
            if rnd >= 1 << 64:  # the millisecond's space is used up: borrow the next one
                ms, rnd = last_ms + 1, rnd & ((1 << 63) - 1)
        _last[:] = ms, rnd
    return f"{prefix}_{ms:012x}{rnd:016x}"


def id_at(prefix: str, unix_time: float) -> str:
    """The smallest id of a kind created at a time (ids sort by creation time).

    Args:
        prefix: ``dlv``, ``evt``, ...
        unix_time: The time.

    Returns:
        An id bound for range queries: every :func:`new_id` made at or after
        ``unix_time`` sorts at or after it.
    """
    return f"{prefix}_{max(0, int(unix_time * 1000)):012x}"


@dataclass
class Endpoint:
    """A customer's webhook destination.

    Attributes:
        id: Endpoint id.
        tenant_id: The customer (tenant) owning it.
        url: Destination URL.
        description: Free text.
        profile: Signature profile (``hookseal-v1`` or ``standard-webhooks``).
        header_prefix: Header prefix for ``hookseal-v1``.
        event_types: Subscribed event types, or ``None`` for all.
        signing: ``hmac``, ``ed25519`` or ``both``.
        status: ``active``, ``paused``, ``disabled`` or ``deleted``.
        status_reason: Why it is disabled, if it is.
        retry_schedule: Per-endpoint retry delays overriding the default, or ``None``.
        retry_after_cap: Per-endpoint ``Retry-After`` cap, or ``None``.
        timeout: Per-endpoint timeout in seconds, or ``None`` for the default.
        allow_local: Local destinations allowed (testing only).
        notify_email: Where dead-letter notices go.
        versions: Pinned major version per event type (contract 4.2), or ``None``: each
            type not named gets its current version.
        filter: A filter over the envelope (contract 4.3), or ``None`` for every event.
        headers: Extra request headers sent on every attempt (contract 4.3), or ``None``.
        redact: JSON Pointers into ``data`` of optional fields dropped before signing
            (contract 4.3), or ``None``.
        rate_limit: Most deliveries per second to this endpoint (contract 4.3), or ``None``.
        batch: Batch thresholds ``{"max_events", "max_bytes", "max_wait"}`` (contract 4.4),
            or ``None`` for one event per request.
        ordering: ``"per_key"`` for ordered delivery (contract 4.5), or ``None``.
        auth: How the sender authenticates to the endpoint (contract 4.6), without its
            secrets (``{"type": "static"}``, ...), or ``None``.
        tls_ca_pem: PEM CA certificates trusted for the endpoint's server certificate
            (testing only, with ``allow_local``), or ``None`` for the system's.
        failing_since: When the current run of failures started, if failing.
        created_at: Unix time.
        updated_at: Unix time.
        version: Increases on every change (workers reload cached endpoints on change).
    """

    id: str
    tenant_id: str
    url: str
    description: str = ""
    profile: str = HOOKSEAL_V1
    header_prefix: str = DEFAULT_HEADER_PREFIX
    event_types: Optional[list[str]] = None
    signing: str = "hmac"
    status: str = "active"
    status_reason: Optional[str] = None
    retry_schedule: Optional[list[float]] = None
    retry_after_cap: Optional[float] = None
    timeout: Optional[float] = None
    allow_local: bool = False
    notify_email: Optional[str] = None
    versions: Optional[dict[str, int]] = None
    filter: Optional[dict[str, Any]] = None
    headers: Optional[dict[str, str]] = None
    redact: Optional[list[str]] = None
    rate_limit: Optional[float] = None
    batch: Optional[dict[str, float]] = None
    ordering: Optional[str] = None
    auth: Optional[dict[str, Any]] = None
    tls_ca_pem: Optional[str] = None
    failing_since: Optional[float] = None
    created_at: float = 0.0
    updated_at: float = 0.0
    version: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The endpoint as JSON-ready data (it holds no secret).

        Returns:
            A dict of its fields.
        """
        return asdict(self)


@dataclass
class EndpointKey:
    """One secret or signing key of an endpoint (stored encrypted).

    Attributes:
        id: Key id.
        endpoint_id: The endpoint.
        kind: ``hmac`` (a ``whsec_`` secret) or ``ed25519`` (a ``whsk_`` signing key).
        secret: The decrypted secret or signing key (never logged).
        public_key: The ``whpk_`` public key for ``ed25519`` keys.
        created_at: Unix time.
        expires_at: When it stops signing (set by a rotation), or ``None``.
    """

    id: str
    endpoint_id: str
    kind: str
    secret: str = field(repr=False)
    public_key: Optional[str]
    created_at: float
    expires_at: Optional[float] = None


@dataclass
class Attempt:
    """One delivery attempt as recorded.

    Attributes:
        number: 1, 2, ... across every round of a delivery.
        at: Unix time the request started.
        status_code: The HTTP status, or ``None`` on error.
        error: ``timeout``, ``connection_error``, ``destination_refused``, ... or ``None``.
        latency_ms: Milliseconds until the response (or the error).
        response_headers: The response headers.
        response_body: The first 4 KiB of the response body, as text.
        outcome: ``delivered``, ``retry``, ``failed`` or ``gone``.
    """

    number: int
    at: float
    status_code: Optional[int]
    error: Optional[str]
    latency_ms: float
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""
    outcome: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data.

        Returns:
            A dict of the fields.
        """
        return asdict(self)


@dataclass
class Delivery:
    """One event to one endpoint.

    Attributes:
        id: Delivery id, also the webhook id header; stable across attempts and replays.
        tenant_id: The tenant.
        event_id: The event.
        endpoint_id: The endpoint.
        event_type: The event type.
        status: One of :data:`DELIVERY_STATUSES`.
        attempt_count: Attempts made in total.
        round_attempts: Attempts made since it was enqueued or last replayed.
        next_attempt_at: When the next attempt is due, or ``None``.
        last_status_code: The last attempt's status.
        last_error: The last attempt's error.
        created_at: Unix time.
        updated_at: Unix time.
        attempts: The attempts (filled by detail reads).
        payload: The body (filled by detail reads).
        corrected: Whether the provider corrected the event's data after it was first
            sent (the body is then the corrected one).
        original_payload: The body as first sent, if the event was corrected (filled by
            detail reads).
        batch_id: The batch (``bat_...``) it was gathered into, for an endpoint with
            batches (contract 4.4); ``None`` otherwise.
    """

    id: str
    tenant_id: str
    event_id: str
    endpoint_id: str
    event_type: str
    status: str
    attempt_count: int = 0
    round_attempts: int = 0
    next_attempt_at: Optional[float] = None
    last_status_code: Optional[int] = None
    last_error: Optional[str] = None
    created_at: float = 0.0
    updated_at: float = 0.0
    attempts: list[Attempt] = field(default_factory=list)
    payload: Optional[str] = None
    corrected: bool = False
    original_payload: Optional[str] = None
    batch_id: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data.

        Returns:
            A dict of the fields.
        """
        return asdict(self)


@dataclass
class Claimed:
    """A leased delivery handed to a worker.

    Attributes:
        id: Delivery id (internal: one per event and endpoint).
        tenant_id: Tenant.
        endpoint_id: Endpoint.
        event_type: Event type.
        event_id: The event id: the envelope's ``id``, sent as the webhook-id header.
        attempt_count: Attempts made before this one.
        round_attempts: Attempts in this round before this one.
        payload: The body to send.
        endpoint_version: The endpoint's version at claim time.
        sequence: Its number among its endpoint's events of one ordering key (ordered
            endpoints only; sent as the envelope's ``sequence``), or ``None``.
    """

    id: str
    tenant_id: str
    endpoint_id: str
    event_type: str
    attempt_count: int
    round_attempts: int
    payload: str
    endpoint_version: int
    event_id: str
    sequence: Optional[int] = None


@dataclass
class AttemptResult:
    """What a worker writes back after an attempt.

    Attributes:
        delivery_id: The delivery.
        endpoint_id: Its endpoint.
        attempt: The recorded attempt.
        status: The delivery's new status.
        next_attempt_at: When to retry, if pending.
        round_attempts: Attempts in this round, this one included.
    """

    delivery_id: str
    endpoint_id: str
    attempt: Attempt
    status: str
    next_attempt_at: Optional[float]
    round_attempts: int


@dataclass
class DeliveryFilter:
    """Filters for listing, replaying and cancelling deliveries.

    Attributes:
        endpoint_id: Only this endpoint.
        event_type: Only this type.
        status: Only these states.
        since: Created at or after (Unix time).
        until: Created before (Unix time).
        event_id: Only the deliveries of this event.
        id_prefix: Only deliveries whose id starts with this (a whole id finds one).
        event_id_prefix: Only deliveries of events whose id starts with this.
    """

    endpoint_id: Optional[str] = None
    event_type: Optional[str] = None
    status: Optional[list[str]] = None
    since: Optional[float] = None
    until: Optional[float] = None
    event_id: Optional[str] = None
    id_prefix: Optional[str] = None
    event_id_prefix: Optional[str] = None


@dataclass
class AuditEntry:
    """Who did what, when and why.

    Attributes:
        id: Entry id.
        tenant_id: Tenant.
        actor: Who (API key name, CLI user).
        action: ``replay``, ``bulk_replay``, ``cancel``, ``rotate``, ...
        reason: Why, as given.
        target: What (ids, filter, counts).
        at: Unix time.
    """

    id: str
    tenant_id: str
    actor: str
    action: str
    reason: str
    target: dict[str, Any]
    at: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data.

        Returns:
            A dict of the fields.
        """
        return asdict(self)


@dataclass
class Batch:
    """A batch of one endpoint's deliveries, sent as one request (contract 4.4).

    Attributes:
        id: The batch id (``bat_...``), the webhook id of every attempt of it.
        tenant_id: The tenant.
        endpoint_id: The endpoint.
        status: ``gathering`` (open to more events), ``pending`` (sealed, to be sent or
            retried), ``delivered``, ``failed``, ``dead_lettered`` or ``cancelled``.
        size: Its events.
        body_bytes: The length of its body (the JSON array) in bytes.
        attempt_count: Attempts made in total.
        round_attempts: Attempts since it was sealed or last replayed.
        due: When it is sent (or its lease ends), ``None`` once finished.
        created_at: Unix time it was opened.
        updated_at: Unix time.
        delivery_ids: Its members' deliveries, in enqueue order (the body's order).
    """

    id: str
    tenant_id: str
    endpoint_id: str
    status: str
    size: int
    body_bytes: int
    attempt_count: int
    round_attempts: int
    due: Optional[float]
    created_at: float
    updated_at: float
    delivery_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data.

        Returns:
            A dict of the fields.
        """
        return asdict(self)


@dataclass
class ClaimedBatch:
    """A leased batch handed to a worker to send.

    Attributes:
        id: The batch id.
        tenant_id: Tenant.
        endpoint_id: Endpoint.
        attempt_count: Attempts made before this one.
        round_attempts: Attempts in this round before this one.
        endpoint_version: The endpoint's version at claim time.
        members: ``(delivery_id, payload)`` of each member still to deliver, in enqueue
            order.
    """

    id: str
    tenant_id: str
    endpoint_id: str
    attempt_count: int
    round_attempts: int
    endpoint_version: int
    members: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Gathered:
    """What gathering claimed deliveries into batches did.

    Attributes:
        taken: Deliveries now members of a batch (out of the queue).
        alone: Deliveries that were a batch's members before (replayed on their own):
            still leased, to be sent as single events.
        sealed: Batches sealed and leased to the gatherer, to send now.
        open_due: When the endpoint's open batch is due (its first event plus
            ``max_wait``), if one is open.
    """

    taken: list[str] = field(default_factory=list)
    alone: list[str] = field(default_factory=list)
    sealed: list[ClaimedBatch] = field(default_factory=list)
    open_due: Optional[float] = None
