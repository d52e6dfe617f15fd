"""Column lists, SQL fragments and row converters the SQL store's modules share."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring_ascii
from typing import Any, Optional

from ..models import Delivery, Endpoint

#: The statuses of a live delivery (one with a queue row), as SQL.
LIVE = "('pending','delivering')"

ENDPOINT_COLS = (
    "id", "tenant_id", "url", "description", "profile", "header_prefix", "event_types",
    "signing", "status", "status_reason", "retry_schedule", "retry_after_cap", "timeout",
    "allow_local", "notify_email", "failing_since", "created_at", "updated_at", "version",
    "versions", "filter", "headers", "redact", "rate_limit", "batch", "ordering", "auth",
    "tls_ca_pem",
)
#: Endpoint columns stored as JSON text.
JSON_COLS = frozenset({"event_types", "retry_schedule", "versions", "filter", "headers",
                       "redact", "batch", "auth"})
DELIVERY_COLS = (
    "id", "tenant_id", "event_id", "endpoint_id", "event_type", "status", "attempt_count",
    "round_attempts", "next_attempt_at", "last_status_code", "last_error", "created_at",
    "updated_at", "batch_id",
)
#: Endpoint columns :meth:`Store.update_endpoint` may change.
UPDATABLE = frozenset(ENDPOINT_COLS) - {"id", "tenant_id", "created_at", "version"}
#: A delivery's status as read: "delivering" while a worker holds its lease (the log row
#: of a live delivery says "pending" throughout; claims change only the queue).
STATUS = "CASE WHEN q.lease_owner IS NULL THEN d.status ELSE 'delivering' END"
#: The deliveries with their queue rows (live ones only), as ``d`` and ``q``.
JOINED = "deliveries d LEFT JOIN queue q ON q.delivery_id = d.id"
#: What a parked queue row's due time has added (Unix time 10^10 is in the year 2286): a
#: row of an endpoint whose circuit breaker is open is parked, so that no plain claim
#: reads it (``due <= now``) and claims need no list of the endpoints left out. Its
#: breaker's probe claims it by endpoint (``Queue.claim_probe``); closing the breaker
#: takes the endpoint's rows off again, due when they were (``Breakers.close_breaker``).
#: Written as a literal in SQL (:data:`IS_PARKED`), so the partial index ``queue_parked``
#: serves the statements.
PARKED = 10_000_000_000
#: The condition of a parked row, as the partial index ``queue_parked`` has it.
IS_PARKED = f"due >= {PARKED}"
#: Whether the delivery's event was corrected (lists say so too: an index probe a row).
CORRECTED = "EXISTS (SELECT 1 FROM event_revisions r WHERE r.event_id = d.event_id)"
#: :data:`DELIVERY_COLS` as read from :data:`JOINED`, then :data:`CORRECTED`; a live
#: delivery's next attempt is its queue row's due time (while leased, when the lease ends;
#: while parked, when it was due before it was parked).
DELIVERY_SELECT = ", ".join([
    *(STATUS if c == "status" else f"COALESCE(CASE WHEN q.{IS_PARKED} THEN q.due - {PARKED}"
      " ELSE q.due END, d.next_attempt_at)"
      if c == "next_attempt_at" else f"d.{c}" for c in DELIVERY_COLS), CORRECTED])


def id_scope(row_id: str, tenant_id: Optional[str], table: str = "") -> tuple[str, list[Any]]:
    """``WHERE`` text and parameters for one row by id, within a tenant unless ``None``.

    ``table`` qualifies the columns (``"d."``).

    ``None`` is for the sender's internal reads (workers); every tenant-facing path
    passes its tenant, so one tenant's id never finds another tenant's row.
    """
    if tenant_id is None:
        return f"{table}id = ?", [row_id]
    return f"{table}id = ? AND {table}tenant_id = ?", [row_id, tenant_id]


def to_endpoint(row: Sequence[Any]) -> Endpoint:
    """An endpoint from a row of :data:`ENDPOINT_COLS`."""
    values = dict(zip(ENDPOINT_COLS, row))
    for col in JSON_COLS:
        if values[col] is not None:
            values[col] = json.loads(values[col])
    values["allow_local"] = bool(values["allow_local"])
    return Endpoint(**values)


def to_delivery(row: Sequence[Any]) -> Delivery:
    """A delivery from a row of :data:`DELIVERY_SELECT`."""
    return Delivery(**dict(zip(DELIVERY_COLS, row)), corrected=bool(row[len(DELIVERY_COLS)]))


def headers_json(headers: Mapping[str, str]) -> str:
    """``json.dumps(headers)``, byte for byte, at half its cost for a flat dict of strings.

    Every attempt's response headers are stored as JSON; the general encoder's per-call
    set-up cost more than encoding a handful of short strings does.
    """
    try:
        return "{" + ", ".join([encode_basestring_ascii(k) + ": " + encode_basestring_ascii(v)
                                for k, v in headers.items()]) + "}"
    except TypeError:  # a value that is not a str: the general encoder knows what to do
        return json.dumps(headers)
