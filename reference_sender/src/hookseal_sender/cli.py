"""The ``hookseal-sender`` command line."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from rich.console import Console
from rich.table import Table

from . import __version__
from .config import SenderConfig
from .errors import SenderError
from .models import Delivery, DeliveryFilter, Endpoint
from .notify import SMTPNotifier
from .secretbox import generate_master_key
from .sender import Sender

CONFIG_ENV = "HOOKSEAL_SENDER_CONFIG"
TENANT_ENV = "HOOKSEAL_SENDER_TENANT"
DEFAULT_CONFIG = "hookseal-sender.json"

console = Console()


def _when(ts: Optional[float]) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def load_settings(path: Optional[str]) -> dict[str, Any]:
    """Read the JSON settings file written by ``init``.

    Args:
        path: The file (default: ``$HOOKSEAL_SENDER_CONFIG`` or ``./hookseal-sender.json``).

    Returns:
        The settings, with relative paths resolved against the file's directory.
    """
    file = Path(path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)
    if not file.exists():
        raise SenderError(f"no settings file {file}: run `hookseal-sender init` first")
    settings: dict[str, Any] = json.loads(file.read_text())
    base = file.resolve().parent
    db = settings.get("database", "sqlite:///hookseal-sender.db")
    if db.startswith("sqlite:///") and not db.startswith("sqlite:////"):
        settings["database"] = f"sqlite:///{base / db[len('sqlite:///'):]}"
    if settings.get("master_key_file"):
        settings["master_key_file"] = str(base / settings["master_key_file"])
    return settings


def open_sender(args: argparse.Namespace) -> Sender:
    """The sender the settings describe.

    Args:
        args: Parsed arguments (``--config``).

    Returns:
        The sender.
    """
    s = load_settings(args.config)
    config = SenderConfig(database=s["database"], master_key_file=s.get("master_key_file"),
                          allow_local=bool(s.get("allow_local", False)))
    smtp = s.get("smtp")  # e.g. {"host": "mail", "port": 587, "sender": "...", "starttls": true}
    notifier = SMTPNotifier(**smtp) if isinstance(smtp, dict) else None
    return Sender(config, notifier=notifier)


def cmd_init(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    settings_file = directory / DEFAULT_CONFIG
    if settings_file.exists() and not args.force:
        console.print(f"[yellow]{settings_file} exists; use --force to overwrite[/]")
        return 1
    key_file = directory / "master.key"
    key_file.write_text(generate_master_key() + "\n")
    key_file.chmod(0o600)
    api_key = "hsk_" + secrets.token_urlsafe(24)
    settings = {"database": args.database or "sqlite:///hookseal-sender.db",
                "master_key_file": "master.key", "api_keys": {api_key: "admin"},
                "allow_local": args.allow_local}
    settings_file.write_text(json.dumps(settings, indent=2) + "\n")
    settings_file.chmod(0o600)
    sender = open_sender(argparse.Namespace(config=str(settings_file)))
    sender.close()
    console.print(f"Wrote {settings_file} and {key_file} (keep it secret: it decrypts every "
                  "endpoint secret).")
    console.print(f"Admin API key: [bold]{api_key}[/]")
    return 0


def _endpoint_table(eps: Sequence[Endpoint]) -> Table:
    t = Table("id", "url", "status", "events", "signing", "profile", "description")
    for e in eps:
        t.add_row(e.id, e.url, e.status + (f" ({e.status_reason})" if e.status_reason else ""),
                  ", ".join(e.event_types) if e.event_types else "*", e.signing, e.profile,
                  e.description)
    return t


def _delivery_table(ds: Sequence[Delivery]) -> Table:
    t = Table("id", "endpoint", "type", "status", "attempts", "last", "next attempt", "created")
    for d in ds:
        last = str(d.last_status_code or d.last_error or "-")
        t.add_row(d.id, d.endpoint_id, d.event_type, d.status, str(d.attempt_count), last,
                  _when(d.next_attempt_at) if d.status == "pending" else "-",
                  _when(d.created_at))
    return t


def cmd_endpoints(args: argparse.Namespace, sender: Sender) -> int:
    t, action = args.tenant, args.action
    if action == "add":
        created = sender.create_endpoint(
            t, args.url, description=args.description or "", event_types=args.event_type,
            profile=args.profile, signing=args.signing, allow_local=args.allow_local,
            notify_email=args.notify_email)
        console.print(_endpoint_table([created.endpoint]))
        console.print(f"Secret (shown once): [bold]{created.secret}[/]")
        console.print(f"Public key: {created.public_key}")
    elif action == "list":
        console.print(_endpoint_table(sender.list_endpoints(t)))
    elif action == "update":
        fields: dict[str, Any] = {}
        for name in ("url", "description", "signing", "profile"):
            if getattr(args, name, None) is not None:
                fields[name] = getattr(args, name)
        if args.event_type is not None:
            fields["event_types"] = args.event_type or None
        console.print(_endpoint_table([sender.update_endpoint(t, args.id, **fields)]))
    elif action == "rotate":
        rot = sender.rotate_secret(t, args.id, overlap=args.overlap, actor=args.actor)
        console.print(f"New secret (shown once): [bold]{rot.secret}[/]")
        if rot.public_key:
            console.print(f"Public key: {rot.public_key}")
        console.print(f"The old secret keeps signing until {_when(rot.overlap_ends_at)}.")
    elif action == "pause":
        console.print(_endpoint_table([sender.pause_endpoint(t, args.id)]))
    elif action == "resume":
        console.print(_endpoint_table([sender.resume_endpoint(t, args.id)]))
    elif action == "delete":
        sender.delete_endpoint(t, args.id)
        console.print(f"Deleted {args.id}.")
    elif action == "keys":
        keys = sender.public_keys(t, args.id)
        console.print("Public keys (not secret; publish them for Ed25519 verification):")
        for key in keys:
            console.print(f"  {key}")
    elif action == "ping":
        r = sender.ping(t, args.id)
        console.print(f"Queued test.ping: delivery {r.deliveries[0][0]}")
    return 0


def cmd_send(args: argparse.Namespace, sender: Sender) -> int:
    data = json.loads(args.data)
    r = sender.send(args.tenant, args.type, data)
    console.print(f"Event {r.event_id}: {len(r.deliveries)} deliveries queued")
    for d, e in r.deliveries:
        console.print(f"  {d} -> {e}")
    return 0


def _flt(args: argparse.Namespace) -> DeliveryFilter:
    return DeliveryFilter(endpoint_id=args.endpoint, event_type=args.event_type,
                          status=args.status.split(",") if args.status else None,
                          since=time.time() - args.since_hours * 3600
                          if args.since_hours else None)


def cmd_deliveries(args: argparse.Namespace, sender: Sender) -> int:
    t, action = args.tenant, args.action
    if action == "list":
        console.print(_delivery_table(sender.list_deliveries(t, _flt(args), limit=args.limit)))
    elif action == "show":
        d = sender.get_delivery(t, args.id)
        console.print(_delivery_table([d]))
        at = Table("#", "at", "status", "error", "latency ms", "outcome", "response (excerpt)")
        for a in d.attempts:
            at.add_row(str(a.number), _when(a.at), str(a.status_code or "-"), a.error or "-",
                       f"{a.latency_ms:.1f}", a.outcome, a.response_body[:80])
        console.print(at)
        console.print("Body:", d.payload or "", markup=False)
    elif action == "replay":
        if args.id:
            d = sender.replay(t, args.id, actor=args.actor, reason=args.reason)
            console.print(f"Replaying {d.id}")
            return 0
        preview = sender.replay_bulk(t, _flt(args))
        console.print(f"{preview['matched']} deliveries match.")
        if not preview["matched"]:
            return 0
        if not args.yes:
            answer = console.input("Replay them all? [y/N] ") if sys.stdin.isatty() else "n"
            if answer.strip().lower() != "y":
                console.print("Nothing replayed (pass --yes to confirm).")
                return 1
        done = sender.replay_bulk(t, _flt(args), confirm=True, actor=args.actor,
                                  reason=args.reason)
        console.print(f"Replaying {done['replayed']} at {done['rate_per_s']}/s.")
    elif action == "cancel":
        if not args.endpoint and not args.ids:
            console.print("[red]give --endpoint or delivery ids[/]")
            return 2
        n = sender.cancel(t, endpoint_id=args.endpoint,
                          delivery_ids=args.ids or None, actor=args.actor, reason=args.reason)
        console.print(f"Cancelled {n} pending deliveries.")
    return 0


def cmd_purge(args: argparse.Namespace, sender: Sender) -> int:
    n = sender.purge(older_than_days=args.older_than_days)
    console.print(f"Purged {n} finished deliveries.")
    return 0


def cmd_serve(args: argparse.Namespace, sender: Sender) -> int:
    import uvicorn
    from starlette.routing import Mount

    from .api import create_app
    from .portal import PortalConfig, create_portal
    from .worker import BackgroundWorker

    settings = load_settings(args.config)
    portal = create_portal(sender, PortalConfig.from_settings(settings.get("portal", {})))
    app = create_app(sender, settings.get("api_keys", {}),
                     mounts=[Mount("/portal", app=portal)])
    worker = None if args.no_worker else BackgroundWorker(sender).start()
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        if worker is not None:
            worker.stop()
    return 0


def cmd_portal_link(args: argparse.Namespace, sender: Sender) -> int:
    from .portal import issue_link

    base = args.base_url or load_settings(args.config).get("public_url") or \
        "http://127.0.0.1:8090"
    link = issue_link(sender, args.tenant, base_url=base, ttl=args.ttl, user=args.user or "",
                      actor=args.actor)
    if args.json:
        print(json.dumps({"url": link.url, "token": link.token,
                          "expires_at": link.expires_at}))
    else:
        console.print(f"Portal link for [bold]{args.tenant}[/], valid until "
                      f"{_when(link.expires_at)}:", markup=True)
        print(link.url)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser.

    Returns:
        The parser.
    """
    p = argparse.ArgumentParser(prog="hookseal-sender", description=__doc__)
    p.add_argument("--version", action="version", version=__version__)
    p.add_argument("--config", help=f"settings file (default ${CONFIG_ENV} or {DEFAULT_CONFIG})")
    p.add_argument("--tenant", default=os.environ.get(TENANT_ENV, "default"),
                   help=f"the customer (tenant) to act for (default ${TENANT_ENV} or 'default')")
    p.add_argument("--actor", default=os.environ.get("USER", "cli"), help="audit log actor")
    sub = p.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", help="write a settings file and a master key")
    init.add_argument("--dir", default=".")
    init.add_argument("--database", help="sqlite:///file.db (default) or postgresql://...")
    init.add_argument("--allow-local", action="store_true",
                      help="allow http:// and local destinations (testing only)")
    init.add_argument("--force", action="store_true")

    serve = sub.add_parser("serve", help="run the workers and the admin API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8090)
    serve.add_argument("--no-worker", action="store_true")

    ep = sub.add_parser("endpoints", help="manage endpoints").add_subparsers(
        dest="action", required=True)
    add = ep.add_parser("add")
    add.add_argument("url")
    add.add_argument("--event-type", action="append")
    add.add_argument("--description")
    add.add_argument("--profile", default="hookseal-v1")
    add.add_argument("--signing", default="hmac", choices=["hmac", "ed25519", "both"])
    add.add_argument("--notify-email")
    add.add_argument("--allow-local", action="store_true")
    ep.add_parser("list")
    upd = ep.add_parser("update")
    upd.add_argument("id")
    upd.add_argument("--url")
    upd.add_argument("--description")
    upd.add_argument("--signing", choices=["hmac", "ed25519", "both"])
    upd.add_argument("--profile")
    upd.add_argument("--event-type", action="append")
    rot = ep.add_parser("rotate")
    rot.add_argument("id")
    rot.add_argument("--overlap", type=float, help="seconds (default 86400)")
    for name in ("pause", "resume", "delete", "ping", "keys"):
        ep.add_parser(name).add_argument("id")

    send = sub.add_parser("send", help="send an event")
    send.add_argument("type")
    send.add_argument("--data", required=True, help="the event data as JSON")

    dl = sub.add_parser("deliveries", help="the delivery log").add_subparsers(
        dest="action", required=True)
    for name in ("list", "replay", "cancel"):
        sp = dl.add_parser(name)
        sp.add_argument("--endpoint")
        sp.add_argument("--event-type")
        sp.add_argument("--status")
        sp.add_argument("--since-hours", type=float)
        sp.add_argument("--limit", type=int, default=50)
        sp.add_argument("--reason", default="")
        sp.add_argument("--yes", action="store_true", help="confirm a bulk replay")
        if name == "replay":
            sp.add_argument("id", nargs="?")
        if name == "cancel":
            sp.add_argument("ids", nargs="*")
    dl.add_parser("show").add_argument("id")

    purge = sub.add_parser("purge", help="delete old finished deliveries")
    purge.add_argument("--older-than-days", type=float)

    pl = sub.add_parser("portal-link", help="make a short-lived customer portal link")
    pl.add_argument("--tenant", default=argparse.SUPPRESS, help="the customer")
    pl.add_argument("--ttl", type=float, default=3600.0, help="seconds the link works")
    pl.add_argument("--user", help="who will use it (audit log)")
    pl.add_argument("--base-url", help="where the sender is served (default: settings "
                    "public_url or http://127.0.0.1:8090)")
    pl.add_argument("--json", action="store_true", help="print url, token and expiry as JSON")

    sub.add_parser("demo", help="run the end-to-end demo in a temp dir")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``hookseal-sender``.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    args = build_parser().parse_args(argv)
    try:
        if args.command == "init":
            return cmd_init(args)
        if args.command == "demo":
            from .demo import main as demo_main

            return demo_main()
        sender = open_sender(args)
        try:
            handler = {"endpoints": cmd_endpoints, "send": cmd_send,
                       "deliveries": cmd_deliveries, "purge": cmd_purge,
                       "serve": cmd_serve, "portal-link": cmd_portal_link}[args.command]
            return handler(args, sender)
        finally:
            sender.close()
    except SenderError as exc:
        console.print(f"[red]error ({exc.code}):[/] {exc.detail}", markup=True)
        return 1
    except json.JSONDecodeError as exc:
        console.print(f"[red]error (invalid_request):[/] --data is not JSON: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
