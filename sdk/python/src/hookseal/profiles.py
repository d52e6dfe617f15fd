"""The two wire profiles a verifier or signer can speak."""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT_HEADER_PREFIX", "HOOKSEAL_V1", "PROFILES", "STANDARD_WEBHOOKS"]

HOOKSEAL_V1: Final = "hookseal-v1"
"""The default profile: ``t=<ts>,v1=<hex>``, byte-compatible with Stripe's scheme."""

STANDARD_WEBHOOKS: Final = "standard-webhooks"
"""The Standard Webhooks profile: ``webhook-id``/``webhook-timestamp``/``webhook-signature``."""

PROFILES: Final = (HOOKSEAL_V1, STANDARD_WEBHOOKS)
"""Every profile this SDK implements."""

DEFAULT_HEADER_PREFIX: Final = "Hookseal"
"""The default header prefix of ``hookseal-v1`` (``Hookseal-Signature`` and friends)."""
