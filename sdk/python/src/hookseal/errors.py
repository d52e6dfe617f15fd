"""The one error hierarchy of the ``hookseal`` SDK.

Every error carries a stable machine-readable ``code`` (the contract's codes), so code
and logs can branch on ``err.code`` rather than on message text. Messages never include
a secret or an expected signature.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ConfigurationError",
    "HooksealError",
    "InvalidPayloadError",
    "MalformedHeaderError",
    "MissingHeaderError",
    "SignatureMismatchError",
    "TimestampInFutureError",
    "TimestampTooOldError",
    "WebhookVerificationError",
]


class HooksealError(Exception):
    """Base class of every error the SDK raises.

    Attributes:
        code: A stable, machine-readable code, e.g. ``"signature_mismatch"``.
    """

    code: ClassVar[str] = "hookseal_error"

    # No __init__ of our own: rejecting bad requests should cost as little as possible.
    @property
    def message(self) -> str:
        """The human-readable message (never containing a secret or expected signature)."""
        return str(self.args[0]) if self.args else ""


class ConfigurationError(HooksealError, ValueError):
    """The verifier or signer was set up wrongly (raised at construction, never by ``verify``).

    Examples: no secrets, an empty secret, ``whsec_`` alone, a Standard Webhooks secret that
    does not decode as base64, an unknown profile, a negative tolerance, or a
    ``whpk_`` key without the ``hookseal[ed25519]`` extra installed.
    """

    code = "invalid_configuration"


class WebhookVerificationError(HooksealError):
    """Base class of the five ways a delivery can fail verification.

    Catch this to reject a request; branch on ``.code`` (or the subclass) to tell why.
    """

    code = "verification_failed"


class MissingHeaderError(WebhookVerificationError):
    """A required header is absent or empty."""

    code = "missing_header"


class MalformedHeaderError(WebhookVerificationError):
    """A header is present but cannot be parsed, is too large, or appears twice."""

    code = "malformed_header"


class TimestampTooOldError(WebhookVerificationError):
    """The signed timestamp is older than the tolerance allows (a possible replay)."""

    code = "timestamp_too_old"


class TimestampInFutureError(WebhookVerificationError):
    """The signed timestamp is further in the future than the tolerance allows."""

    code = "timestamp_in_future"


class SignatureMismatchError(WebhookVerificationError):
    """No signature in the header matches the body under any of the configured keys."""

    code = "signature_mismatch"


class InvalidPayloadError(HooksealError, ValueError):
    """The body verified, but it is not a JSON object (raised by ``construct_event``)."""

    code = "invalid_payload"
