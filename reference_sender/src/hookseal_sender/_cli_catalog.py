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
    from hookseal_catalog.lifecycle import lifecycle

    catalog = sender.catalog
    t = Table("type", "current", "served", "sunsets")
    for event_type in catalog.event_types():
        versions = [lc for lc in lifecycle(catalog.catalog, event_type) if lc.served()]
        current = next(lc.version for lc in versions if lc.is_current)
        t.add_row(*cells(event_type, f"v{current}",
                         ", ".join(f"v{lc.version}" for lc in versions),
                         ", ".join(f"v{lc.version} {lc.sunset.isoformat()}"
                                   for lc in versions if lc.sunset) or "-"))
    console.print(f"Catalog: {catalog.directory}", markup=False)
    console.print(t)
    return 0
