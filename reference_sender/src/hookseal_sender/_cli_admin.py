"""The operator's commands of ``hookseal-sender``: ``admin-link`` and ``events correct``."""

from __future__ import annotations

import argparse
import json

from rich.markup import escape

from ._cli_output import console, when
from ._inputs import loads_json
from .sender import Sender

__all__ = ["cmd_admin_link", "cmd_events"]


def cmd_admin_link(args: argparse.Namespace, sender: Sender) -> int:
    """``hookseal-sender admin-link``: print a signed, short-lived console sign-in link."""
    from .admin import issue_admin_link
    from .cli import load_settings  # here: cli imports this module

    base = args.base_url or load_settings(args.config).get("public_url") or \
        "http://127.0.0.1:8090"
    link = issue_admin_link(sender, args.operator, base_url=base, ttl=args.ttl,
                            actor=args.actor)
    if args.json:
        print(json.dumps({"url": link.url, "token": link.token,
                          "expires_at": link.expires_at}))
    else:
        console.print(f"Admin console link for [bold]{escape(args.operator)}[/], valid until "
                      f"{when(link.expires_at)}:")
        print(link.url)
    return 0


def cmd_events(args: argparse.Namespace, sender: Sender) -> int:
    """``hookseal-sender events correct``: replay an event with corrected data."""
    data = loads_json(args.data, "--data")
    done = sender.replay_corrected(args.tenant, args.event_id, data, actor=args.actor,
                                   reason=args.reason)
    console.print(f"Corrected {escape(done.event_id)} (original kept as revision "
                  f"{escape(done.revision_id)}); {done.replayed} of "
                  f"{len(done.delivery_ids)} deliveries queued again, the others send the "
                  "corrected body at their next attempt.")
    return 0
