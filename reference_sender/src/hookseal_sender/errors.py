"""The sender's error hierarchy: every error has a stable ``.code``.

::

    SenderError                      sender_error
    ├── SenderConfigError            invalid_configuration   (alias: ConfigError)
    │   └── ScaleOutRefusedError     scale_out_refused
    ├── InvalidRequestError          invalid_request
    │   ├── InvalidVersionError      invalid_version         (an endpoint's ``versions``)
    │   ├── InvalidFilterError       invalid_filter          (``filter``)
    │   ├── InvalidHeadersError      invalid_headers         (``headers``)
    │   ├── InvalidRedactionError    invalid_redaction       (``redact``)
    │   ├── InvalidRateLimitError    invalid_rate_limit      (``rate_limit``)
    │   ├── InvalidBatchError        invalid_batch           (``batch``)
    │   ├── InvalidOrderingError     invalid_ordering        (``ordering``)
    │   └── InvalidAuthError         invalid_auth            (``auth``)
    ├── InvalidEventDataError        invalid_payload         (alias: InvalidPayloadError)
    ├── DestinationRefusedError      destination_refused
    ├── NotFoundError                not_found
    ├── ConflictError                conflict
    │   └── IdempotencyConflictError idempotency_conflict    (``send``'s idempotency key)
    ├── BodyTooLargeError            body_too_large          (hookseal_sender._http)
    └── PortalTokenError             invalid_token           (hookseal_sender.portal_tokens)

Two names are easy to confuse with the verifier SDK's (``hookseal``), and say so in their
new names; the old names stay as aliases:

- :class:`SenderConfigError` is a *sender's* bad setting (settings file, master key,
  :class:`~hookseal_sender.SenderConfig`). The SDK's ``hookseal.ConfigurationError`` is a
  *verifier or signer* set up wrongly.
- :class:`InvalidEventDataError` is event data refused *before sending* (not a JSON
  object, or not valid against the catalog schema). The SDK's
  ``hookseal.InvalidPayloadError`` is a *received* body that verified but is not a JSON
  object. Both keep the code ``invalid_payload``.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ConflictError",
    "DestinationRefusedError",
    "IdempotencyConflictError",
    "InvalidAuthError",
    "InvalidBatchError",
    "InvalidEventDataError",
    "InvalidFilterError",
    "InvalidHeadersError",
    "InvalidOrderingError",
    "InvalidPayloadError",
    "InvalidRateLimitError",
    "InvalidRedactionError",
    "InvalidRequestError",
    "InvalidVersionError",
    "NotFoundError",
    "ScaleOutRefusedError",
    "SenderConfigError",
    "SenderError",
]


class SenderError(Exception):
    """Base of every error raised by :mod:`hookseal_sender`.

    Attributes:
        code: A stable, machine-readable error code.
    """

    code = "sender_error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.code)
        self.detail = detail or self.code


class SenderConfigError(SenderError, ValueError):
    """The sender's configuration is invalid (settings, master key, ``SenderConfig``).

    Not the SDK's ``hookseal.ConfigurationError``, which is about a verifier or signer.
    """

    code = "invalid_configuration"


#: The former name of :class:`SenderConfigError`.
ConfigError = SenderConfigError


class ScaleOutRefusedError(SenderConfigError):
    """More delivery workers than the store supports: SQLite has one writer, so one
    worker process per database file (``hookseal-sender worker --processes 1``, or
    ``serve`` with at most one worker), while another holds it; use PostgreSQL to add
    processes or hosts."""

    code = "scale_out_refused"


class InvalidRequestError(SenderError, ValueError):
    """A request to the sender (API, CLI, adapter) is malformed."""

    code = "invalid_request"


class InvalidEventDataError(SenderError, ValueError):
    """An event's ``data`` cannot be sent: not a JSON object, not JSON-encodable, or not
    valid against the catalog schema.

    Not the SDK's ``hookseal.InvalidPayloadError``, which is about a received body.
    """

    code = "invalid_payload"


#: The former name of :class:`InvalidEventDataError`.
InvalidPayloadError = InvalidEventDataError


class DestinationRefusedError(SenderError, ValueError):
    """An endpoint URL is refused by the SSRF policy."""

    code = "destination_refused"


class NotFoundError(SenderError, LookupError):
    """The object does not exist or belongs to another tenant."""

    code = "not_found"


class ConflictError(SenderError):
    """The operation does not apply to the object in its current state."""

    code = "conflict"


class InvalidVersionError(InvalidRequestError):
    """An endpoint's ``versions`` names a type or version the catalog does not serve."""

    code = "invalid_version"


class InvalidFilterError(InvalidRequestError):
    """An endpoint's ``filter`` is not a valid filter (the detail names the bad part)."""

    code = "invalid_filter"


class InvalidHeadersError(InvalidRequestError):
    """An endpoint's ``headers`` holds a bad or reserved name, a bad value, or too many."""

    code = "invalid_headers"


class InvalidRedactionError(InvalidRequestError):
    """An endpoint's ``redact`` holds a bad pointer or names a required field."""

    code = "invalid_redaction"


class InvalidRateLimitError(InvalidRequestError):
    """An endpoint's ``rate_limit`` is not a number of deliveries per second above 0."""

    code = "invalid_rate_limit"


class InvalidBatchError(InvalidRequestError):
    """An endpoint's ``batch`` thresholds are out of bounds."""

    code = "invalid_batch"


class InvalidOrderingError(InvalidRequestError):
    """An endpoint's ``ordering`` is not a known mode."""

    code = "invalid_ordering"


class InvalidAuthError(InvalidRequestError):
    """An endpoint's ``auth`` is incomplete or its credentials are unusable."""

    code = "invalid_auth"


class IdempotencyConflictError(ConflictError):
    """An idempotency key was used before for a send with other data."""

    code = "idempotency_conflict"
