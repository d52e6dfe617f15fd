"""Backfill: enqueue events that never reached the outbox, with their own ids and times.

When a bug stopped enqueueing for a while, the provider's own table still holds the
events. A backfill reads them (JSON lines, or a SQL query against that table), checks
every one against the catalog before writing anything, then enqueues each to its
tenant's subscribed endpoints, keeping its event id and creation time. The event id is
the ``events`` table's primary key and each event is inserted only if absent, in the
transaction that writes its deliveries: running the same backfill twice, or two at once
from two processes, sends every event once.

An event record has these fields (no others):

- ``id``: the event id (a name: 1 to 200 characters, no control characters); the
  envelope's ``id`` and what receivers deduplicate by;
- ``type``: the catalog event type;
- ``created``: when the event happened: Unix seconds, or an ISO 8601 / RFC 3339 time
  with a UTC offset (``2026-12-06T10:00:00Z``); a SQL ``timestamp`` without a time zone
  is taken as UTC. At most :data:`MAX_FUTURE_SKEW` seconds ahead of now;
- ``tenant``: the tenant (customer) whose endpoints receive it;
- ``data``: the event data (a JSON object; from SQL, JSON text or a ``json``/``jsonb``
  value), validated against the catalog;
- ``livemode`` (optional, default ``true``): the envelope's ``livemode``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Optional
from urllib.parse import urlsplit

from . import _inputs as inputs
from .catalog import Validator
from .errors import ConfigError, InvalidRequestError, SenderError
from .outbox import envelope
from .storage.base import BackfillRow

__all__ = ["BACKFILL_BATCH", "FIELDS", "MAX_BACKFILL_EVENTS", "MAX_FUTURE_SKEW",
           "BackfillError", "BackfillEvent", "BackfillReport", "LineError", "backfill",
           "parse_events", "read_jsonl", "read_sql"]

#: Events written per transaction.
BACKFILL_BATCH = 500
#: The most events one backfill takes (all are checked before any is written, so they
#: are held in memory): split a larger source.
MAX_BACKFILL_EVENTS = 200_000
#: Seconds a ``created`` time may lie ahead of now (clock skew between systems).
MAX_FUTURE_SKEW = 300.0
#: The fields of an event record; ``livemode`` is optional.
FIELDS = ("id", "type", "created", "tenant", "data", "livemode")
#: Bad records reported at most (the rest are counted).
MAX_REPORTED = 100

#: ``on_progress(done, total)``: events written (or found already stored) so far, of all.
BackfillProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class LineError:
    """A bad record: where it is and what is wrong.

    Attributes:
        line: The line (JSON lines), row (SQL) or item (API) number, from 1.
        code: ``invalid_request`` (a malformed record) or ``invalid_payload`` (data the
            catalog refuses).
        detail: What is wrong.
    """

    line: int
    code: str
    detail: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.code}: {self.detail}"


class BackfillError(InvalidRequestError):
    """Some records are bad: nothing was written.

    Attributes:
        errors: The bad records (at most :data:`MAX_REPORTED`).
        bad: How many records were bad.
    """

    def __init__(self, errors: Sequence[LineError], bad: int) -> None:
        self.errors = list(errors)
        self.bad = bad
        more = f" (and {bad - len(errors)} more)" if bad > len(errors) else ""
        super().__init__(f"{bad} bad record(s), nothing was written: "
                         + "; ".join(str(e) for e in self.errors[:5]) + more)


@dataclass(frozen=True)
class BackfillEvent:
    """One checked event of a backfill.

    Attributes:
        line: Where it came from (line, row or item number).
        event_id: The event id.
        event_type: The type.
        created: Unix time it was created.
        tenant_id: The tenant.
        payload: The envelope every delivery sends.
    """

    line: int
    event_id: str
    event_type: str
    created: float
    tenant_id: str
    payload: str


@dataclass
class BackfillReport:
    """What a backfill did, or would do (``dry_run``).

    Attributes:
        events: Events read.
        enqueued: Events written (dry run: that would be written).
        already_stored: Events skipped because their id was stored already.
        deliveries: Deliveries created (dry run: that the endpoints subscribed now would
            get).
        dry_run: Nothing was written.
        tenants: Per tenant: ``{"events", "enqueued", "already_stored", "deliveries"}``.
    """

    events: int = 0
    enqueued: int = 0
    already_stored: int = 0
    deliveries: int = 0
    dry_run: bool = False
    tenants: dict[str, dict[str, int]] = field(default_factory=dict)

    def _tenant(self, tenant: str) -> dict[str, int]:
        return self.tenants.setdefault(tenant, {"events": 0, "enqueued": 0,
                                                "already_stored": 0, "deliveries": 0})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data.

        Returns:
            The fields as a dict.
        """
        return {"events": self.events, "enqueued": self.enqueued,
                "already_stored": self.already_stored, "deliveries": self.deliveries,
                "dry_run": self.dry_run, "tenants": self.tenants}


