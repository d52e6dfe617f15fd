"""The ``hookseal-sender`` command line."""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Callable, Optional

from rich.console import Console
from rich.markup import escape
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

from . import __version__
from ._inputs import MAX_BULK_REPLAY, MAX_PAGE, MAX_UNIX_TIME, loads_json
from ._private import write_private
from ._settings import DEFAULT_DATABASE, check_settings, read_settings, resolve_paths
from .config import MAX_ROTATION_OVERLAP, SenderConfig
from .errors import ConfigError, InvalidRequestError, SenderError
from .models import Delivery, DeliveryFilter, Endpoint
from .notify import SMTPNotifier
from .secretbox import SecretBox, generate_master_key
from .sender import Sender
from .storage import open_store
from .storage.base import PURGE_BATCH_SIZE

CONFIG_ENV = "HOOKSEAL_SENDER_CONFIG"
TENANT_ENV = "HOOKSEAL_SENDER_TENANT"
DEFAULT_CONFIG = "hookseal-sender.json"

console = Console()

#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130
#: Delivery states a delivery is still moving in.
LIVE_STATUSES = ("pending", "delivering")


def _when(ts: Optional[float]) -> str:
    if not ts:
        return "-"
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
    except (OverflowError, OSError, ValueError):  # beyond what the C library can show
        return f"{ts:.0f} (Unix time)"


def _progress() -> Progress:
    # Off a terminal rich draws nothing while running and the final bar once at the end;
    # every command using it then prints a plain summary line as well.
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TaskProgressColumn(), TimeElapsedColumn(), console=console)


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
    s = load_settings(args.config)
    config = SenderConfig(database=s["database"], master_key_file=s.get("master_key_file"),
                          allow_local=s["allow_local"])
    smtp = s.get("smtp")  # e.g. {"host": "mail", "port": 587, "sender": "...", "starttls": true}
    try:
        notifier = SMTPNotifier(**smtp) if smtp is not None else None
    except TypeError as exc:
        raise ConfigError(f"settings field 'smtp': {exc}") from None
    return Sender(config, notifier=notifier)


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


def _cells(*values: str) -> list[Text]:
    """Table cells shown as they are: stored text (a description, a response body) may
    hold rich markup such as ``[/]``, which must neither style nor break the output."""
    return [Text(v) for v in values]


def _endpoint_table(eps: Sequence[Endpoint]) -> Table:
    t = Table("id", "url", "status", "events", "signing", "profile", "description")
    for e in eps:
        t.add_row(*_cells(e.id, e.url,
                          e.status + (f" ({e.status_reason})" if e.status_reason else ""),
                          ", ".join(e.event_types) if e.event_types else "*", e.signing,
                          e.profile, e.description))
    return t


def _delivery_table(ds: Sequence[Delivery]) -> Table:
    t = Table("id", "endpoint", "type", "status", "attempts", "last", "next attempt", "created")
    for d in ds:
        last = str(d.last_status_code or d.last_error or "-")
        t.add_row(*_cells(d.id, d.endpoint_id, d.event_type, d.status, str(d.attempt_count),
                          last, _when(d.next_attempt_at) if d.status == "pending" else "-",
                          _when(d.created_at)))
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
        console.print(f"Deleted {args.id}.", markup=False)
    elif action == "keys":
        keys = sender.public_keys(t, args.id)
        console.print("Public keys (not secret; publish them for Ed25519 verification):")
        for key in keys:
            console.print(f"  {key}")
    elif action == "ping":
        r = sender.ping(t, args.id)
        console.print(f"Queued test.ping: delivery {r.deliveries[0][0]}")
    return 0


def _event_from_line(line: str) -> tuple[str, Any]:
    try:
        event = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(f"not JSON: {exc}") from None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str) \
            or "data" not in event:
        raise InvalidRequestError('expected a JSON object {"type": "...", "data": {...}}')
    extra = set(event) - {"type", "data"}
    if extra:
        raise InvalidRequestError(f"unexpected keys: {', '.join(sorted(extra))}")
    return event["type"], event["data"]


def _open_lines(path: str) -> IO[str]:
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8")  # the caller closes it
    except OSError as exc:
        raise InvalidRequestError(f"--file: cannot read {path!r}: {exc.strerror}") from None
    except ValueError as exc:  # a NUL in the name
        raise InvalidRequestError(f"--file: cannot read {path!r}: {exc}") from None


