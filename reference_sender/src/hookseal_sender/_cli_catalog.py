"""``hookseal-sender event-types``: the event types of the sender's catalog."""

from __future__ import annotations

import argparse

from rich.table import Table

from ._cli_output import cells, console
from .sender import Sender


def cmd_event_types(args: argparse.Namespace, sender: Sender) -> int:
    """Print each event type of the sender's catalog (``catalog`` in the settings), its
    current version, the versions served today and the sunset of deprecated ones.

    Args:
        args: Parsed arguments.
        sender: The sender.

    Returns:
        The exit status (0).
    """
    t = Table("type", "current", "served", "sunsets")
    for row in sender.catalog.overview():
        t.add_row(*cells(row["type"], f"v{row['current']}",
                         ", ".join(f"v{v}" for v in row["served"]),
                         ", ".join(f"v{v} {day}" for v, day in row["sunsets"].items()) or "-"))
    console.print(f"Catalog: {sender.catalog.directory}", markup=False)
    console.print(t)
    return 0