# reading ------------------------------------------------------------------
def read_jsonl(source: IO[str]) -> Iterator[tuple[int, Any]]:
    """The records of a JSON lines stream, numbered from 1; blank lines are skipped.

    A line that is not JSON yields an :class:`InvalidRequestError` in place of its record
    (:func:`parse_events` reports it with the others).

    Args:
        source: A text stream.

    Yields:
        ``(line_number, record)``.
    """
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except (ValueError, RecursionError) as exc:
            yield number, InvalidRequestError(f"not JSON: {exc}")


def read_sql(dsn: str, query: str) -> list[tuple[int, Any]]:
    """Run a query against the provider's own database (read-only) and return its rows as
    records, each column named by the query (``SELECT evt_id AS id, ...``).

    Args:
        dsn: ``postgresql://...`` (psycopg) or ``sqlite:///path.db`` (opened read-only; a
            relative path, or ``sqlite:////absolute/path.db``).
        query: One ``SELECT``; its columns are the record fields (:data:`FIELDS`).

    Returns:
        ``(row_number, record)`` for each row, numbered from 1.

    Raises:
        ConfigError: An unknown kind of DSN, or the database cannot be opened.
        InvalidRequestError: The query fails (the database's message is kept) or returns
            more than :data:`MAX_BACKFILL_EVENTS` rows.
    """
    if dsn.startswith(("postgresql://", "postgres://")):
        import psycopg

        try:
            conn: Any = psycopg.connect(dsn, autocommit=False, connect_timeout=10)
        except psycopg.Error as exc:
            raise ConfigError(f"cannot connect to {urlsplit(dsn).hostname}: {exc}") from None
        conn.read_only = True  # the query only reads the provider's table
        errors: tuple[type[BaseException], ...] = (psycopg.Error,)
    elif dsn.startswith("sqlite:///"):
        path = dsn[len("sqlite:///"):]  # as the sender's own database: sqlite:////abs/path.db
        if not Path(path).is_file():
            raise ConfigError(f"--dsn: no SQLite database {path}")
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        errors = (sqlite3.Error,)
    else:
        raise ConfigError("--dsn must be postgresql://... or sqlite:///path.db")
    try:
        cur = conn.cursor()
        try:
            cur.execute(query)
        except errors as exc:
            raise InvalidRequestError(f"the query failed: {exc}") from None
        if cur.description is None:
            raise InvalidRequestError("the query returned no rows (give a SELECT)")
        names = [d[0] for d in cur.description]
        rows = cur.fetchmany(MAX_BACKFILL_EVENTS + 1)
        if len(rows) > MAX_BACKFILL_EVENTS:
            raise InvalidRequestError(f"the query returned more than {MAX_BACKFILL_EVENTS}"
                                      " rows; backfill in smaller ranges")
        return [(n, dict(zip(names, row))) for n, row in enumerate(rows, start=1)]
    finally:
        conn.close()


