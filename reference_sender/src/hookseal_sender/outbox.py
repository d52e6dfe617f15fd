"""The outbox: enqueue an event durably, in the caller's transaction if it passes one."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import orjson

from ._idempotency import fingerprint, repeated
from .catalog import Validator, ordering_value, validate_event
from .errors import InvalidPayloadError
from .models import new_id
from .storage.base import Store

__all__ = ["EnqueueResult", "enqueue", "envelope"]


@dataclass(frozen=True)
class EnqueueResult:
    """What :func:`enqueue` wrote.

    Attributes:
        event_id: The event id (the envelope's ``id``).
        deliveries: ``(delivery_id, endpoint_id)`` for each subscribed endpoint.
        payload: The exact body every delivery will send.
        replayed: True when an idempotency key made this the answer of an earlier send
            (nothing was enqueued); ``payload`` is then that send's body (``""`` if its
            event was purged since).
    """

    event_id: str
    deliveries: list[tuple[str, str]] = field(default_factory=list)
    payload: str = ""
    replayed: bool = False


# allow_nan=False: NaN and Infinity are not JSON. A body receivers cannot parse would be
# signed, retried for days and dead-lettered; refuse it at enqueue instead.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _encode(obj: dict[str, Any]) -> str:
    # orjson is about ten times faster than the json module, and the body was the largest
    # part of an enqueue's own work. Its text is kept only when it reads back equal to
    # what was given: orjson writes NaN as null, and dates, UUIDs, dataclasses and enums
    # as if they were JSON. Those, and what orjson refuses (ints past 64 bits, nesting
    # past 255), go to the json module, which writes big ints and refuses the rest.
    try:
        text = orjson.dumps(obj)
        if orjson.loads(text) == obj:
            return text.decode()
    except (TypeError, ValueError):  # orjson.JSONEncodeError, orjson.JSONDecodeError
        pass
    return _ENCODER.encode(obj)


def envelope(event_id: str, event_type: str, data: Any, created: float, *, version: int = 1,
             livemode: bool = True) -> str:
    """The JSON body of an event: the catalog's envelope (``id``, ``type``, ``version``,
    ``created``, ``livemode``, ``data``).

    The sender's one envelope builder. It does not call the catalog's ``build_envelope``:
    that one looks the type up in the catalog, and a sender may send types outside it
    (``no_validation``); a test holds the two to the same output.

    Args:
        event_id: Event id.
        event_type: Event type.
        data: Validated data.
        created: Unix time.
        version: The schema version ``data`` follows.
        livemode: False for test events such as pings.

    Returns:
        Compact JSON text.

    Raises:
        InvalidPayloadError: ``data`` holds something JSON cannot: NaN or Infinity, a value
            of another type (bytes, a set, a date...), a circular reference, or nesting too
            deep to encode.
    """
    try:
        return _encode({"id": event_id, "type": event_type, "version": version,
                        "created": int(created), "livemode": livemode, "data": data})
    except (TypeError, ValueError) as exc:
        raise InvalidPayloadError(f"data is not JSON: {exc}") from None
    except RecursionError:
        raise InvalidPayloadError("data is not JSON: nested too deeply") from None


def enqueue(
    store: Store, tenant_id: str, event_type: str, data: Any, *,
    validator: Validator = validate_event, conn: Any = None,
    endpoint_ids: Optional[Sequence[str]] = None, now: Optional[float] = None,
    livemode: bool = True, idempotency_key: Optional[str] = None,
    idempotency_retention: float = 24 * 3600.0,
    ordering: Callable[[str, Any], Optional[str]] = ordering_value,
) -> EnqueueResult:
    """Validate an event, then write it and one delivery per subscribed endpoint at once.

    Never waits on an endpoint: workers deliver later.

    Args:
        store: The store.
        tenant_id: The tenant whose endpoints receive it.
        event_type: The event type.
        data: The event data (validated against the catalog).
        validator: The data validator.
        conn: The caller's connection with its transaction open (outbox pattern): the
            event commits or rolls back with the caller's business change.
        endpoint_ids: Deliver only to these endpoints (already checked to be the tenant's).
        now: Unix time (tests).
        livemode: The envelope's ``livemode``.
        idempotency_key: Taken for the tenant in the event's transaction (checked by the
            caller, see ``_inputs.check_idempotency_key``); if an earlier send holds it,
            nothing is written and that send's event is the answer.
        idempotency_retention: Seconds a key is held; an older one is taken over.
        ordering: The value of the type's ordering key in ``data`` (contract 4.5), or
            ``None``: the sender's catalog's (default: the sample's).

    Returns:
        The event id and its deliveries (``replayed`` if an earlier send's).

    Raises:
        InvalidPayloadError: The data does not validate, or JSON cannot hold it.
        IdempotencyConflictError: The key is held by a send of another type or data.
    """
    version = validator(event_type, data)
    ts = time.time() if now is None else now
    event_id = new_id("evt")
    payload = envelope(event_id, event_type, data, ts, version=version, livemode=livemode)
    order_key = ordering(event_type, data)
    if idempotency_key is not None:
        return _enqueue_once(store, tenant_id, event_type, data, event_id, payload, ts, conn,
                             endpoint_ids, idempotency_key, idempotency_retention, order_key)
    with store.transaction(conn) as c:
        deliveries = _insert(store, c, tenant_id, event_type, event_id, payload, ts,
                             endpoint_ids, order_key)
    return EnqueueResult(event_id=event_id, deliveries=deliveries, payload=payload)


def _insert(store: Store, c: Any, tenant_id: str, event_type: str, event_id: str, payload: str,
            ts: float, endpoint_ids: Optional[Sequence[str]],
            order_key: Optional[str]) -> list[tuple[str, str]]:
    """Write the event and its deliveries in the open transaction ``c``, numbered for the
    ordered endpoints when the event has an ordering key."""
    if endpoint_ids is None:
        deliveries = store.insert_event_for_subscribers(c, event_id, tenant_id, event_type,
                                                        payload, ts)
    else:
        deliveries = [(new_id("dlv"), ep) for ep in endpoint_ids]
        store.insert_event(c, event_id, tenant_id, event_type, payload, deliveries, ts)
    if order_key is not None and deliveries:
        # Types with an ordering key only: the rest pay nothing for ordered delivery.
        store.order_event(c, event_id, order_key)
    return deliveries


def _enqueue_once(
    store: Store, tenant_id: str, event_type: str, data: Any, event_id: str, payload: str,
    ts: float, conn: Any, endpoint_ids: Optional[Sequence[str]], key: str, retention: float,
    order_key: Optional[str],
) -> EnqueueResult:
    """:func:`enqueue` with an idempotency key: the key is taken first, in the event's
    transaction, so a concurrent send with it waits and then answers with this event."""
    mark = fingerprint(event_type, data)
    with store.transaction(conn) as c:
        held = store.claim_idempotency_key(c, tenant_id, key, event_id, mark, ts,
                                           ts - retention)
        if held is None:
            deliveries = _insert(store, c, tenant_id, event_type, event_id, payload, ts,
                                 endpoint_ids, order_key)
            store.record_idempotency_deliveries(c, tenant_id, key, deliveries)
            return EnqueueResult(event_id=event_id, deliveries=deliveries, payload=payload)
    # Outside the transaction, which wrote nothing: a conflict needs no rollback.
    first = repeated(key, held, mark)
    return EnqueueResult(event_id=first.event_id, deliveries=first.deliveries,
                         payload=first.payload, replayed=True)
