"""What ``hookseal-sender serve`` logs, and how: levels, the text and JSON line formats.

Every part of the sender logs with the standard :mod:`logging` module under the
``hookseal_sender`` logger; a record may carry structured fields (``extra={"fields":
{...}}``, see :func:`fields`). :func:`setup_logging` sends them to stderr, one line per
record, as text for people or as one JSON object per line for a log shipper. The JSON
field names are part of the documented interface (docs/operations.md, "What serve logs").

Records go through a queue to a thread that writes them, so a slow or blocked stderr (a
full pipe to a log shipper) never stalls the delivery loop.
"""

from __future__ import annotations

import copy
import json
import logging
import logging.handlers
import queue
import sys
import time
from typing import IO, Any, Optional

__all__ = ["DELIVERY_LOGGER", "FORMATS", "LEVELS", "JsonFormatter", "LogSetup", "TextFormatter",
           "fields", "setup_logging"]

#: The logger of the one line per finished attempt (info level).
DELIVERY_LOGGER = "hookseal_sender.delivery"
#: ``--log-level`` choices, quietest last.
LEVELS = ("debug", "info", "warning", "error")
#: ``--log-format`` choices.
FORMATS = ("text", "json")

#: Attributes every :class:`logging.LogRecord` has; anything else came in ``extra``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "taskName"}


def fields(**values: Any) -> dict[str, Any]:
    """The ``extra`` argument that attaches structured fields to a log record.

    Args:
        **values: Field names and values (JSON-serialisable).

    Returns:
        ``{"fields": values}``, for ``logger.info(msg, extra=...)``.
    """
    return {"fields": values}


_second: list[Any] = [None, ""]  # the last whole second formatted, and its text


def _utc(created: float) -> str:
    """A record's time as RFC 3339 UTC with milliseconds: ``2026-12-07T05:20:01.123Z``."""
    whole = int(created)
    if _second[0] != whole:  # one strftime a second, not one a line (one writer thread)
        _second[:] = [whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))]
    return f"{_second[1]}.{int((created - whole) * 1000):03d}Z"


def _fields_of(record: logging.LogRecord) -> dict[str, Any]:
    found = getattr(record, "fields", None)
    return dict(found) if isinstance(found, dict) else {}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time``, ``level``, ``logger``, ``message``, the
    record's fields, and ``exception`` (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        """Format one record.

        Args:
            record: The record.

        Returns:
            One line of JSON.
        """
        out: dict[str, Any] = {"time": _utc(record.created),
                               "level": record.levelname.lower(),
                               "logger": record.name,
                               "message": record.getMessage()}
        for key, value in _fields_of(record).items():
            out.setdefault(key, value)
        exc = record.exc_text or (self.formatException(record.exc_info)
                                  if record.exc_info else None)
        if exc:
            out["exception"] = exc
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2026-12-07T05:20:01.123Z INFO  hookseal_sender.delivery message key=value ...``."""

    def format(self, record: logging.LogRecord) -> str:
        """Format one record.

        Args:
            record: The record.

        Returns:
            One line (more when a traceback follows).
        """
        parts = [_utc(record.created), f"{record.levelname:<7}", record.name,
                 record.getMessage()]
        for key, value in _fields_of(record).items():
            if value is None:
                continue
            kind = type(value)
            if kind is int or kind is float:  # most fields: no JSON encoder for them
                text = repr(value)
            elif kind is str and value and " " not in value and '"' not in value \
                    and "=" not in value:
                text = value
            else:
                text = json.dumps(value, default=str, ensure_ascii=False)
            parts.append(f"{key}={text}")
        line = " ".join(parts)
        exc = record.exc_text or (self.formatException(record.exc_info)
                                  if record.exc_info else None)
        return f"{line}\n{exc}" if exc else line


class _Enqueue(logging.handlers.QueueHandler):
    """Hands records to the writer thread with their fields intact.

    (The stock ``prepare`` formats the message with the traceback folded into it; this one
    resolves the message and keeps the traceback apart, for the JSON ``exception`` field.)
    """

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """A copy of ``record`` with its message resolved and its traceback as text (the
        original is left as it was for any other handler)."""
        out = copy.copy(record)
        out.msg = record.getMessage()
        out.args = None
        if record.exc_info:
            out.exc_text = logging.Formatter().formatException(record.exc_info)
            out.exc_info = None
        return out


class LogSetup:
    """What :func:`setup_logging` installed; :meth:`close` writes what is queued and
    removes it.

    Attributes:
        level: The level name in force.
        format: ``text`` or ``json``.
    """

    def __init__(self, level: str, fmt: str, handler: logging.Handler,
                 listener: logging.handlers.QueueListener) -> None:
        self.level = level
        self.format = fmt
        self._handler = handler
        self._listener = listener
        self._before = (logging.getLogger().level, logging.getLogger("hookseal_sender").level,
                        logging.logProcesses, logging.logThreads, logging.logMultiprocessing)

    def close(self) -> None:
        """Flush the queue, uninstall the handler, and put the levels back as they were."""
        logging.getLogger().removeHandler(self._handler)
        self._listener.stop()
        root, ours, processes, threads, multi = self._before
        logging.getLogger().setLevel(root)
        logging.getLogger("hookseal_sender").setLevel(ours)
        logging.logProcesses, logging.logThreads, logging.logMultiprocessing = \
            processes, threads, multi


def setup_logging(level: str = "info", fmt: str = "text",
                  stream: Optional[IO[str]] = None) -> LogSetup:
    """Send every log record of the process at ``level`` or above to ``stream``.

    The root logger gets one handler (so uvicorn's and the libraries' records come out in
    the same format); the ``hookseal_sender`` loggers log at ``level``, others at
    ``warning`` or above.

    Args:
        level: One of :data:`LEVELS`.
        fmt: ``text`` (for people) or ``json`` (one object per line).
        stream: Where lines go (default: stderr).

    Returns:
        The setup; call :meth:`LogSetup.close` at exit.

    Raises:
        ValueError: An unknown level or format.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r} (one of {', '.join(LEVELS)})")
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r} (one of {', '.join(FORMATS)})")
    out = logging.StreamHandler(stream or sys.stderr)
    out.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    records: queue.SimpleQueue[Any] = queue.SimpleQueue()
    handler = _Enqueue(records)
    listener = logging.handlers.QueueListener(records, out)
    setup = LogSetup(level, fmt, handler, listener)
    listener.start()
    # No format prints the process or thread: skip looking them up for every record.
    logging.logProcesses = logging.logThreads = logging.logMultiprocessing = False
    root = logging.getLogger()
    root.addHandler(handler)
    # uvicorn's loggers may have handlers of their own from an earlier uvicorn.run with its
    # default log config (propagation off): take them back to this one.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uv = logging.getLogger(name)
        uv.handlers.clear()
        uv.propagate = True
    numeric = getattr(logging, level.upper())
    root.setLevel(max(numeric, logging.WARNING))
    logging.getLogger("hookseal_sender").setLevel(numeric)
    return setup