# checking -----------------------------------------------------------------
def _created(value: Any, now: float) -> float:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # a SQL timestamp without time zone: UTC
            value = value.replace(tzinfo=dt.timezone.utc)
        ts = float(value.timestamp())
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise InvalidRequestError(f"created: {value[:40]!r} is not an ISO 8601 time "
                                      "such as 2026-12-06T10:00:00Z") from None
        if parsed.tzinfo is None:
            raise InvalidRequestError("created: give a UTC offset (Z or +01:00)")
        ts = parsed.timestamp()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        ts = float(value)
    else:
        raise InvalidRequestError("created must be Unix seconds or an ISO 8601 time")
    if not math.isfinite(ts) or not 0 <= ts <= inputs.MAX_UNIX_TIME:
        raise InvalidRequestError("created is out of range")
    if ts > now + MAX_FUTURE_SKEW:
        raise InvalidRequestError("created lies in the future")
    return ts


def _event(line: int, record: Any, now: float, validator: Validator,
           tenant: Optional[str]) -> BackfillEvent:
    if isinstance(record, SenderError):
        raise record
    if not isinstance(record, dict):
        raise InvalidRequestError("a record must be a JSON object with " + ", ".join(FIELDS))
    unknown = sorted(set(record) - set(FIELDS))
    if unknown:
        raise InvalidRequestError(f"unknown field {unknown[0]!r} (fields: {', '.join(FIELDS)})")
    record_tenant = record.get("tenant", tenant)
    missing = [f for f in ("id", "type", "created", "data") if record.get(f) is None]
    if record_tenant is None:
        missing.append("tenant")
    if missing:
        raise InvalidRequestError(f"missing field {missing[0]!r}")
    if tenant is not None and record_tenant != tenant:
        raise InvalidRequestError(f"tenant {str(record_tenant)[:40]!r} is not {tenant!r}")
    event_id = inputs.check_name(record["id"], "id")
    event_type = inputs.check_name(record["type"], "type")
    tenant_id = inputs.check_name(record_tenant, "tenant")
    created = _created(record["created"], now)
    data = record["data"]
    if isinstance(data, str):  # JSON text from a SQL column
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            raise InvalidRequestError("data is text but not JSON") from None
    livemode = record.get("livemode", True)
    if not isinstance(livemode, bool):
        raise InvalidRequestError("livemode must be true or false")
    version = validator(event_type, data)
    return BackfillEvent(line, event_id, event_type, created, tenant_id,
                         envelope(event_id, event_type, data, created, version=version,
                                  livemode=livemode))


def parse_events(records: Iterable[tuple[int, Any]], validator: Validator, *,
                 tenant: Optional[str] = None, now: Optional[float] = None,
                 ) -> list[BackfillEvent]:
    """Check every record; return the events only if all of them are good.

    Args:
        records: ``(line_number, record)`` pairs (from :func:`read_jsonl`,
            :func:`read_sql` or an API body).
        validator: The catalog validator (the sender's).
        tenant: If given, every record is this tenant's (its ``tenant`` may be left out).
        now: Unix time (tests).

    Returns:
        The events, in order.

    Raises:
        BackfillError: Some records are bad (each with its line number), an event id
            appears twice, or there are more than :data:`MAX_BACKFILL_EVENTS`.
    """
    ts = time.time() if now is None else now
    events: list[BackfillEvent] = []
    errors: list[LineError] = []
    bad = 0
    seen: dict[str, int] = {}
    for line, record in records:
        if len(events) + bad >= MAX_BACKFILL_EVENTS:
            raise BackfillError([LineError(line, "invalid_request",
                                           f"more than {MAX_BACKFILL_EVENTS} events; "
                                           "backfill in smaller parts")], bad + 1)
        try:
            event = _event(line, record, ts, validator, tenant)
            first = seen.setdefault(event.event_id, line)
            if first != line:
                raise InvalidRequestError(f"id {event.event_id!r} is also on line {first}")
        except SenderError as exc:
            bad += 1
            if len(errors) < MAX_REPORTED:
                errors.append(LineError(line, exc.code, exc.detail))
            continue
        events.append(event)
    if bad:
        raise BackfillError(errors, bad)
    return events


