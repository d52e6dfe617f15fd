"""The ``hookseal`` command line: sign a body, verify a saved request, make keys.

``hookseal sign`` prints the headers for a body (or a ready ``curl`` command), so anyone
can send a correctly signed request to their own handler; ``hookseal verify`` checks a
saved request and exits with a code per error (see :data:`EXIT_CODES`).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from . import __version__, _listen, _trigger
from ._cliargs import add_profile_arguments
from .errors import ERROR_FACTS, HooksealError
from .keys import generate_secret, generate_signing_key, public_key_for
from .signing import sign
from .timestamps import DEFAULT_TOLERANCE
from .webhook import Webhook

__all__ = ["EXIT_CODES", "main"]

EXIT_CODES: dict[str, int] = {
    code: facts.exit_code for code, facts in ERROR_FACTS.items() if facts.exit_code is not None
}
"""Exit status of ``hookseal verify`` per error code (0 = verified, 2 = usage error).

From :data:`hookseal.errors.ERROR_FACTS`."""



def _read_body(args: argparse.Namespace) -> bytes:
    if args.data is not None:
        return str(args.data).encode("utf-8")
    if args.body is not None and args.body != "-":
        return Path(args.body).read_bytes()
    return sys.stdin.buffer.read()


def _cmd_sign(args: argparse.Namespace) -> int:
    body = _read_body(args)
    headers = sign(
        body,
        args.secret,
        profile=args.profile,
        timestamp=args.timestamp,
        msg_id=args.id,
        event_type=args.type,
        header_prefix=args.prefix,
    )
    if args.format == "json":
        print(json.dumps(headers, indent=2))
    elif args.format == "curl":
        parts = ["curl", "-sS", "-X", "POST", args.url or "http://127.0.0.1:8000/webhooks"]
        parts += ["-H", "Content-Type: application/json"]
        for name, value in headers.items():
            parts += ["-H", f"{name}: {value}"]
        parts += ["--data-binary", body.decode("utf-8", "replace")]
        print(" ".join(shlex.quote(p) for p in parts))
    else:
        for name, value in headers.items():
            print(f"{name}: {value}")
    return 0


def parse_http_headers(text: str) -> list[tuple[str, str]]:
    """Parse ``Name: value`` lines (a leading request or status line is skipped).

    Args:
        text: Header lines as saved by ``curl -D``, a proxy log, or ``hookseal sign``.

    Returns:
        The ``(name, value)`` pairs in order; values are stripped of surrounding spaces.
    """
    pairs = []
    for line in text.splitlines():
        if not line.strip():
            break
        name, sep, value = line.partition(":")
        if not sep or " " in name.strip():
            continue  # "POST /webhooks HTTP/1.1" and the like
        pairs.append((name.strip(), value.strip()))
    return pairs


def _load_request(args: argparse.Namespace) -> tuple[Any, bytes]:
    if args.request:
        raw = Path(args.request).read_bytes()
        head, sep, body = raw.partition(b"\r\n\r\n")
        if not sep:
            head, _, body = raw.partition(b"\n\n")
        return parse_http_headers(head.decode("latin-1")), body
    if not args.headers:
        raise SystemExit("hookseal verify: give --request FILE, or --headers FILE with --body FILE")
    text = Path(args.headers).read_text(encoding="utf-8")
    try:
        headers: Any = json.loads(text)
    except ValueError:
        headers = parse_http_headers(text)
    return headers, _read_body(args)


def _cmd_verify(args: argparse.Namespace) -> int:
    headers, body = _load_request(args)
    try:
        webhook = Webhook(args.secret, profile=args.profile, tolerance=args.tolerance, header_prefix=args.prefix)
        event = webhook.construct_event(body, headers, now=args.now)
    except HooksealError as exc:
        print(f"rejected: {exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_CODES.get(exc.code, 1)
    print(f"verified: {event.get('type', '?')} {event.get('id', '?')}")
    if args.print_body:
        print(json.dumps(event, indent=2, ensure_ascii=False))
    return 0


def _cmd_keys(args: argparse.Namespace) -> int:
    if args.keys_command == "secret":
        print(generate_secret())
        return 0
    if args.keys_command == "public":
        print(public_key_for(args.signing_key))
        return 0
    signing, public = generate_signing_key()
    if args.json:
        print(json.dumps({"signing_key": signing, "public_key": public}, indent=2))
    else:
        print(f"signing key (keep secret, sender only): {signing}")
        print(f"public key  (give to receivers):       {public}")
    return 0


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--secret",
        "-s",
        action="append",
        required=True,
        help="secret or key (repeat for several: rotation, or v1 and v1a)",
    )
    add_profile_arguments(parser)
    parser.add_argument("--body", metavar="FILE", help="file holding the raw body ('-' or omitted: stdin)")


def build_parser() -> argparse.ArgumentParser:
    """Build the ``hookseal`` argument parser (all subcommands)."""
    codes = ", ".join(f"{code}={status}" for code, status in EXIT_CODES.items())
    parser = argparse.ArgumentParser(
        prog="hookseal",
        description="Sign and verify webhooks (hookseal-v1 and Standard Webhooks).",
        epilog=f"verify exit codes: 0=verified, 2=usage, {codes}",
    )
    parser.add_argument("--version", action="version", version=f"hookseal {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p_sign = sub.add_parser("sign", help="print the signature headers for a body")
    _add_common(p_sign)
    p_sign.add_argument("--data", "-d", help="the body as a string (instead of --body)")
    p_sign.add_argument("--timestamp", type=int, help="Unix seconds to sign (default: now)")
    p_sign.add_argument("--id", help="delivery/message id (required for standard-webhooks)")
    p_sign.add_argument("--type", help="event type header (hookseal-v1)")
    p_sign.add_argument("--format", choices=("headers", "json", "curl"), default="headers")
    p_sign.add_argument("--url", help="target URL for --format curl")
    p_sign.set_defaults(func=_cmd_sign)

    p_verify = sub.add_parser("verify", help="verify a saved request; exit code per error")
    _add_common(p_verify)
    p_verify.add_argument("--request", metavar="FILE", help="a raw saved HTTP request (headers, blank line, body)")
    p_verify.add_argument("--headers", metavar="FILE", help="headers as JSON or 'Name: value' lines")
    p_verify.add_argument("--tolerance", type=int, default=DEFAULT_TOLERANCE, help="seconds (default: %(default)s)")
    p_verify.add_argument("--now", type=int, help="verify as of this Unix time (default: now)")
    p_verify.add_argument("--print-body", action="store_true", help="print the verified event")
    p_verify.set_defaults(func=_cmd_verify, data=None)

    p_keys = sub.add_parser("keys", help="generate secrets and Ed25519 key pairs")
    keys_sub = p_keys.add_subparsers(dest="keys_command", required=True)
    p_gen = keys_sub.add_parser("generate", help="a new Ed25519 key pair (whsk_ + whpk_) for v1a")
    p_gen.add_argument("--json", action="store_true")
    keys_sub.add_parser("secret", help="a new whsec_ HMAC secret")
    p_pub = keys_sub.add_parser("public", help="the whpk_ public key of a whsk_ signing key")
    p_pub.add_argument("signing_key")
    p_keys.set_defaults(func=_cmd_keys)

    # The local loop lives in its own modules; both import their optional deps lazily.
    _listen.add_parser(sub)
    _trigger.add_parser(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``hookseal`` command line and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except HooksealError as exc:
        print(f"hookseal: {exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_CODES.get(exc.code, 1)
    except OSError as exc:
        print(f"hookseal: {exc}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
