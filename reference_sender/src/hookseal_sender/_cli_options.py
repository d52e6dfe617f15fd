"""The subscription options of ``hookseal-sender endpoints add`` and ``update`` (contract
4.3): ``--filter``, ``--header``, ``--redact``, ``--rate-limit`` and, on update, the
``--no-...`` flags that clear them. Their values are checked where the library checks
them (``_options.py``); this module only turns arguments into option values."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .errors import InvalidHeadersError, InvalidRequestError
from .models import Endpoint

__all__ = ["add_option_arguments", "describe_options", "options_from_args"]


def add_option_arguments(parser: argparse.ArgumentParser, *, update: bool = False) -> None:
    """Add the subscription options to ``endpoints add`` (or ``update``).

    Args:
        parser: The subcommand's parser.
        update: Also add the ``--no-filter``, ``--no-headers``, ``--no-redact``,
            ``--no-rate-limit``, ``--no-batch`` and ``--no-ordering`` flags that clear an
            option.
    """
    parser.add_argument("--filter", metavar="JSON",
                        help='a filter over the envelope, e.g. \'{"/data/invoice/total/amount":'
                             ' {"$gte": 10000}}\'')
    parser.add_argument("--header", action="append", metavar="NAME=VALUE",
                        help="a custom request header (repeatable, at most 20"
                             + ("; replaces all of them" if update else "") + ")")
    parser.add_argument("--redact", action="append", metavar="POINTER",
                        help="a JSON Pointer into data of an optional field to drop "
                             "(repeatable" + ("; replaces all of them" if update else "") + ")")
    parser.add_argument("--rate-limit", type=float, metavar="N",
                        help="most deliveries per second to the endpoint")
    parser.add_argument("--batch", metavar="JSON",
                        help='deliver in batches: \'{}\' for the defaults (100 events, 1 MiB, '
                             '30 s), or e.g. \'{"max_events": 50, "max_wait": 5}\'')
    parser.add_argument("--ordering", choices=["per_key"],
                        help="deliver events that share their type's ordering key one at a "
                             "time, in order, with a sequence number")
    if update:
        for name in ("filter", "headers", "redact", "rate-limit", "batch", "ordering"):
            parser.add_argument(f"--no-{name}", action="store_true",
                                help=f"remove the endpoint's {name.replace('-', ' ')}")


def _headers(pairs: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise InvalidHeadersError(f"--header {pair!r}: write it as NAME=VALUE")
        headers[name] = value
    return headers


def options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The options the arguments set (or clear), as ``create_endpoint`` and
    ``update_endpoint`` take them.

    Raises:
        InvalidRequestError: ``--filter`` is not JSON.
        InvalidHeadersError: A ``--header`` without ``=``.
    """
    options: dict[str, Any] = {}
    if args.filter is not None:
        try:
            options["filter"] = json.loads(args.filter)
        except ValueError as exc:
            raise InvalidRequestError(f"--filter is not JSON: {exc}") from None
    if args.header is not None:
        options["headers"] = _headers(args.header)
    if args.redact is not None:
        options["redact"] = list(args.redact)
    if args.rate_limit is not None:
        options["rate_limit"] = args.rate_limit
    if args.batch is not None:
        try:
            options["batch"] = json.loads(args.batch)
        except ValueError as exc:
            raise InvalidRequestError(f"--batch is not JSON: {exc}") from None
    if args.ordering is not None:
        options["ordering"] = args.ordering
    for flag, option in (("no_filter", "filter"), ("no_headers", "headers"),
                         ("no_redact", "redact"), ("no_rate_limit", "rate_limit"),
                         ("no_batch", "batch"), ("no_ordering", "ordering")):
        if getattr(args, flag, False):
            if option in options:
                raise InvalidRequestError(f"--{flag.replace('_', '-')} and a new {option} "
                                          "together")
            options[option] = None
    return options


def describe_options(ep: Endpoint) -> list[str]:
    """One line per subscription option the endpoint has set, for the console.

    Args:
        ep: The endpoint.

    Returns:
        Lines such as ``rate limit: 4 per second``; none when no option is set.
    """
    lines = []
    if ep.filter is not None:
        lines.append(f"filter: {json.dumps(ep.filter)}")
    if ep.headers:
        lines.append("headers: " + ", ".join(f"{k}: {v}" for k, v in ep.headers.items()))
    if ep.redact:
        lines.append("redacted: " + ", ".join(ep.redact))
    if ep.rate_limit is not None:
        lines.append(f"rate limit: {ep.rate_limit:g} per second")
    if ep.batch is not None:
        lines.append(f"batches: up to {ep.batch['max_events']:.0f} events, "
                     f"{ep.batch['max_bytes']:.0f} bytes, {ep.batch['max_wait']:g} s")
    if ep.ordering is not None:
        lines.append(f"ordering: {ep.ordering}")
    return lines
