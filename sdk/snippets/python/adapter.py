"""Contract 5.1 verifier adapter for the Python snippet: JSON lines in, JSON lines out.

Run it through ``./adapter`` (which picks a Python); it answers every non-blank line with
exactly one JSON object and never crashes, whatever it is sent.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import sys
from typing import Any, Optional

from hookseal_verify import (
    ConfigurationError,
    WebhookVerificationError,
    verify_hookseal_v1,
    verify_standard_webhooks,
)


def answer(request: Any) -> dict[str, Any]:
    """Verify one adapter request and return the adapter response.

    Malformed requests (not an object, bad ``body_b64`` or ``now``) answer
    ``invalid_request``, as the SDK's reference adapter does.
    """
    if not isinstance(request, dict):
        return _fail("invalid_request", "a request must be a JSON object")
    profile = request.get("profile", "hookseal-v1")
    if profile not in ("hookseal-v1", "standard-webhooks"):
        return _fail("unsupported_profile", f"profile {profile!r} is not implemented")
    try:
        body = base64.b64decode(request.get("body_b64", ""), validate=True)
    except (binascii.Error, ValueError, TypeError):
        return _fail("invalid_request", "body_b64 is not standard base64")
    now = request.get("now")
    if now is not None and (isinstance(now, bool) or not isinstance(now, (int, float))):
        return _fail("invalid_request", "now must be a number")
    secrets = request.get("secrets", [])
    tolerance = request.get("tolerance", 300)
    prefix = request.get("header_prefix", "Hookseal")
    if (
        not isinstance(secrets, (str, list))
        or isinstance(tolerance, bool)
        or not isinstance(prefix, str)
        or not _TOKEN.fullmatch(prefix)
    ):
        return _fail("invalid_configuration", "secrets, tolerance or header_prefix is wrong")
    headers = request.get("headers", {})
    wanted = (
        {f"{prefix}-signature".lower()}
        if profile == "hookseal-v1"
        else {"webhook-id", "webhook-timestamp", "webhook-signature"}
    )
    plain: dict[str, str] = {}
    # Like the SDK: headers that are not an object, or a wanted header that is not text,
    # are malformed, and null is absent. The verifier must report it (after its own
    # configuration checks), so such a header is sent twice in two spellings.
    if not isinstance(headers, dict):
        headers = {sorted(wanted)[0]: 0}
    for name, value in headers.items():
        if isinstance(value, str) or (value is None and name.lower() in wanted):
            plain[name] = value or ""
        elif name.lower() in wanted:
            plain[name.lower()] = plain[name.upper()] = ""
    try:
        if profile == "hookseal-v1":
            verify_hookseal_v1(body, plain, secrets, tolerance=tolerance, now=_floor(now), header_prefix=prefix)
        else:
            verify_standard_webhooks(body, plain, secrets, tolerance=tolerance, now=_floor(now))
    except ConfigurationError as err:
        return _fail(err.code, str(err))
    except WebhookVerificationError as err:
        return _fail(err.code, str(err))
    return {"ok": True}


_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")


def _floor(now: Optional[float]) -> Optional[int]:
    return None if now is None else math.floor(now)


def _fail(code: str, detail: str) -> dict[str, Any]:
    return {"ok": False, "error": code, "detail": detail}


def main() -> None:
    """Answer each request line on stdin with one response line on stdout, flushed."""
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            response = answer(json.loads(line))
        except Exception as err:  # never crash: garbage in, one answer out
            response = _fail("invalid_request", f"unreadable request: {type(err).__name__}")
        sys.stdout.write(json.dumps(response) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
