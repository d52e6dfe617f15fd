"""Hookseal's reference webhook sender.

Durable outbox, signing with rotation (HMAC and Ed25519), retries with a published
schedule, SSRF defence, delivery log and replay, on SQLite or PostgreSQL::

    from hookseal_sender import Sender, SenderConfig

    sender = Sender(SenderConfig(database="sqlite:///sender.db", master_key=KEY))
    ep = sender.create_endpoint("tenant-1", "https://example.com/hooks")
    sender.send("tenant-1", "invoice.paid", {...})
"""

from __future__ import annotations

from .config import DEFAULT_RETRY_POLICY, BreakerPolicy, RetryPolicy, SenderConfig
from .errors import (
    ConfigError,
    ConflictError,
    DestinationRefusedError,
    InvalidPayloadError,
    InvalidRequestError,
    NotFoundError,
    SenderError,
)
from .models import Attempt, AuditEntry, Delivery, DeliveryFilter, Endpoint
from .notify import LogNotifier, Notice, Notifier, SMTPNotifier
from .outbox import EnqueueResult
from .secretbox import SecretBox, generate_master_key
from .sender import CreatedEndpoint, Rotation, Sender
from .storage import PostgresStore, SQLiteStore, Store, open_store
from .worker import BackgroundWorker, Worker, tune_gc

__version__ = "0.1.0"

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
    "InvalidPayloadError",
    "InvalidRequestError",
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
    "SenderError",
    "Store",
    "Worker",
    "__version__",
    "generate_master_key",
    "open_store",
    "tune_gc",
]
