"""What the ``hookseal-sender`` commands print: the console, times, tables, progress bars."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional, Union

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.syntax import Syntax
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
    """A progress bar with the time left, drawn only on a terminal.

    Off a terminal (a pipe, a log file, CI) it draws nothing; every command using it
    prints a plain summary line as well.
    """
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TaskProgressColumn(), TimeElapsedColumn(), TextColumn("left"),
                    TimeRemainingColumn(), console=console, disable=not console.is_terminal)


def print_json(document: Any) -> None:
    """Print one JSON document (``--json``) on stdout, as is: no colour, no wrapping."""
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def cells(*values: str) -> list[Text]:
    """Table cells shown as they are: stored text (a description, a response body) may
    hold rich markup such as ``[/]``, which must neither style nor break the output."""
    return [Text(v) for v in values]


@dataclass(frozen=True)
class Col:
    """A table column: ``ident`` columns hold ids, never cut or wrapped; the others wrap,
    and the last of them (in :func:`fitted_table`'s ``keep`` order) are left out when the
    console is too narrow for all.

    Attributes:
        name: The header.
        ident: Whether it holds ids.
    """

    name: str
    ident: bool = False


#: Narrowest a wrapping column is squeezed to before it is left out instead.
MIN_WRAP = 10
#: Text up to this long is never wrapped: the column is left out instead.
NO_WRAP_UP_TO = 20
#: Spaces between two columns (no rules: as gh and kubectl print, and more fits).
GAP = 2


def fitted_table(cols: Sequence[Col], rows: Sequence[Sequence[str]], keep: Sequence[str],
                 width: Optional[int] = None) -> Table:
    """A table that fits ``width`` with every id whole.

    Columns are left out, last in ``keep`` first, until the id columns and short columns
    (up to :data:`NO_WRAP_UP_TO`) at full width and the others at :data:`MIN_WRAP` fit;
    what is kept wraps.

    Args:
        cols: The columns, in display order.
        rows: The cells, one string per column.
        keep: Column names, most important first (the first is never left out).
        width: The width to fit (default: the console's).

    Returns:
        The table.
    """
    width = width or console.width
    need = {}
    for i, c in enumerate(cols):
        longest = max([len(c.name), *(len(r[i]) for r in rows)])
        # Short text (a status, a time) is kept on one line; long text may wrap.
        need[c.name] = longest if c.ident or longest <= NO_WRAP_UP_TO \
            else max(MIN_WRAP, len(c.name))
    shown = [name for name in keep if name in need]
    while len(shown) > 1 and sum(need[n] for n in shown) + GAP * (len(shown) - 1) > width:
        shown.pop()
    idx = [i for i, c in enumerate(cols) if c.name in shown]
    t = Table(box=None, padding=(0, GAP, 0, 0), pad_edge=False, header_style="bold")
    for i in idx:
        c = cols[i]
        if c.ident:
            t.add_column(c.name, no_wrap=True, min_width=need[c.name])
        elif need[c.name] <= NO_WRAP_UP_TO and need[c.name] >= max(
                len(r[i]) for r in [[c.name] * len(cols), *rows]):
            t.add_column(c.name, no_wrap=True)
        else:
            t.add_column(c.name, overflow="fold")
    for r in rows:
        t.add_row(*cells(*(r[i] for i in idx)))
    return t


_ENDPOINT_COLS = (Col("id", True), Col("url"), Col("status"), Col("events"), Col("signing"),
                  Col("profile"), Col("description"))
_ENDPOINT_KEEP = ("id", "url", "status", "events", "description", "signing", "profile")


def _events(e: Endpoint) -> str:
    """An endpoint's event types, and its pinned versions if it has any."""
    types = ", ".join(e.event_types) if e.event_types else "*"
    pins = ", ".join(f"{t} v{v}" for t, v in sorted((e.versions or {}).items()))
    return f"{types} (pinned: {pins})" if pins else types


def endpoint_table(eps: Sequence[Endpoint], width: Optional[int] = None) -> Table:
    """Endpoints as a table (ids whole; see :func:`fitted_table`)."""
    rows = [(e.id, e.url, e.status + (f" ({e.status_reason})" if e.status_reason else ""),
             _events(e), e.signing, e.profile, e.description) for e in eps]
    return fitted_table(_ENDPOINT_COLS, rows, _ENDPOINT_KEEP, width)


_DELIVERY_COLS = (Col("id", True), Col("endpoint", True), Col("type"), Col("status"),
                  Col("attempts"), Col("last"), Col("next attempt"), Col("created"))
_DELIVERY_KEEP = ("id", "endpoint", "status", "type", "attempts", "last", "created",
                  "next attempt")


def delivery_table(ds: Sequence[Delivery], width: Optional[int] = None) -> Table:
    """Deliveries as a table (ids whole; see :func:`fitted_table`)."""
    rows = [(d.id, d.endpoint_id, d.event_type, d.status, str(d.attempt_count),
             str(d.last_status_code or d.last_error or "-"),
             when(d.next_attempt_at) if d.status == "pending" else "-", when(d.created_at))
            for d in ds]
    return fitted_table(_DELIVERY_COLS, rows, _DELIVERY_KEEP, width)


def body(payload: str) -> Union[Syntax, Text]:
    """A delivery body for people: indented JSON, highlighted on a terminal (rich drops
    the colours elsewhere); a body that is not JSON as it is."""
    try:
        pretty = json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
    except ValueError:
        return Text(payload)
    return Syntax(pretty, "json", theme="ansi_dark", word_wrap=True, background_color="default")
