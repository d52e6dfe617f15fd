"""The argument parser of ``hookseal-sender``: every command, option and its limits."""

from __future__ import annotations

import argparse
import math
import os
from typing import Any, Callable

from hookseal import PROFILES
from hookseal.profiles import HOOKSEAL_V1

from ._cli_auth import add_auth_arguments
from ._cli_options import add_option_arguments
from ._inputs import MAX_BULK_REPLAY, MAX_PAGE, MAX_UNIX_TIME
from ._logs import FORMATS, LEVELS
from ._suggest import unknown
from ._version import __version__
from .catalog import PING_TYPE
from .config import MAX_ROTATION_OVERLAP
from .models import DELIVERY_STATUSES, SIGNING_MODES
from .storage.base import PURGE_BATCH_SIZE

#: The environment variable naming the settings file.
CONFIG_ENV = "HOOKSEAL_SENDER_CONFIG"
#: The environment variable naming the tenant to act for.
TENANT_ENV = "HOOKSEAL_SENDER_TENANT"
#: The settings file used when neither ``--config`` nor ``$HOOKSEAL_SENDER_CONFIG`` names one.
DEFAULT_CONFIG = "hookseal-sender.json"
#: The most worker processes one ``worker`` or ``serve`` command starts.
MAX_PROCESSES = 256

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


def check_event_types(parser: argparse.ArgumentParser, args: argparse.Namespace,
                      sender: Any) -> None:
    """Check ``--event-type`` values against the sender's catalog (the ``catalog`` setting,
    known only once the settings are read): an unknown one is a usage error (exit 2) that
    says which types there are and the closest.

    Args:
        parser: The parser (its ``error`` exits with status 2).
        args: The parsed arguments.
        sender: The sender, whose catalog names the types.
    """
    given = getattr(args, "event_type", None)
    values = given if isinstance(given, list) else [given] if given else []
    allowed = sorted({*sender.catalog.event_types(), PING_TYPE})
    for text in values:
        if text not in allowed:
            parser.error(f"argument --event-type: {unknown('event type', text, allowed)}")


def _statuses(text: str) -> str:
    """An argparse type: comma-separated delivery statuses, each a known one."""
    for status in text.split(","):
        if status not in DELIVERY_STATUSES:
            raise argparse.ArgumentTypeError(unknown("status", status, DELIVERY_STATUSES,
                                                     plural="statuses"))
    return text


def _json_flag(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--json", action="store_true",
                        help=f"print {what} as one JSON document (field names in "
                             "docs/sender.md, 'JSON output')")