def _numbered(stream: IO[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(stream, 1):
        if line.strip():
            yield number, line


def _send_file(args: argparse.Namespace, sender: Sender) -> int:
    total: Optional[int] = None
    if args.file != "-":
        with _open_lines(args.file) as stream:
            try:
                total = sum(1 for _ in _numbered(stream))
            except UnicodeDecodeError as exc:
                raise InvalidRequestError(f"{args.file} is not UTF-8 text: {exc}") from None
    queued = deliveries = 0
    failure: Optional[tuple[int, SenderError]] = None
    stream = _open_lines(args.file)
    try:
        with _progress() as progress:
            task = progress.add_task("Queueing events", total=total)
            for number, line in _numbered(stream):
                try:
                    event_type, data = _event_from_line(line)
                    result = sender.send(args.tenant, event_type, data)
                except SenderError as exc:
                    failure = (number, exc)
                    break
                queued += 1
                deliveries += len(result.deliveries)
                progress.advance(task)
    finally:
        if stream is not sys.stdin:
            stream.close()
    source = "stdin" if args.file == "-" else args.file
    console.print(f"Queued {queued} events ({deliveries} deliveries) from {source}.",
                  markup=False)
    if failure is None:
        return 0
    number, error = failure
    console.print(f"[red]line {number}: error ({error.code}):[/] ", end="")
    console.print(error.detail, markup=False)
    console.print(f"Stopped at line {number}: the {queued} events before it are queued; "
                  f"fix line {number} and send from there on (resending the earlier lines "
                  "would send their events twice).", markup=False)
    return 1


def cmd_send(args: argparse.Namespace, sender: Sender) -> int:
    if args.file is not None:
        if args.type is not None or args.data is not None:
            console.print("[red]give either TYPE --data JSON or --file PATH, not both[/]")
            return 2
        return _send_file(args, sender)
    if args.type is None or args.data is None:
        console.print("[red]give TYPE --data JSON, or --file PATH[/]")
        return 2
    data = loads_json(args.data, "--data")
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
            at.add_row(*_cells(str(a.number), _when(a.at), str(a.status_code or "-"),
                               a.error or "-", f"{a.latency_ms:.1f}", a.outcome,
                               a.response_body[:80]))
        console.print(at)
        console.print("Body:", d.payload or "", markup=False)
    elif action == "replay":
        if args.id:
            d = sender.replay(t, args.id, actor=args.actor, reason=args.reason)
            console.print(f"Replaying {d.id}")
            return wait_for_deliveries(sender, t, [d.id], args.poll_interval) \
                if args.wait else 0
        flt = _flt(args)
        preview = sender.replay_bulk(t, flt, limit=args.limit)
        matched = f"{preview['matched']}{' or more' if preview['more_match'] else ''}"
        selected = preview["selected"]
        if selected < preview["matched"] or preview["more_match"]:
            console.print(f"{matched} deliveries match; the oldest {selected} will be replayed "
                          f"(--limit {args.limit}).", markup=False)
        else:
            console.print(f"{matched} deliveries match; {selected} will be replayed.",
                          markup=False)
        if not selected:
            return 0
        if not args.yes:
            answer = console.input(f"Replay {selected}? [y/N] ") if sys.stdin.isatty() else "n"
            if answer.strip().lower() != "y":
                console.print("Nothing replayed (pass --yes to confirm).")
                return 1
        done = sender.replay_bulk(t, flt, confirm=True, actor=args.actor, reason=args.reason,
                                  include_ids=args.wait, limit=args.limit)
        console.print(f"Replaying {done['replayed']} at {done['rate_per_s']}/s.")
        if args.wait:
            return wait_for_deliveries(sender, t, done["ids"], args.poll_interval)
    elif action == "cancel":
        if not args.endpoint and not args.ids:
            console.print("[red]give --endpoint or delivery ids[/]")
            return 2
        n = sender.cancel(t, endpoint_id=args.endpoint,
                          delivery_ids=args.ids or None, actor=args.actor, reason=args.reason)
        console.print(f"Cancelled {n} pending deliveries.")
    return 0


def _counts_text(counts: dict[str, int]) -> str:
    return (f"delivered {counts.get('delivered', 0)}, failed {counts.get('failed', 0)}, "
            f"dead-lettered {counts.get('dead_lettered', 0)}")


def wait_for_deliveries(sender: Sender, tenant_id: str, delivery_ids: Sequence[str],
                        interval: float = 1.0) -> int:
    """Show a progress bar of deliveries finishing until none is pending or delivering.

    Polls the store every ``interval`` seconds; Ctrl-C stops waiting (the workers go on
    delivering).

    Args:
        sender: The sender.
        tenant_id: The tenant owning the deliveries.
        delivery_ids: The deliveries to follow.
        interval: Seconds between polls.

    Returns:
        0 if every delivery was delivered, 1 if some ended otherwise (failed,
        dead-lettered, cancelled), :data:`EXIT_INTERRUPTED` after Ctrl-C.
    """
    ids = list(dict.fromkeys(delivery_ids))
    total = len(ids)
    counts: dict[str, int] = {}
    live = total
    try:
        console.print(f"Waiting for {total} deliveries to finish (Ctrl-C stops waiting; the "
                      "workers keep delivering).")
        with _progress() as progress:
            task = progress.add_task(_counts_text(counts), total=total)
            while True:
                counts = sender.delivery_status_counts(tenant_id, ids)
                live = sum(counts.get(s, 0) for s in LIVE_STATUSES)
                progress.update(task, completed=total - live, description=_counts_text(counts))
                if not live:
                    break
                time.sleep(interval)
    except KeyboardInterrupt:
        console.print(f"Stopped waiting (Ctrl-C): {live} of {total} deliveries still pending "
                      f"or delivering; {_counts_text(counts)}. The workers keep delivering; "
                      "follow them with `deliveries list`.", markup=False)
        return EXIT_INTERRUPTED
    other = total - sum(counts.get(s, 0) for s in ("delivered", "failed", "dead_lettered"))
    console.print(f"Finished: {_counts_text(counts)}"
                  + (f", other {other} (cancelled or purged)" if other else "") + ".",
                  markup=False)
    return 0 if counts.get("delivered", 0) == total else 1


def cmd_purge(args: argparse.Namespace, sender: Sender) -> int:
    with _progress() as progress:
        task = progress.add_task("Purging finished deliveries", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        n = sender.purge(older_than_days=args.older_than_days, batch_size=args.batch_size,
                         on_progress=on_progress)
    console.print(f"Purged {n} finished deliveries.")
    return 0


def cmd_serve(args: argparse.Namespace, sender: Sender) -> int:
    import uvicorn
    from starlette.routing import Mount

    from .api import create_app
    from .portal import PortalConfig, create_portal
    from .worker import BackgroundWorker, tune_gc

    tune_gc()  # a process of its own: see tune_gc
    settings = load_settings(args.config)
    portal = create_portal(sender, PortalConfig.from_settings(settings.get("portal", {})))
    app = create_app(sender, settings["api_keys"], mounts=[Mount("/portal", app=portal)],
                     metrics_keys=settings["metrics_keys"],
                     max_body_bytes=settings["max_body_bytes"])
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
        console.print(f"Portal link for [bold]{escape(args.tenant)}[/], valid until "
                      f"{_when(link.expires_at)}:", markup=True)
        print(link.url)
    return 0


def _number_in(low: float, high: float, name: str) -> Callable[[str], float]:
    """An argparse type: a finite number from ``low`` to ``high``, else a usage error."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, not {text!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{name} must be a number from {low:g} to "
                                             f"{high:g}, not {text!r}")
        return value
    return parse


def _int_in(low: int, high: int, name: str) -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` to ``high``, else a usage error."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, not {text!r}") \
                from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{name} must be from {low} to {high}, "
                                             f"not {text!r}")
        return value
    return parse
def cmd_review(args: argparse.Namespace, sender: Sender) -> int:
    from .review import collect, parse_duration, render_html

    started = time.perf_counter()
    review = collect(sender, parse_duration(args.since), top=args.top)
    out = Path(args.out)
    out.write_text(render_html(review), encoding="utf-8")
    console.print(f"Health review of {review.deliveries:,} deliveries written to {out} "
                  f"in {time.perf_counter() - started:.1f} s.")
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
    init.add_argument("--force", action="store_true",
                      help="rewrite an existing settings file (new admin and metrics keys; "
                           "its other fields are kept). The master key is never replaced")

    serve = sub.add_parser("serve", help="run the workers and the admin API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_int_in(1, 65535, "--port"), default=8090)
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
    add.add_argument("--allow-local", action="store_true",
                     help="allow http:// and local addresses; needs allow_local true in the "
                          "settings (init --allow-local)")
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
    rot.add_argument("--overlap", type=_number_in(0, MAX_ROTATION_OVERLAP, "--overlap"),
                     help="seconds the old secret keeps signing (default 86400, at most "
                          f"{MAX_ROTATION_OVERLAP:.0f}: 30 days)")
    for name in ("pause", "resume", "delete", "ping", "keys"):
        ep.add_parser(name).add_argument("id")

    send = sub.add_parser("send", help="send an event, or every event of a JSON lines file")
    send.add_argument("type", nargs="?", help="the event type (with --data)")
    send.add_argument("--data", help="the event data as JSON")
    send.add_argument("--file", metavar="PATH",
                      help='JSON lines, one {"type": ..., "data": {...}} per line ("-": '
                           "stdin); stops at the first bad line, keeping those before it")

    dl = sub.add_parser("deliveries", help="the delivery log").add_subparsers(
        dest="action", required=True)
    hours = _number_in(0, MAX_UNIX_TIME / 3600, "--since-hours")
    # Each subcommand takes only the options it acts on: an option that parsed and was
    # then ignored once made a bulk replay of 3,004 deliveries out of "--limit 50".
    for name in ("list", "replay"):
        sp = dl.add_parser(name)
        sp.add_argument("--endpoint")
        sp.add_argument("--event-type")
        sp.add_argument("--status")
        sp.add_argument("--since-hours", type=hours)
        if name == "list":
            sp.add_argument("--limit", type=_int_in(1, MAX_PAGE, "--limit"), default=50,
                            help=f"most deliveries shown (default 50, at most {MAX_PAGE})")
        else:
            sp.add_argument("id", nargs="?", help="one delivery; else every one the filters "
                                                  "match (failed and dead-lettered by default)")
            sp.add_argument("--limit", type=_int_in(1, MAX_BULK_REPLAY, "--limit"),
                            help="replay at most this many, the oldest (default: all that "
                                 f"match, if no more than {MAX_BULK_REPLAY})")
            sp.add_argument("--reason", default="")
            sp.add_argument("--yes", action="store_true", help="confirm a bulk replay")
            sp.add_argument("--wait", action="store_true",
                            help="show the replayed deliveries finishing; exit 0 if all "
                                 "were delivered, 1 if not, 130 on Ctrl-C")
            sp.add_argument("--poll-interval", type=_number_in(0.01, 3600, "--poll-interval"),
                            default=1.0, metavar="SECONDS",
                            help="how often --wait reads their states (default 1)")
    cancel = dl.add_parser("cancel")
    cancel.add_argument("--endpoint", help="cancel this endpoint's pending deliveries")
    cancel.add_argument("ids", nargs="*", help="or these deliveries")
    cancel.add_argument("--reason", default="")
    dl.add_parser("show").add_argument("id")

    purge = sub.add_parser("purge", help="delete old finished deliveries")
    days = MAX_UNIX_TIME / 86400
    purge.add_argument("--older-than-days", type=_number_in(-days, days, "--older-than-days"),
                       help="retention in days (default: the configured 30; a negative "
                            "number purges every finished delivery)")
    purge.add_argument("--batch-size", type=int, default=PURGE_BATCH_SIZE,
                       help=f"deliveries deleted per transaction (default {PURGE_BATCH_SIZE})")

    pl = sub.add_parser("portal-link", help="make a short-lived customer portal link")
    pl.add_argument("--tenant", default=argparse.SUPPRESS, help="the customer")
    pl.add_argument("--ttl", type=_number_in(0, MAX_UNIX_TIME, "--ttl"), default=3600.0,
                    help="seconds the link works")
    pl.add_argument("--user", help="who will use it (audit log)")
    pl.add_argument("--base-url", help="where the sender is served (default: settings "
                    "public_url or http://127.0.0.1:8090)")
    pl.add_argument("--json", action="store_true", help="print url, token and expiry as JSON")

    sub.add_parser("demo", help="run the end-to-end demo in a temp dir")

    rv = sub.add_parser("review", help="write the health review of a period as an HTML report")
    rv.add_argument("--since", default="90d", help="the period, back from now: 90d, 12h, 2w "
                    "(default 90d)")
    rv.add_argument("--out", default="review.html", metavar="FILE",
                    help="the HTML file (default review.html)")
    rv.add_argument("--top", type=int, default=10, help="tenants shown with their endpoints "
                    "(default 10)")

    opsf = sub.add_parser("ops-files", help="write the Prometheus alert rules and the "
                          "Grafana dashboard shipped with the sender")
    opsf.add_argument("--out", default=".", metavar="DIR", help="directory (default: .)")
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
        if args.command == "ops-files":
            from .ops import export

            for path in export(Path(args.out)):
                print(path)
            return 0
        sender = open_sender(args)
        try:
            handler = {"endpoints": cmd_endpoints, "send": cmd_send,
                       "deliveries": cmd_deliveries, "purge": cmd_purge,
                       "serve": cmd_serve, "portal-link": cmd_portal_link,
                       "review": cmd_review}[args.command]
            return handler(args, sender)
        finally:
            sender.close()
    except SenderError as exc:
        console.print(f"[red]error ({exc.code}):[/] ", end="")
        console.print(exc.detail, markup=False)
        return 1


if __name__ == "__main__":
    sys.exit(main())
