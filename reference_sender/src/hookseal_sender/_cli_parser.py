"""The argument parser of ``hookseal-sender``: every command, option and its limits."""

from __future__ import annotations

import argparse
import math
import os
from typing import Callable

from hookseal.profiles import HOOKSEAL_V1

from ._cli_auth import add_auth_arguments
from ._inputs import MAX_BULK_REPLAY, MAX_PAGE, MAX_UNIX_TIME
from ._version import __version__
from .config import MAX_ROTATION_OVERLAP
from .storage.base import PURGE_BATCH_SIZE

#: The environment variable naming the settings file.
CONFIG_ENV = "HOOKSEAL_SENDER_CONFIG"
#: The environment variable naming the tenant to act for.
TENANT_ENV = "HOOKSEAL_SENDER_TENANT"
#: The settings file used when neither ``--config`` nor ``$HOOKSEAL_SENDER_CONFIG`` names one.
DEFAULT_CONFIG = "hookseal-sender.json"

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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser.

    Returns:
        The parser.
    """
    p = argparse.ArgumentParser(prog="hookseal-sender",
                                description="The ``hookseal-sender`` command line.")
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
    add.add_argument("--profile", default=HOOKSEAL_V1)
    add.add_argument("--signing", default="hmac", choices=["hmac", "ed25519", "both"])
    add.add_argument("--notify-email")
    add.add_argument("--allow-local", action="store_true",
                     help="allow http:// and local addresses; needs allow_local true in the "
                          "settings (init --allow-local)")
    add_auth_arguments(add)
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
    set_auth = ep.add_parser("set-auth", help="replace (or with --none remove) how the sender "
                                              "authenticates to an endpoint")
    set_auth.add_argument("id")
    set_auth.add_argument("--none", action="store_true", help="remove its authentication")
    add_auth_arguments(set_auth)

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
            sp.add_argument("--no-notify", action="store_true",
                            help="do not tell the tenant's owners about a bulk replay")
            sp.add_argument("--notice-template", metavar="TEXT",
                            help="this replay's owner notice instead of the settings' "
                                 "bulk_replay template ({count}, {period}, {reason}, {tenant})")
            sp.add_argument("--notice-period", metavar="TEXT",
                            help="{period} in the owner notice, e.g. \"yesterday's outage\" "
                                 "(default: the --since-hours window in UTC)")
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
    cor.add_argument("event_id")
    cor.add_argument("--data", required=True, help="the corrected data as JSON")
    cor.add_argument("--reason", required=True, help="why (audit log)")

    sub.add_parser("demo", help="run the end-to-end demo in a temp dir")

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
