"""Hookseal's reference webhook sender.

Durable outbox, signing with rotation (HMAC and Ed25519), retries with a published
schedule, SSRF defence, delivery log and replay, on SQLite or PostgreSQL::

    from hookseal_sender import Sender, SenderConfig

    sender = Sender(SenderConfig(database="sqlite:///sender.db", master_key=KEY))
    ep = sender.create_endpoint("tenant-1", "https://example.com/hooks")
    sender.send("tenant-1", "invoice.paid", {...})

Where to change what (modules of ``hookseal_sender``; the README's "Where things live"
says more):

- **The retry decision** (an attempt's outcome to the next status and due time):
  ``outcome.py``, beside ``classify``; the schedule and its limits: ``config.py``.
- **What one attempt sends** (headers, signatures, body, timeout, the POST): the worker's
  attempt runner, ``_attempt.py``; the envelope (the body): ``outbox.envelope``.
- **Endpoint health** (breakers, disabling, dead-letter notices): the worker's
  ``_health.py`` and ``breaker.py``.
- **A store query**: a ``Store`` method in ``storage/base.py``, implemented in
  ``storage/`` (one module per concept).
- **A request limit** (name and text lengths, page sizes, JSON depth, times): ``_inputs.py``;
  the body cap and the HTTP status of each error: ``_http.py``.
- The facade :class:`Sender` (``sender.py``) delegates to ``endpoints.py``,
  ``signing_keys.py``, ``deliveries.py`` and ``audit.py``; enqueueing is ``outbox.py``;
  the worker loop ``worker.py``; the admin API ``api.py``; the customer portal
  ``portal/`` (its links: ``portal_tokens.py``); the command line ``cli.py``; the
  conformance adapter ``conformance_adapter.py``; errors and their codes ``errors.py``.
"""

from __future__ import annotations

from ._version import __version__
from .config import DEFAULT_RETRY_POLICY, BreakerPolicy, RetryPolicy, SenderConfig
from .errors import (
    ConfigError,
    ConflictError,
    DestinationRefusedError,
    IdempotencyConflictError,
    InvalidAuthError,
    InvalidBatchError,
    InvalidEventDataError,
    InvalidFilterError,
    InvalidHeadersError,
    InvalidOrderingError,
    InvalidPayloadError,
    InvalidRateLimitError,
    InvalidRedactionError,
    InvalidRequestError,
    InvalidVersionError,
    NotFoundError,
    SenderConfigError,
    SenderError,
)
from .models import Attempt, AuditEntry, Delivery, DeliveryFilter, Endpoint
from .notify import LogNotifier, Notice, Notifier, SMTPNotifier
from .outbox import EnqueueResult
from .secretbox import SecretBox, generate_master_key
from .sender import CreatedEndpoint, Rotation, Sender
from .storage import PostgresStore, SQLiteStore, Store, open_store
from .worker import BackgroundWorker, Worker, tune_gc

__all__ = [
    "DEFAULT_RETRY_POLICY",
    "Attempt",
    "AuditEntry",
    "BackgroundWorker",
    "BreakerPolicy",
    "ConfigError",
    "ConflictError",
    "CreatedEndpoint",
    "Delivery",
    "DeliveryFilter",
    "DestinationRefusedError",
    "Endpoint",
    "EnqueueResult",
    "IdempotencyConflictError",
    "InvalidAuthError",
    "InvalidBatchError",
    "InvalidEventDataError",
    "InvalidFilterError",
    "InvalidHeadersError",
    "InvalidOrderingError",
    "InvalidPayloadError",
    "InvalidRateLimitError",
    "InvalidRedactionError",
    "InvalidRequestError",
    "InvalidVersionError",
    "LogNotifier",
    "NotFoundError",
    "Notice",
    "Notifier",
    "PostgresStore",
    "RetryPolicy",
    "Rotation",
    "SMTPNotifier",
    "SQLiteStore",
    "SecretBox",
    "Sender",
    "SenderConfig",
    "SenderConfigError",
    "SenderError",
    "Store",
    "Worker",
    "__version__",
    "generate_master_key",
    "open_store",
    "tune_gc",
]
