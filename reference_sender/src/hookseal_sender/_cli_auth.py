"""``--auth-*`` options of ``endpoints add`` and ``endpoints set-auth``: an endpoint's
authentication, with every secret read from a file or standard input (``-``), never from
the command line, where shell history and ``ps`` would show it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Optional

from .errors import InvalidRequestError

__all__ = ["add_auth_arguments", "auth_from_args"]


def add_auth_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options that describe an endpoint's authentication.

    Args:
        parser: The subcommand's parser.
    """
    group = parser.add_argument_group(
        "endpoint authentication (contract 4.6; secrets are read from files, '-' for stdin)")
    group.add_argument("--auth-static-file", metavar="PATH",
                       help="file holding the Authorization value sent on every attempt "
                            "(e.g. 'Bearer ...')")
    group.add_argument("--oauth-token-url", metavar="URL",
                       help="OAuth 2.0 client credentials: the token URL")
    group.add_argument("--oauth-client-id", metavar="ID", help="OAuth client id")
    group.add_argument("--oauth-client-secret-file", metavar="PATH",
                       help="file holding the OAuth client secret")
    group.add_argument("--oauth-scope", metavar="SCOPE", help="OAuth scope (optional)")
    group.add_argument("--oauth-audience", metavar="AUD", help="OAuth audience (optional)")
    group.add_argument("--mtls-cert", metavar="PATH",
                       help="PEM client certificate presented to the endpoint (mutual TLS)")
    group.add_argument("--mtls-key", metavar="PATH", help="its PEM private key (unencrypted)")


def _read(path: str, what: str) -> str:
    if path == "-":
        return sys.stdin.read().strip("\r\n")
    try:
        return Path(path).read_text(encoding="utf-8").strip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(f"cannot read the {what} from {path}: {exc}") from None


def auth_from_args(args: argparse.Namespace) -> Optional[dict[str, Any]]:
    """The ``auth`` the options describe, or ``None`` if none was given.

    Args:
        args: Parsed arguments with :func:`add_auth_arguments`' options.

    Returns:
        The ``auth`` object for :meth:`~hookseal_sender.Sender.create_endpoint`.

    Raises:
        InvalidRequestError: Options of two kinds, or a file that cannot be read.
    """
    kinds = [kind for kind, given in (
        ("static", args.auth_static_file),
        ("oauth", args.oauth_token_url or args.oauth_client_id or args.oauth_client_secret_file),
        ("mtls", args.mtls_cert or args.mtls_key)) if given]
    if len(kinds) > 1:
        raise InvalidRequestError(f"choose one kind of endpoint authentication, not {' and '.join(kinds)}")
    if not kinds:
        return None
    if kinds[0] == "static":
        return {"type": "static", "authorization": _read(args.auth_static_file, "Authorization value")}
    if kinds[0] == "oauth":
        auth: dict[str, Any] = {"type": "oauth", "token_url": args.oauth_token_url,
                                "client_id": args.oauth_client_id, "scope": args.oauth_scope,
                                "audience": args.oauth_audience}
        if args.oauth_client_secret_file:
            auth["client_secret"] = _read(args.oauth_client_secret_file, "client secret")
        return {k: v for k, v in auth.items() if v is not None}
    return {"type": "mtls",
            "cert_pem": _read(args.mtls_cert, "certificate") if args.mtls_cert else None,
            "key_pem": _read(args.mtls_key, "private key") if args.mtls_key else None}
