"""``hookseal-sender endpoints ...``: one function per action."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from ._cli_output import console, endpoint_table, when
from .sender import Sender


def _add(args: argparse.Namespace, sender: Sender) -> None:
    created = sender.create_endpoint(
        args.tenant, args.url, description=args.description or "", event_types=args.event_type,
        profile=args.profile, signing=args.signing, allow_local=args.allow_local,
        notify_email=args.notify_email, versions=dict(args.pin) if args.pin else None)
    console.print(endpoint_table([created.endpoint]))
    for event_type, version in sorted((created.endpoint.versions or {}).items()):
        console.print(f"Pinned: {event_type} v{version}", markup=False)
    console.print(f"Secret (shown once): [bold]{created.secret}[/]")
    console.print(f"Public key: {created.public_key}")


def _list(args: argparse.Namespace, sender: Sender) -> None:
    console.print(endpoint_table(sender.list_endpoints(args.tenant)))


def _update(args: argparse.Namespace, sender: Sender) -> None:
    fields: dict[str, Any] = {}
    for name in ("url", "description", "signing", "profile"):
        if getattr(args, name, None) is not None:
            fields[name] = getattr(args, name)
    if args.event_type is not None:
        fields["event_types"] = args.event_type or None
    if args.pin or args.unpin:
        pins = {**(sender.get_endpoint(args.tenant, args.id).versions or {}), **dict(args.pin or [])}
        for event_type in args.unpin or []:
            pins.pop(event_type, None)
        fields["versions"] = pins or None
    console.print(endpoint_table([sender.update_endpoint(args.tenant, args.id, **fields)]))


def _rotate(args: argparse.Namespace, sender: Sender) -> None:
    rot = sender.rotate_secret(args.tenant, args.id, overlap=args.overlap, actor=args.actor)
    console.print(f"New secret (shown once): [bold]{rot.secret}[/]")
    if rot.public_key:
        console.print(f"Public key: {rot.public_key}")
    console.print(f"The old secret keeps signing until {when(rot.overlap_ends_at)}.")


def _pause(args: argparse.Namespace, sender: Sender) -> None:
    console.print(endpoint_table([sender.pause_endpoint(args.tenant, args.id)]))


def _resume(args: argparse.Namespace, sender: Sender) -> None:
    console.print(endpoint_table([sender.resume_endpoint(args.tenant, args.id)]))


def _delete(args: argparse.Namespace, sender: Sender) -> None:
    sender.delete_endpoint(args.tenant, args.id)
    console.print(f"Deleted {args.id}.", markup=False)


def _keys(args: argparse.Namespace, sender: Sender) -> None:
    keys = sender.public_keys(args.tenant, args.id)
    console.print("Public keys (not secret; publish them for Ed25519 verification):")
    for key in keys:
        console.print(f"  {key}")


def _ping(args: argparse.Namespace, sender: Sender) -> None:
    r = sender.ping(args.tenant, args.id)
    console.print(f"Queued test.ping: delivery {r.deliveries[0][0]}")


_ACTIONS: dict[str, Callable[[argparse.Namespace, Sender], None]] = {
    "add": _add, "list": _list, "update": _update, "rotate": _rotate, "pause": _pause,
    "resume": _resume, "delete": _delete, "keys": _keys, "ping": _ping,
}


def cmd_endpoints(args: argparse.Namespace, sender: Sender) -> int:
    """Run ``endpoints <action>``.

    Args:
        args: Parsed arguments (``action`` and its options).
        sender: The sender.

    Returns:
        The exit status (0).
    """
    _ACTIONS[args.action](args, sender)
    return 0
