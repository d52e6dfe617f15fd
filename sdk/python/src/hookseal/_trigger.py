"""``hookseal trigger``: send a correctly signed example of any catalog event to a URL.

The body is the event's example from the sample event catalog, which the SDK carries
(:mod:`hookseal.examples`), in a fresh envelope (new ``evt_`` id, current ``created``),
signed with :func:`hookseal.sign` exactly as a sender would. ``--tamper``
changes the body after signing, to show what a rejected delivery looks like; the command
then succeeds only if the endpoint rejected it.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any, Optional

from . import __version__, examples
from ._cliargs import add_profile_arguments
from .signing import sign

__all__ = ["add_parser", "build_body", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``trigger`` on the ``hookseal`` CLI's subparsers; returns its parser."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "trigger",
        help="send a signed example of a catalog event to a URL",
        description="Send a correctly signed example delivery of a catalog event type "
        "(e.g. test.ping, invoice.paid) to URL.",
    )
    p.add_argument("event_type", metavar="TYPE",
                   help="event type, e.g. test.ping ('list' prints the known types)")
    p.add_argument("--to", metavar="URL", help="where to POST the delivery (required)")
    p.add_argument("--secret", "-s", action="append",
                   help="secret or whsk_ signing key (repeat for several)")
    add_profile_arguments(p)
    p.add_argument("--event-version", type=int, help="event version (default: the current one)")
    p.add_argument("--tamper", action="store_true",
                   help="change the body after signing: the endpoint must reject it")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds (default: %(default)s)")
    p.set_defaults(func=run)
    return p


def build_body(event_type: str, version: Optional[int] = None) -> bytes:
    """Return the event's example in a fresh envelope, as compact JSON bytes.

    Raises:
        KeyError: No such event type or version.
    """
    envelope = examples.example_envelope(event_type, version, fresh=True)
    return json.dumps(envelope, separators=(",", ":")).encode()


def tamper(body: bytes) -> bytes:
    """Return ``body`` changed the way an attacker might: a test event made to look live."""
    envelope = json.loads(body)
    envelope["livemode"] = not envelope.get("livemode", False)
    return json.dumps(envelope, separators=(",", ":")).encode()


def run(args: argparse.Namespace) -> int:
    """Run ``hookseal trigger`` with parsed arguments; return the exit code.

    Exit codes: 0 when the endpoint answered 2xx (with ``--tamper``: when it rejected the
    delivery with 4xx), 1 otherwise, 2 for a usage error (unknown event type, bad URL).
    """
    if args.event_type == "list":
        print("\n".join(examples.event_types()))
        return 0
    if args.event_type not in examples.event_types():
        print(f"hookseal: unknown event type {args.event_type!r}; known types:", file=sys.stderr)
        print("\n".join(examples.event_types()), file=sys.stderr)
        return 2
    if not args.to or not args.secret:
        print("hookseal trigger: --to URL and --secret are required", file=sys.stderr)
        return 2
    try:
        body = build_body(args.event_type, args.event_version)
    except KeyError as exc:
        print(f"hookseal: {exc.args[0]}", file=sys.stderr)
        return 2
    event_id = json.loads(body)["id"]
    headers = sign(body, args.secret, profile=args.profile, msg_id=event_id,
                   event_type=args.event_type, header_prefix=args.prefix)
    if args.tamper:
        body = tamper(body)
    headers["Content-Type"] = "application/json"
    headers["User-Agent"] = f"hookseal-trigger/{__version__}"
    if not args.to.startswith(("http://", "https://")):
        print(f"hookseal trigger: --to must be an http:// or https:// URL, not {args.to!r}",
              file=sys.stderr)
        return 2
    request = urllib.request.Request(args.to, data=body, headers=headers, method="POST")  # noqa: S310
    label = f"{args.event_type} {event_id}" + (" (tampered after signing)" if args.tamper else "")
    print(f"→ POST {args.to}  {label}")
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:  # noqa: S310
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, answer = err.code, err.read()
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        print(f"hookseal: could not reach {args.to}: {reason}", file=sys.stderr)
        return 1
    text = answer.decode("utf-8", "replace")
    code = _problem_code(text)
    print(f"← {status}" + (f" {code}" if code else "") + (f"  {text}" if text else ""))
    if args.tamper:
        if 400 <= status < 500:
            print(f"✔ rejected as it should be ({code or status}): the signature no longer matches")
            return 0
        print("✘ the endpoint ACCEPTED a tampered delivery: it is not verifying signatures",
              file=sys.stderr)
        return 1
    return 0 if 200 <= status < 300 else 1


def _problem_code(text: str) -> Optional[str]:
    try:
        payload = json.loads(text)
    except ValueError:
        return None
    code = payload.get("code") if isinstance(payload, dict) else None
    return code if isinstance(code, str) else None
