"""The one error hierarchy of the ``hookseal`` SDK.

Every error carries a stable machine-readable ``code`` (the contract's codes), so code
and logs can branch on ``err.code`` rather than on message text. Messages never include
a secret or an expected signature.

:data:`ERROR_FACTS` is the one table of what each code means outside Python: the HTTP
status and problem title the integrations answer with, and the exit status of
``hookseal verify``. The integrations, the CLI and the docs read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, Optional

__all__ = [
    "ERROR_FACTS",
    "ConfigurationError",
    "ErrorFacts",
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


@dataclass(frozen=True)
class ErrorFacts:
    """What one error code means outside Python.

    Attributes:
        code: The stable code (``err.code``, the problem's ``code``).
        title: The RFC 9457 problem title the integrations answer with.
        error: The exception class the SDK raises with this code; ``None`` for codes only
            the integrations answer with (``missing_delivery_id``, ``delivery_in_progress``,
            ``payload_too_large``).
        status: The HTTP status the integrations answer with; ``None`` when no request is
            ever answered with it (``invalid_configuration`` is raised at construction).
        exit_code: The exit status of ``hookseal verify``; ``None`` when it cannot end so.
    """

    code: str
    title: str
    error: Optional[type[HooksealError]] = None
    status: Optional[int] = None
    exit_code: Optional[int] = None


def _table(*rows: ErrorFacts) -> Mapping[str, ErrorFacts]:
    return MappingProxyType({row.code: row for row in rows})


ERROR_FACTS: Mapping[str, ErrorFacts] = _table(
    # The verification codes of contract section 3, in its order.
    ErrorFacts("missing_header", "Missing webhook header", MissingHeaderError, 400, 10),
    ErrorFacts("malformed_header", "Malformed webhook header", MalformedHeaderError, 400, 11),
    ErrorFacts("timestamp_too_old", "Webhook timestamp too old", TimestampTooOldError, 401, 12),
    ErrorFacts("timestamp_in_future", "Webhook timestamp in the future", TimestampInFutureError, 401, 13),
    ErrorFacts("signature_mismatch", "Webhook signature mismatch", SignatureMismatchError, 401, 14),
    # The SDK's own.
    ErrorFacts("invalid_payload", "Webhook body is not a JSON object", InvalidPayloadError, 400, 15),
    ErrorFacts("invalid_configuration", "Invalid verifier configuration", ConfigurationError, None, 3),
    # Answered by the integrations only (idempotency and body size).
    ErrorFacts("missing_delivery_id", "Webhook delivery id missing", status=400),
    ErrorFacts("delivery_in_progress", "Webhook delivery in progress", status=503),
    ErrorFacts("payload_too_large", "Webhook body too large", status=413),
    # Answered by ``hookseal listen`` when it cannot forward a delivery.
    ErrorFacts("forward_failed", "Forward failed", status=502),
)
"""Every code the SDK raises or answers with, keyed by code (read-only)."""