# writing ------------------------------------------------------------------
def backfill(sender: Any, events: Sequence[BackfillEvent], *, dry_run: bool = False,
             actor: str = "api", reason: str = "", source: str = "",
             batch_size: int = BACKFILL_BATCH, on_progress: Optional[BackfillProgress] = None,
             now: Optional[float] = None) -> BackfillReport:
    """Enqueue checked events, each at most once, keeping their ids and times.

    Each batch of ``batch_size`` events is one transaction; an event whose id is stored
    already (sent before, or by another backfill) is skipped and counted. Stopped midway
    (a crash), the events of committed batches stay queued and running the backfill
    again enqueues the rest. Each tenant's backfill is in its audit log.

    Args:
        sender: The :class:`~hookseal_sender.Sender`.
        events: From :func:`parse_events`.
        dry_run: Only count: how many are stored already, how many deliveries the
            endpoints subscribed now would get.
        actor: Who (audit log).
        reason: Why (audit log).
        source: Where the events came from (audit log): a file name, "sql", "api".
        batch_size: Events per transaction (1 to 10,000).
        on_progress: Called as ``on_progress(done, total)`` after each batch.
        now: Unix time the deliveries are created and due (tests).

    Returns:
        The counts.

    Raises:
        InvalidRequestError: A bad actor, reason or batch size (nothing written).
    """
    inputs.check_name(actor, "actor", inputs.MAX_ACTOR)
    inputs.check_text(reason, "reason", inputs.MAX_REASON, multiline=True)
    inputs.check_batch_size(batch_size, 10_000)
    store = sender.store
    report = BackfillReport(events=len(events), dry_run=dry_run)
    for e in events:
        report._tenant(e.tenant_id)["events"] += 1
    total = len(events)
    if on_progress is not None:
        on_progress(0, total)
    if dry_run:
        stored = store.stored_event_ids([e.event_id for e in events])
        counts = store.subscriber_counts([(e.tenant_id, e.event_type) for e in events])
        for e in events:
            row = report._tenant(e.tenant_id)
            if e.event_id in stored:
                report.already_stored += 1
                row["already_stored"] += 1
            else:
                n = counts[(e.tenant_id, e.event_type)]
                report.enqueued += 1
                report.deliveries += n
                row["enqueued"] += 1
                row["deliveries"] += n
        if on_progress is not None:
            on_progress(total, total)
        return report
    for start in range(0, total, batch_size):
        batch = events[start:start + batch_size]
        written = store.backfill_events(
            [BackfillRow(e.event_id, e.tenant_id, e.event_type, e.payload, e.created)
             for e in batch], time.time() if now is None else now)
        for e, deliveries in zip(batch, written):
            row = report._tenant(e.tenant_id)
            if deliveries is None:
                report.already_stored += 1
                row["already_stored"] += 1
                continue
            report.enqueued += 1
            report.deliveries += len(deliveries)
            row["enqueued"] += 1
            row["deliveries"] += len(deliveries)
            sender.metrics.child(sender.metrics.enqueued, e.event_type).inc()
            sender.metrics.deliveries_created.inc(len(deliveries))
        sender.wake_workers()
        if on_progress is not None:
            on_progress(min(start + batch_size, total), total)
    for tenant, row in sorted(report.tenants.items()):
        sender.audit(tenant, actor, "backfill", reason,
                     {"source": source[:200], "events": row["events"], "enqueued": row["enqueued"],
                      "already_stored": row["already_stored"], "deliveries": row["deliveries"]})
    return report
