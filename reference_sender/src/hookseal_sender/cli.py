"""The ``hookseal-sender`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any, Optional

from rich.markup import escape

from ._cli_admin import cmd_admin_link, cmd_events
from ._cli_backfill import cmd_backfill
from ._cli_catalog import cmd_event_types
from ._cli_deliveries import (
    EXIT_INTERRUPTED,
    LIVE_STATUSES,
    cmd_deliveries,
    cmd_send,
    wait_for_deliveries,
)
from ._cli_endpoints import cmd_endpoints
from ._cli_output import console, progress_bar, when
from ._cli_parser import CONFIG_ENV, DEFAULT_CONFIG, TENANT_ENV, build_parser, check_event_types
from ._cli_tenant import check_tenant
from ._private import write_private
from ._settings import DEFAULT_DATABASE, check_settings, read_settings, resolve_paths
from .config import SenderConfig
from .errors import ConfigError, ScaleOutRefusedError, SenderError
from .notify import SMTPNotifier
from .owner_notices import OwnerNoticePolicy
from .secretbox import SecretBox, generate_master_key
from .sender import Sender
from .storage import open_store
from .supervisor import EXIT_REFUSED, Supervisor, check_processes, worker_command

__all__ = ["CONFIG_ENV", "DEFAULT_CONFIG", "EXIT_INTERRUPTED", "LIVE_STATUSES", "TENANT_ENV",
           "build_parser", "cmd_deliveries", "cmd_endpoints", "cmd_send", "load_settings",
           "main", "open_sender", "settings_path", "wait_for_deliveries"]


def settings_path(path: Optional[str]) -> Path:
    """The settings file to use.

    Args:
        path: ``--config``, if given.

    Returns:
        ``path``, else ``$HOOKSEAL_SENDER_CONFIG``, else ``./hookseal-sender.json``.
    """
    return Path(path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_settings(path: Optional[str]) -> dict[str, Any]:
    """Read the JSON settings file written by ``init``, every field checked.

    Args:
        path: The file (default: ``$HOOKSEAL_SENDER_CONFIG`` or ``./hookseal-sender.json``).

    Returns:
        The settings, with relative paths resolved against the file's directory.

    Raises:
        ConfigError: The file is missing, not a file, not JSON, or a field is wrong (the
            message names the file and the field).
    """
    return read_settings(settings_path(path))


def open_sender(args: argparse.Namespace) -> Sender:
    """The sender the settings describe.

    Args:
        args: Parsed arguments (``--config``).

    Returns:
        The sender.

    Raises:
        ConfigError: The settings are wrong, or the master key does not decrypt the
            stored secrets.
    """
    path = settings_path(args.config)
    s = read_settings(path)
    if s.get("derivations"):
        # The provider's derivation modules may sit beside the settings file.
        sys.path.insert(0, str(path.resolve().parent))
    config = SenderConfig(database=s["database"], master_key_file=s.get("master_key_file"),
                          allow_local=s["allow_local"], egress_proxy=s.get("egress_proxy"),
                          catalog=s.get("catalog"), derivations=tuple(s.get("derivations", ())))
    if "idempotency_retention" in s:
        config = config.replace(idempotency_retention=s["idempotency_retention"])
    if "metrics_endpoint_series" in s:
        config = config.replace(metrics_endpoint_series=s["metrics_endpoint_series"])
    smtp = s.get("smtp")  # e.g. {"host": "mail", "port": 587, "sender": "...", "starttls": true}
    try:
        notifier = SMTPNotifier(**smtp) if smtp is not None else None
    except TypeError as exc:
        raise ConfigError(f"settings field 'smtp': {exc}") from None
    sender = Sender(config, notifier=notifier)
    try:
        sender.owner_notices = OwnerNoticePolicy.from_settings(s.get("owner_notices"))
    except ConfigError:
        sender.close()
        raise
    return sender


def _init_settings(args: argparse.Namespace, settings_file: Path) -> dict[str, Any]:
    """The settings ``init`` writes: with ``--force``, the old file's fields are kept
    except those ``init`` sets (database if given, allow_local, the admin and metrics
    keys)."""
    loaded: Any = {}
    if settings_file.exists():
        try:
            loaded = json.loads(settings_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            loaded = {}  # --force over a broken file: nothing in it to keep
    old: dict[str, Any] = loaded if isinstance(loaded, dict) else {}
    settings: dict[str, Any] = {**old}
    settings["database"] = args.database or old.get("database") or DEFAULT_DATABASE
    settings["master_key_file"] = old.get("master_key_file") or "master.key"
    settings["api_keys"] = {"hsk_" + secrets.token_urlsafe(24): "admin"}
    settings["metrics_keys"] = ["hsm_" + secrets.token_urlsafe(24)]
    settings["allow_local"] = args.allow_local
    return check_settings(settings, f"settings file {settings_file}")


def cmd_init(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--dir {str(directory)!r}: cannot make the directory: {exc}") \
            from None
    settings_file = directory / DEFAULT_CONFIG
    if settings_file.is_dir():
        raise ConfigError(f"{settings_file} is a directory")
    if settings_file.exists() and not args.force:
        console.print(f"[yellow]{escape(str(settings_file))} exists; use --force to "
                      "overwrite[/]")
        return 1
    settings = _init_settings(args, settings_file)
    key_file = directory / settings["master_key_file"]
    database = resolve_paths(settings, directory.resolve())["database"]
    # The master key is never replaced: it is the only way to decrypt the endpoint
    # secrets already stored. An existing key is kept and checked against them; with no
    # key, a database that already holds secrets is refused (a new key cannot read them).
    kept = key_file.exists()
    if kept:
        try:
            key = key_file.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the existing master key {key_file}: {exc}; "
                              "init never replaces a master key") from None
    else:
        key = generate_master_key()
    store = open_store(database, SecretBox(key))
    try:
        try:
            store.check_master_key()
        except ConfigError:
            if kept:
                raise ConfigError(
                    f"the master key {key_file} does not decrypt the endpoint secrets in "
                    f"{database}: nothing was written. Restore the key they were made "
                    "with") from None
            raise ConfigError(
                f"{database} already holds endpoint secrets, but there is no master key "
                f"{key_file}: nothing was written. Put back the key they were encrypted "
                "with (a new key could not decrypt them)") from None
    finally:
        store.close()
    if not kept:
        write_private(key_file, key + "\n")
    write_private(settings_file, json.dumps(settings, indent=2) + "\n")
    console.print(f"Wrote {settings_file}.", markup=False)
    if kept:
        console.print(f"Kept the existing master key {key_file}: it decrypts the endpoint "
                      "secrets already stored, so init never replaces it.", markup=False)
    else:
        console.print(f"Wrote {key_file} (keep it secret and back it up: it decrypts every "
                      "endpoint secret).", markup=False)
    console.print(f"Admin API key: [bold]{next(iter(settings['api_keys']))}[/]")
    console.print(f"Metrics key (for GET /metrics): {settings['metrics_keys'][0]}", markup=False)
    return 0


def cmd_purge(args: argparse.Namespace, sender: Sender) -> int:
    with progress_bar() as progress:
        task = progress.add_task("Purging finished deliveries", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        n = sender.purge(older_than_days=args.older_than_days, batch_size=args.batch_size,
                         on_progress=on_progress)
    console.print(f"Purged {n} finished deliveries.")
    return 0


def cmd_serve(args: argparse.Namespace, sender: Sender) -> int:
    from ._cli_serve import serve

    return serve(args, sender, load_settings(args.config), settings_path(args.config))


def cmd_worker(args: argparse.Namespace, sender: Sender) -> int:
    """``worker``: only delivery workers, ``--processes`` of them under one supervisor."""
    check_processes(load_settings(args.config)["database"], args.processes)
    sender.close()  # the settings are good; each child opens its own store
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s supervisor [pid %(process)d] %(levelname)s "
                               "%(message)s")
    code = Supervisor(partial(worker_command, settings_path(args.config),
                              metrics_port=args.metrics_port, metrics_host=args.metrics_host),
                      args.processes).run()
    if code == EXIT_REFUSED:
        raise ScaleOutRefusedError("a worker process refused to start (see its log line)")
    return code


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
        console.print(f"Portal link for [bold]{escape(args.tenant)}[/], valid until "
                      f"{when(link.expires_at)}:", markup=True)
        print(link.url)
    return 0


def cmd_review(args: argparse.Namespace, sender: Sender) -> int:
    from .review import collect, parse_duration, render_html

    started = time.perf_counter()
    review = collect(sender, parse_duration(args.since), top=args.top)
    out = Path(args.out)
    out.write_text(render_html(review), encoding="utf-8")
    console.print(f"Health review of {review.deliveries:,} deliveries written to {out} "
                  f"in {time.perf_counter() - started:.1f} s.")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``hookseal-sender``.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "init":
            return cmd_init(args)
        if args.command == "demo":
            from .demo import main as demo_main

            return demo_main()
        if args.command == "ops-files":
            from .ops import export

            for path in export(Path(args.out)):
                print(path)
            return 0
        sender = open_sender(args)
        try:
            check_event_types(parser, args, sender)
            check_tenant(args, sender)
            handler = {"endpoints": cmd_endpoints, "send": cmd_send,
                       "deliveries": cmd_deliveries, "purge": cmd_purge,
                       "serve": cmd_serve, "worker": cmd_worker,
                       "portal-link": cmd_portal_link,
                       "review": cmd_review, "backfill": cmd_backfill,
                       "admin-link": cmd_admin_link, "events": cmd_events,
                       "event-types": cmd_event_types}[args.command]
            return handler(args, sender)
        finally:
            sender.close()
    except SenderError as exc:
        console.print(f"[red]error ({exc.code}):[/] ", end="")
        console.print(exc.detail, markup=False)
        return 1


if __name__ == "__main__":
    sys.exit(main())
