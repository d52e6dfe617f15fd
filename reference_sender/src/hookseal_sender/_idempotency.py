"""Idempotent sends: what makes two sends "the same", and the answer to a repeated one.

A send with an idempotency key takes the key for its tenant in the event's own
transaction (:meth:`~hookseal_sender.storage.base.Store.claim_idempotency_key`). A later
send with the key, within :attr:`~hookseal_sender.SenderConfig.idempotency_retention`,
enqueues nothing: with the same type and data it answers the first send's event and
deliveries, with other ones it is refused (:class:`~hookseal_sender.IdempotencyConflictError`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson

from .errors import IdempotencyConflictError
from .storage.base import IdempotencyRecord

__all__ = ["fingerprint", "repeated"]


def fingerprint(event_type: str, data: Any) -> str:
    """A hash of an event's type and data; equal for equal data, whatever its key order.

    Args:
        event_type: The event type.
        data: The event data (JSON-encodable: it was validated and enveloped first).

    Returns:
        ``sha256:`` and 64 hex digits.
    """
    try:
        text = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # what orjson cannot write (ints past 64 bits): the json module can
        text = json.dumps(data, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode()
    digest = hashlib.sha256(event_type.encode() + b"\0" + text)
    return "sha256:" + digest.hexdigest()


def repeated(key: str, record: IdempotencyRecord, fingerprint: str) -> IdempotencyRecord:
    """The earlier send a repeated key answers with, if it sent the same event.

    Args:
        key: The idempotency key.
        record: The send holding the key.
        fingerprint: The repeated send's :func:`fingerprint`.

    Returns:
        ``record``.

    Raises:
        IdempotencyConflictError: The earlier send had another type or other data.
    """
    if record.fingerprint != fingerprint:
        raise IdempotencyConflictError(
            f"idempotency key {key!r} was used by event {record.event_id} with another type "
            "or other data; a retried send must repeat the first one exactly, and another "
            "event needs another key")
    return record
