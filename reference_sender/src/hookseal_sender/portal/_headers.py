"""The request headers an attempt carried, rebuilt for display with signatures redacted.

Attempts do not store their request headers: every header but the signature follows from
the endpoint, the delivery and the attempt's start time (each attempt is signed at
``int(at)``). The SDK builds them, so the names match the endpoint's profile exactly; the
signature values are replaced, so nothing derived from a secret is shown.
"""

from __future__ import annotations

import base64

import hookseal
from hookseal.profiles import STANDARD_WEBHOOKS

from ..models import Delivery, Endpoint

_DUMMY_SECRET = "whsec_" + base64.b64encode(bytes(32)).decode("ascii")
__all__ = ["REDACTED", "request_headers"]

REDACTED = "(redacted)"


def request_headers(endpoint: Endpoint, delivery: Delivery, at: float, body: bytes,
                    user_agent: str) -> dict[str, str]:
    """The headers of the attempt that started at ``at``, signatures redacted.

    Args:
        endpoint: The endpoint (profile, header prefix, signing mode).
        delivery: The delivery (id, event type).
        at: The attempt's start time.
        body: The body sent.
        user_agent: The sender's ``User-Agent``.

    Returns:
        Header name to value.
    """
    headers = hookseal.sign(body, _DUMMY_SECRET, profile=endpoint.profile, timestamp=int(at),
                            msg_id=delivery.event_id, event_type=delivery.event_type,
                            header_prefix=endpoint.header_prefix)
    kinds = {"hmac": ["v1"], "ed25519": ["v1a"], "both": ["v1", "v1a"]}.get(
        endpoint.signing, ["v1"])
    for name in list(headers):
        lower = name.lower()
        if endpoint.profile == STANDARD_WEBHOOKS and lower == "webhook-signature":
            headers[name] = " ".join(f"{k},{REDACTED}" for k in kinds)
        elif lower == f"{endpoint.header_prefix.lower()}-signature":
            headers[name] = ",".join([f"t={int(at)}", *(f"{k}={REDACTED}" for k in kinds)])
    headers["Content-Type"] = "application/json"
    headers["User-Agent"] = user_agent
    return headers
