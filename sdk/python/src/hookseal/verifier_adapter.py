"""The SDK's verifier adapter for the conformance suite (contract section 5.1).

Run as ``python -m hookseal.verifier_adapter``: it reads one JSON request per line on standard
input and writes exactly one JSON answer per line, in order, flushed. It is also the
worked example of the adapter protocol for other languages.
"""

from __future__ import annotations

import base64
import binascii
import json
import sys
from typing import Any, TextIO

from .errors import ConfigurationError, HooksealError
from .profiles import DEFAULT_HEADER_PREFIX, PROFILES
from .timestamps import DEFAULT_TOLERANCE
from .webhook import Webhook

__all__ = ["answer", "main", "serve"]


def answer(request: Any) -> dict[str, Any]:
    """Answer one decoded adapter request.

    Args:
        request: A contract 5.1 request object (``profile``, ``secrets``, ``headers``,
            ``body_b64``, ``now``, ``tolerance``, optional ``header_prefix``).

    Returns:
        ``{"ok": True}`` or ``{"ok": False, "error": code, "detail": message}``.
    """
    if not isinstance(request, dict):
        return _fail("invalid_request", "a request must be a JSON object")
    profile = request.get("profile", PROFILES[0])
    if profile not in PROFILES:
        return _fail("unsupported_profile", f"profile {profile!r} is not implemented")
    try:
        body = base64.b64decode(request.get("body_b64", ""), validate=True)
    except (binascii.Error, ValueError, TypeError):
        return _fail("invalid_request", "body_b64 is not standard base64")
    now = request.get("now")
    if now is not None and (isinstance(now, bool) or not isinstance(now, (int, float))):
        return _fail("invalid_request", "now must be a number")
    try:
        webhook = Webhook(
            request.get("secrets", []),
            profile=profile,
            tolerance=request.get("tolerance", DEFAULT_TOLERANCE),
            header_prefix=request.get("header_prefix", DEFAULT_HEADER_PREFIX),
        )
    except ConfigurationError as exc:
        return _fail(exc.code, exc.message)
    try:
        webhook.verify(body, request.get("headers", {}), now=now)
    except HooksealError as exc:
        return _fail(exc.code, exc.message)
    return {"ok": True}


def _fail(code: str, detail: str) -> dict[str, Any]:
    return {"ok": False, "error": code, "detail": detail}


def serve(stdin: TextIO, stdout: TextIO) -> None:
    """Answer every line of ``stdin`` on ``stdout`` until end of input."""
    for line in stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError:
            reply = _fail("invalid_request", "the line is not JSON")
        else:
            reply = answer(request)
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()


def main() -> None:
    """Entry point of ``python -m hookseal.verifier_adapter``."""
    serve(sys.stdin, sys.stdout)


if __name__ == "__main__":
    main()
