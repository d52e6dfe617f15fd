"""What the ``hookseal-sender`` commands print: the console, times, tables, progress bars."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Optional

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from .models import Delivery, Endpoint

console = Console()


def when(ts: Optional[float]) -> str:
    """A Unix time as local date and time (``-`` for none)."""
    if not ts:
        return "-"
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
    except (OverflowError, OSError, ValueError):  # beyond what the C library can show
        return f"{ts:.0f} (Unix time)"


def progress_bar() -> Progress:
    """A progress bar on the console."""
    # Off a terminal rich draws nothing while running and the final bar once at the end;
    # every command using it then prints a plain summary line as well.
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TaskProgressColumn(), TimeElapsedColumn(), console=console)


def cells(*values: str) -> list[Text]:
    """Table cells shown as they are: stored text (a description, a response body) may
    hold rich markup such as ``[/]``, which must neither style nor break the output."""
    return [Text(v) for v in values]


def _events(e: Endpoint) -> str:
    """An endpoint's event types, and its pinned versions if it has any."""
    types = ", ".join(e.event_types) if e.event_types else "*"
    pins = ", ".join(f"{t} v{v}" for t, v in sorted((e.versions or {}).items()))
    return f"{types} (pinned: {pins})" if pins else types


def endpoint_table(eps: Sequence[Endpoint]) -> Table:
    """Endpoints as a table."""
    t = Table("id", "url", "status", "events", "signing", "profile", "description")
    for e in eps:
        t.add_row(*cells(e.id, e.url,
                          e.status + (f" ({e.status_reason})" if e.status_reason else ""),
                          _events(e), e.signing,
                          e.profile, e.description))
    return t


def delivery_table(ds: Sequence[Delivery]) -> Table:
    """Deliveries as a table."""
    t = Table("id", "endpoint", "type", "status", "attempts", "last", "next attempt", "created")
    for d in ds:
        last = str(d.last_status_code or d.last_error or "-")
        t.add_row(*cells(d.id, d.endpoint_id, d.event_type, d.status, str(d.attempt_count),
                          last, when(d.next_attempt_at) if d.status == "pending" else "-",
                          when(d.created_at)))
    return t
