"""The delivery log's export (CSV and JSON), for a customer's incident report.

Every row the log's filters select, streamed a page at a time (the same tenant-scoped,
cursor-paged read as the log page), so an export of a million rows holds one page in
memory. CSV cells a spreadsheet would run as a formula (starting ``=``, ``+``, ``-``,
``@``, tab or carriage return) are prefixed with ``'``: an endpoint's answer or an event
type is text the customer did not write.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any, Optional

from ..models import Delivery, DeliveryFilter
from ..sender import Sender

#: The fields of each exported delivery, in this order (CSV columns, JSON keys).
EXPORT_FIELDS = ("delivery_id", "event_id", "event_type", "endpoint_id", "endpoint_url",
                 "status", "attempts", "last_status_code", "last_error", "created_at",
                 "updated_at", "next_attempt_at")
#: Deliveries read per store call.
EXPORT_PAGE = 500
#: Leading characters that make a spreadsheet cell a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Characters of output gathered before a chunk is sent.
_CHUNK = 64 * 1024

__all__ = ["EXPORT_FIELDS", "FORMULA_START", "csv_export", "export_deliveries",
           "export_record", "iso_time", "json_export", "neutralise"]


def iso_time(ts: Optional[float]) -> Optional[str]:
    """A Unix time as ISO 8601 UTC with milliseconds (``2026-12-07T05:13:37.123Z``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds"
                                                                 ).replace("+00:00", "Z")


def export_deliveries(sender: Sender, tenant_id: str, flt: DeliveryFilter) -> Iterator[Delivery]:
    """Every delivery of a tenant the filter selects, newest first, a page per read.

    Args:
        sender: The sender.
        tenant_id: The tenant; no other tenant's delivery is ever read.
        flt: The log's filters.

    Yields:
        The deliveries.
    """
    cursor: Optional[str] = None
    while True:
        page = sender.store.page_deliveries(tenant_id, flt, limit=EXPORT_PAGE, before=cursor)
        yield from page.deliveries
        if page.older is None:
            return
        cursor = page.older


def export_record(d: Delivery, urls: Mapping[str, str]) -> dict[str, Any]:
    """One delivery as exported: :data:`EXPORT_FIELDS`, times in ISO 8601 UTC.

    Args:
        d: The delivery.
        urls: Endpoint id to URL (the tenant's endpoints).

    Returns:
        Field name to value (``None`` where there is none).
    """
    return {"delivery_id": d.id, "event_id": d.event_id, "event_type": d.event_type,
            "endpoint_id": d.endpoint_id, "endpoint_url": urls.get(d.endpoint_id),
            "status": d.status, "attempts": d.attempt_count,
            "last_status_code": d.last_status_code, "last_error": d.last_error,
            "created_at": iso_time(d.created_at), "updated_at": iso_time(d.updated_at),
            "next_attempt_at": iso_time(d.next_attempt_at) if d.status == "pending" else None}


def neutralise(value: Any) -> str:
    """A CSV cell: text a spreadsheet would run as a formula gets a leading ``'``.

    Args:
        value: The value (``None`` becomes an empty cell).

    Returns:
        The cell's text.
    """
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_export(records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The records as CSV (RFC 4180: a header row, CRLF, quoted where needed), in chunks.

    Args:
        records: :func:`export_record` results.

    Yields:
        Pieces of the CSV text.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(EXPORT_FIELDS)
    for record in records:
        writer.writerow([neutralise(record[name]) for name in EXPORT_FIELDS])
        if buffer.tell() >= _CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_export(meta: Mapping[str, Any], records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The records as one JSON document, ``{...meta, "deliveries": [...]}``, in chunks.

    Args:
        meta: Keys written before the deliveries (when, which filters).
        records: :func:`export_record` results.

    Yields:
        Pieces of the JSON text.
    """
    head = json.dumps(dict(meta), ensure_ascii=False)
    parts = [head[:-1] + (', ' if meta else '') + '"deliveries": [']
    size, first = 0, True
    for record in records:
        text = ("\n  " if first else ",\n  ") + json.dumps(record, ensure_ascii=False)
        first = False
        parts.append(text)
        size += len(text)
        if size >= _CHUNK:
            yield "".join(parts)
            parts, size = [], 0
    parts.append("\n]}\n" if not first else "]}\n")
    yield "".join(parts)
