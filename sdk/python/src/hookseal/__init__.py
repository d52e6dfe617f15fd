"""Hookseal: verify webhook signatures you can trust.

Stdlib only. Two wire profiles: ``hookseal-v1`` (Stripe-compatible, the default) and
``standard-webhooks``; optional Ed25519 (``v1a``) with ``pip install hookseal[ed25519]``.

Examples:
    >>> import hookseal
    >>> wh = hookseal.Webhook("whsec_...")
    >>> event = wh.construct_event(raw_body, request.headers)   # raises on any failure
"""

from __future__ import annotations

from typing import Any

from .errors import (
    ConfigurationError,
    HooksealError,
    InvalidPayloadError,
    MalformedHeaderError,
    MissingHeaderError,
    SignatureMismatchError,
    TimestampInFutureError,
    TimestampTooOldError,
    WebhookVerificationError,
)
from .keys import generate_secret, generate_signing_key, public_key_for
from .profiles import DEFAULT_HEADER_PREFIX, HOOKSEAL_V1, PROFILES, STANDARD_WEBHOOKS
from .signing import Signer, sign
from .timestamps import DEFAULT_TOLERANCE
from .webhook import Webhook

__all__ = [
    "DEFAULT_HEADER_PREFIX",
    "DEFAULT_TOLERANCE",
    "HOOKSEAL_V1",
    "PROFILES",
    "STANDARD_WEBHOOKS",
    "ConfigurationError",
    "HooksealError",
    "InvalidPayloadError",
    "MalformedHeaderError",
    "MissingHeaderError",
    "SignatureMismatchError",
    "Signer",
    "TimestampInFutureError",
    "TimestampTooOldError",
    "Webhook",
    "WebhookVerificationError",
    "__version__",
    "generate_secret",
    "generate_signing_key",
    "public_key_for",
    "sign",
]


def __getattr__(name: str) -> Any:
    # The version is stated once, in pyproject.toml; ``__version__`` reads the installed
    # distribution's metadata on first use, so ``import hookseal`` does not pay for
    # importlib.metadata.
    if name == "__version__":
        from importlib.metadata import version

        value = globals()["__version__"] = version("hookseal")
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