def _add_endpoint_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ep = sub.add_parser("endpoints", help="manage endpoints",
                        description="Manage the tenant's endpoints.").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    add = ep.add_parser("add", help="register an endpoint (prints its secret once)")
    add.add_argument("url", help="where deliveries are POSTed (https:// unless --allow-local)")
    add.add_argument("--event-type", action="append", metavar="TYPE",
                     help="subscribe to this event type (repeat for more; default: all)")
    add.add_argument("--description", help="free text shown in lists and the portal")
    add.add_argument("--profile", default=HOOKSEAL_V1,
                     help=f"header profile: {', '.join(sorted(PROFILES))} "
                          f"(default {HOOKSEAL_V1})")
    add.add_argument("--signing", default="hmac", choices=list(SIGNING_MODES),
                     help="hmac (default), ed25519, or both while migrating")
    add.add_argument("--notify-email", metavar="ADDRESS",
                     help="who hears of dead letters and of the endpoint being disabled")
    add.add_argument("--pin", type=_pin, action="append", metavar="TYPE=VERSION",
                     help=_PIN_HELP)
    add.add_argument("--allow-local", action="store_true",
                     help="allow http:// and local addresses; needs allow_local true in the "
                          "settings (init --allow-local)")
    add_option_arguments(add)
    add_auth_arguments(add)
    ls = ep.add_parser("list", help="list the endpoints")
    _json_flag(ls, "the endpoints")
    upd = ep.add_parser("update", help="change an endpoint's settings")
    upd.add_argument("id", help="the endpoint (ep_...)")
    upd.add_argument("--url", help="the new URL")
    upd.add_argument("--description", help="the new description")
    upd.add_argument("--signing", choices=list(SIGNING_MODES), help="the new signing mode")
    upd.add_argument("--profile", help=f"the new profile ({', '.join(sorted(PROFILES))})")
    upd.add_argument("--event-type", action="append", metavar="TYPE",
                     help="the new subscriptions (repeat; replaces the old ones)")
    upd.add_argument("--pin", type=_pin, action="append", metavar="TYPE=VERSION",
                     help=_PIN_HELP + "; kept with the endpoint's other pins")
    upd.add_argument("--unpin", action="append", metavar="TYPE",
                     help="remove the pin of an event type (repeatable)")
    add_option_arguments(upd, update=True)
    rot = ep.add_parser("rotate", help="make a new secret; the old one keeps signing a while")
    rot.add_argument("id", help="the endpoint (ep_...)")
    rot.add_argument("--overlap", type=_number_in(0, MAX_ROTATION_OVERLAP, "--overlap"),
                     help="seconds the old secret keeps signing (default 86400, at most "
                          f"{MAX_ROTATION_OVERLAP:.0f}: 30 days)")
    for name, text in (("pause", "hold its deliveries until resumed"),
                       ("resume", "deliver again (held deliveries become due now)"),
                       ("delete", "delete it and cancel its pending deliveries"),
                       ("ping", "queue a test.ping delivery to it"),
                       ("keys", "print its Ed25519 public keys")):
        action = ep.add_parser(name, help=text)
        action.add_argument("id", help="the endpoint (ep_...)")
        if name == "keys":
            _json_flag(action, "the keys")
    set_auth = ep.add_parser("set-auth", help="replace (or with --none remove) how the sender "
                                              "authenticates to an endpoint")
    set_auth.add_argument("id", help="the endpoint (ep_...)")
    set_auth.add_argument("--none", action="store_true", help="remove its authentication")
    add_auth_arguments(set_auth)


def _add_delivery_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    dl = sub.add_parser("deliveries", help="the delivery log: list, show, replay, cancel",
                        description="Read the delivery log, replay and cancel deliveries."
                        ).add_subparsers(dest="action", required=True, metavar="ACTION")
    hours = _number_in(0, MAX_UNIX_TIME / 3600, "--since-hours")
    # Each subcommand takes only the options it acts on: an option that parsed and was
    # then ignored once made a bulk replay of 3,004 deliveries out of "--limit 50".
    for name, text in (("list", "list deliveries, newest first"),
                       ("replay", "send deliveries again: one by id, or all a filter matches")):
        sp = dl.add_parser(name, help=text)
        sp.add_argument("--endpoint", metavar="EP_ID", help="only this endpoint's")
        sp.add_argument("--event-type", metavar="TYPE",
                        help="only this event type's")
        sp.add_argument("--status", type=_statuses, metavar="STATUS[,STATUS]",
                        help=f"only these statuses ({', '.join(DELIVERY_STATUSES)})")
        sp.add_argument("--since-hours", type=hours, metavar="HOURS",
                        help="only those created in the last HOURS")
        if name == "list":
            sp.add_argument("--limit", type=_int_in(1, MAX_PAGE, "--limit"), default=50,
                            help=f"most deliveries shown (default 50, at most {MAX_PAGE})")
            _json_flag(sp, "the deliveries")
        else:
            sp.add_argument("id", nargs="?", help="one delivery; else every one the filters "
                                                  "match (failed and dead-lettered by default)")
            sp.add_argument("--limit", type=_int_in(1, MAX_BULK_REPLAY, "--limit"),
                            help="replay at most this many, the oldest (default: all that "
                                 f"match, if no more than {MAX_BULK_REPLAY})")
            sp.add_argument("--reason", default="", help="why (kept in the audit log)")
            sp.add_argument("--yes", action="store_true", help="confirm a bulk replay")
            sp.add_argument("--wait", action="store_true",
                            help="show the replayed deliveries finishing; exit 0 if all "
                                 "were delivered, 1 if not, 130 on Ctrl-C")
            sp.add_argument("--poll-interval", type=_number_in(0.01, 3600, "--poll-interval"),
                            default=1.0, metavar="SECONDS",
                            help="how often --wait reads their states (default 1)")
            sp.add_argument("--no-notify", action="store_true",
                            help="do not tell the tenant's owners about a bulk replay")
            sp.add_argument("--notice-template", metavar="TEXT",
                            help="this replay's owner notice instead of the settings' "
                                 "bulk_replay template ({count}, {period}, {reason}, {tenant})")
            sp.add_argument("--notice-period", metavar="TEXT",
                            help="{period} in the owner notice, e.g. \"yesterday's outage\" "
                                 "(default: the --since-hours window in UTC)")
    cancel = dl.add_parser("cancel", help="cancel pending deliveries")
    cancel.add_argument("--endpoint", metavar="EP_ID",
                        help="cancel this endpoint's pending deliveries")
    cancel.add_argument("ids", nargs="*", help="or these deliveries")
    cancel.add_argument("--reason", default="", help="why (kept in the audit log)")
    show = dl.add_parser("show", help="one delivery: its attempts and its body")
    show.add_argument("id", help="the delivery (dlv_...)")
    _json_flag(show, "the delivery, attempts and body included")
    rb = dl.add_parser("replay-batch", help="send a finished batch again as one request "
                       "(same batch id and events)")
    rb.add_argument("id", help="the batch id (bat_...) or one of its deliveries' ids")
    rb.add_argument("--reason", default="", help="why (kept in the audit log)")
    rb.add_argument("--wait", action="store_true",
                    help="show its deliveries finishing; exit 0 if all were delivered")
    rb.add_argument("--poll-interval", type=_number_in(0.01, 3600, "--poll-interval"),
                    default=1.0, metavar="SECONDS",
                    help="how often --wait reads their states (default 1)")


