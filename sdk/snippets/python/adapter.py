"""Contract 5.1 verifier adapter for the Python snippet: JSON lines in, JSON lines out.

Run it through ``./adapter`` (which picks a Python); it answers every non-blank line with
exactly one JSON object and never crashes, whatever it is sent.
"""

from __future__ import annotations

import base64
import binascii
import json
import sys
from typing import Any

from hookseal_verify import (
    ConfigurationError,
    WebhookVerificationError,
    verify_hookseal_v1,
    verify_standard_webhooks,
)


def answer(request: Any) -> dict[str, Any]:
    """Verify one adapter request and return the adapter response."""
    if not isinstance(request, dict):
        return _config("a request must be a JSON object")
    profile = request.get("profile", "hookseal-v1")
    if profile not in ("hookseal-v1", "standard-webhooks"):
        return {"ok": False, "error": "unsupported_profile"}
    secrets = request.get("secrets")
    headers = request.get("headers")
    now = request.get("now")
    tolerance = request.get("tolerance", 300)
    prefix = request.get("header_prefix", "Hookseal")
    if not isinstance(secrets, list) or not isinstance(headers, dict):
        return _config("secrets must be a list and headers an object")
    if not all(isinstance(value, str) for value in headers.values()):
        return _config("header values must be strings")
    if not _is_int(tolerance) or not (now is None or _is_int(now)) or not isinstance(prefix, str):
        return _config("now and tolerance must be integers, header_prefix a string")
    try:
        body = base64.b64decode(str(request.get("body_b64", "")), validate=True)
    except (binascii.Error, ValueError):
        return _config("body_b64 is not base64")
    try:
        if profile == "hookseal-v1":
            verify_hookseal_v1(
                body, headers, secrets, tolerance=tolerance, now=now, header_prefix=prefix
            )
        else:
            verify_standard_webhooks(body, headers, secrets, tolerance=tolerance, now=now)
    except ConfigurationError as err:
        return _config(str(err))
    except WebhookVerificationError as err:
        return {"ok": False, "error": err.code, "detail": str(err)}
    return {"ok": True}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _config(detail: str) -> dict[str, Any]:
    return {"ok": False, "error": "invalid_configuration", "detail": detail}


def main() -> None:
    """Answer each request line on stdin with one response line on stdout, flushed."""
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            response = answer(json.loads(line))
        except Exception as err:  # never crash: garbage in, one answer out
            response = _config(f"unreadable request: {type(err).__name__}")
        sys.stdout.write(json.dumps(response) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
