"""``hookseal-sender endpoints ...``: one function per action."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from ._cli_auth import auth_from_args
from ._cli_options import describe_options, options_from_args
from ._cli_output import console, endpoint_table, print_json, when
from .errors import InvalidRequestError
from .models import Endpoint
from .sender import Sender


def endpoint_json(ep: Endpoint) -> dict[str, Any]:
    """An endpoint as ``--json`` prints it: the admin API's fields (``allow_local``, a
    setting of the operator's, is left out there too)."""
    data = ep.to_dict()
    data.pop("allow_local", None)
    return data


def _add(args: argparse.Namespace, sender: Sender) -> None:
    created = sender.create_endpoint(
        args.tenant, args.url, description=args.description or "", event_types=args.event_type,
        profile=args.profile, signing=args.signing, allow_local=args.allow_local,
        notify_email=args.notify_email, auth=auth_from_args(args),
        versions=dict(args.pin) if args.pin else None, **options_from_args(args))
    console.print(endpoint_table([created.endpoint]))
    for event_type, version in sorted((created.endpoint.versions or {}).items()):
        console.print(f"Pinned: {event_type} v{version}", markup=False)
    for line in describe_options(created.endpoint):
        console.print(line, markup=False)
    console.print(f"Secret (shown once): [bold]{created.secret}[/]")
    console.print(f"Public key: {created.public_key}")


def _list(args: argparse.Namespace, sender: Sender) -> None:
    eps = sender.list_endpoints(args.tenant)
    if args.json:
        print_json({"endpoints": [endpoint_json(e) for e in eps]})
        return
    console.print(endpoint_table(eps))


def _update(args: argparse.Namespace, sender: Sender) -> None:
    fields: dict[str, Any] = {}
    for name in ("url", "description", "signing", "profile"):
        if getattr(args, name, None) is not None:
            fields[name] = getattr(args, name)
    if args.event_type is not None:
        fields["event_types"] = args.event_type or None
    fields.update(options_from_args(args))
    if args.pin or args.unpin:
        pins = {**(sender.get_endpoint(args.tenant, args.id).versions or {}), **dict(args.pin or [])}
        for event_type in args.unpin or []:
            pins.pop(event_type, None)
        fields["versions"] = pins or None
    updated = sender.update_endpoint(args.tenant, args.id, **fields)
    console.print(endpoint_table([updated]))
    for line in describe_options(updated):
        console.print(line, markup=False)


def _rotate(args: argparse.Namespace, sender: Sender) -> None:
    rot = sender.rotate_secret(args.tenant, args.id, overlap=args.overlap, actor=args.actor)
    console.print(f"New secret (shown once): [bold]{rot.secret}[/]")
    if rot.public_key:
        console.print(f"Public key: {rot.public_key}")
    console.print(f"The old secret keeps signing until {when(rot.overlap_ends_at)}.")


def _set_auth(args: argparse.Namespace, sender: Sender) -> None:
    auth = auth_from_args(args)
    if (auth is None) != bool(args.none):
        raise InvalidRequestError("give --none, or the options of one kind of authentication")
    ep = sender.update_endpoint(args.tenant, args.id, auth=auth)
    console.print(endpoint_table([ep]))
    console.print("Authentication removed." if auth is None else
                  f"Authentication set ({auth['type']}); its secrets are stored encrypted and "
                  "are not shown again.")


def _pause(args: argparse.Namespace, sender: Sender) -> None:
    console.print(endpoint_table([sender.pause_endpoint(args.tenant, args.id)]))


def _resume(args: argparse.Namespace, sender: Sender) -> None:
    console.print(endpoint_table([sender.resume_endpoint(args.tenant, args.id)]))


def _delete(args: argparse.Namespace, sender: Sender) -> None:
    sender.delete_endpoint(args.tenant, args.id)
    console.print(f"Deleted {args.id}.", markup=False)


def _keys(args: argparse.Namespace, sender: Sender) -> None:
    keys = sender.public_keys(args.tenant, args.id)
    if args.json:
        print_json({"endpoint_id": args.id, "public_keys": keys})
        return
    console.print("Public keys (not secret; publish them for Ed25519 verification):")
    for key in keys:
        console.print(f"  {key}")


def _ping(args: argparse.Namespace, sender: Sender) -> None:
    r = sender.ping(args.tenant, args.id)
    console.print(f"Queued test.ping: delivery {r.deliveries[0][0]}")


_ACTIONS: dict[str, Callable[[argparse.Namespace, Sender], None]] = {
    "add": _add, "list": _list, "update": _update, "rotate": _rotate, "pause": _pause,
    "resume": _resume, "delete": _delete, "keys": _keys, "ping": _ping, "set-auth": _set_auth,
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