def _pin(text: str) -> tuple[str, int]:
    """``TYPE=VERSION`` of ``--pin`` (the version is checked against the catalog later)."""
    event_type, sep, version = text.rpartition("=")
    if not sep or not event_type or not version.strip().isdigit():
        raise argparse.ArgumentTypeError(
            f"--pin takes TYPE=VERSION, such as payment.failed=1, not {text!r}")
    return event_type, int(version)


_PIN_HELP = ("pin an event type to a major version, as TYPE=VERSION (repeatable); types "
             "not pinned get the current version")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser.

    Returns:
        The parser.
    """
    p = argparse.ArgumentParser(prog="hookseal-sender",
                                description="Hookseal's reference webhook sender: endpoints, "
                                            "events, the delivery log, and the server.")
    p.add_argument("--version", action="version", version=__version__)
    p.add_argument("--config", help=f"settings file (default ${CONFIG_ENV} or {DEFAULT_CONFIG})")
    p.add_argument("--tenant", default=os.environ.get(TENANT_ENV, "default"),
                   help=f"the customer (tenant) to act for (default ${TENANT_ENV} or 'default')")
    p.add_argument("--actor", default=os.environ.get("USER", "cli"),
                   help="who is acting, for the audit log (default $USER)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = sub.add_parser("init", help="write a settings file and a master key")
    init.add_argument("--dir", default=".", help="where to write them (default: .)")
    init.add_argument("--database", help="sqlite:///file.db (default) or postgresql://...")
    init.add_argument("--allow-local", action="store_true",
                      help="allow http:// and local destinations (testing only)")
    init.add_argument("--force", action="store_true",
                      help="rewrite an existing settings file (new admin and metrics keys; "
                           "its other fields are kept). The master key is never replaced")

    serve = sub.add_parser("serve", help="run the workers, the admin API and the portal",
                           description="Run the workers, the admin API, the portal and "
                                       "/metrics; prints where each is, then logs on stderr.")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; 0.0.0.0 or :: for all)")
    serve.add_argument("--port", type=_int_in(0, 65535, "--port"), default=8090,
                       help="port (default 8090; 0 picks a free one, printed at start)")
    serve.add_argument("--no-worker", action="store_true",
                       help="serve the API and portal only; other processes deliver (same as "
                            "--workers 0)")
    serve.add_argument("--workers", type=_int_in(0, MAX_PROCESSES, "--workers"), default=1,
                       help="delivery workers: 0 none, 1 (default) in this process, more: "
                            "that many worker processes (PostgreSQL only)")
    serve.add_argument("--log-level", choices=LEVELS, default="info",
                       help="least severe records logged (default info: one line per "
                            "finished attempt; warning: problems only)")
    serve.add_argument("--log-format", choices=FORMATS, default="text",
                       help="text for people (default) or json: one object per line")

    work = sub.add_parser("worker", help="run delivery worker processes only (no API, no "
                          "portal), restarted if they crash; SIGTERM stops them gracefully")
    work.add_argument("--processes", type=_int_in(1, MAX_PROCESSES, "--processes"), default=1,
                      help="worker processes (default 1; more than 1 needs PostgreSQL)")
    work.add_argument("--metrics-port", type=_int_in(1, 65535, "--metrics-port"),
                      help="serve each process's /metrics (Prometheus) on this port and the "
                           "next ones, one per process (default: none)")
    work.add_argument("--metrics-host", default="127.0.0.1",
                      help="address of those /metrics listeners (default 127.0.0.1; they "
                           "take no key)")

    _add_endpoint_commands(sub)

    send = sub.add_parser("send", help="send an event, or every event of a JSON lines file")
    send.add_argument("type", nargs="?", help="the event type (with --data)")
    send.add_argument("--data", help="the event data as JSON")
    send.add_argument("--file", metavar="PATH",
                      help='JSON lines, one {"type": ..., "data": {...}} per line, with an '
                           'optional "idempotency_key" ("-": stdin); stops at the first bad '
                           "line, keeping those before it")
    send.add_argument("--idempotency-key", metavar="KEY",
                      help="send the event once: a repeated send with this key (same "
                           "tenant, within the retention, 24 h by default) queues nothing")

    _add_delivery_commands(sub)

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

    al = sub.add_parser("admin-link", help="make a short-lived admin console sign-in link")
    al.add_argument("--operator", required=True, help="who will sign in (audit log)")
    al.add_argument("--ttl", type=_number_in(1, 3600, "--ttl"), default=900.0,
                    help="seconds the link works (default 900, at most 3600)")
    al.add_argument("--base-url", help="where the sender is served (default: settings "
                    "public_url or http://127.0.0.1:8090)")
    al.add_argument("--json", action="store_true", help="print url, token and expiry as JSON")

    ev = sub.add_parser("events", help="stored events").add_subparsers(dest="action",
                                                                      required=True)
    cor = ev.add_parser("correct", help="replay an event with corrected data (same event id; "
                        "the original body is kept)")
    cor.add_argument("event_id", help="the event (evt_...) whose data is corrected")
    cor.add_argument("--data", required=True, help="the corrected data as JSON")
    cor.add_argument("--reason", required=True, help="why (audit log)")

    sub.add_parser("demo", help="run the end-to-end demo in a temp dir")
    sub.add_parser("event-types", help="the event types of the sender's catalog, with the "
                   "versions served and their sunsets")

    rv = sub.add_parser("review", help="write the health review of a period as an HTML report")
    rv.add_argument("--since", default="90d", help="the period, back from now: 90d, 12h, 2w "
                    "(default 90d)")
    rv.add_argument("--out", default="review.html", metavar="FILE",
                    help="the HTML file (default review.html)")
    rv.add_argument("--top", type=int, default=10, help="tenants shown with their endpoints "
                    "(default 10)")

    bf = sub.add_parser("backfill", help="enqueue events that never reached the outbox, "
                        "keeping their ids and creation times (each at most once)")
    src = bf.add_mutually_exclusive_group(required=True)
    src.add_argument("--file", metavar="PATH", help='JSON lines, one {"id", "type", "created", '
                     '"tenant", "data"} object per line ("-": stdin)')
    src.add_argument("--sql", metavar="QUERY", help="a SELECT on your own database whose "
                     "columns are id, type, created, tenant, data (use AS); needs --dsn")
    bf.add_argument("--dsn", help="the database --sql reads: postgresql://... or "
                    "sqlite:///path.db (opened read-only)")
    bf.add_argument("--dry-run", action="store_true", help="check and count only: how many "
                    "are stored already, how many deliveries the rest would make")
    bf.add_argument("--reason", default="", help="why (audit log)")
    bf.add_argument("--batch-size", type=_int_in(1, 10_000, "--batch-size"), default=500,
                    help="events per transaction (default 500)")

    opsf = sub.add_parser("ops-files", help="write the Prometheus alert rules and the "
                          "Grafana dashboard shipped with the sender")
    opsf.add_argument("--out", default=".", metavar="DIR", help="directory (default: .)")
    return p
