"""The sender's error hierarchy: every error has a stable ``.code``.

::

    SenderError                      sender_error
    ├── SenderConfigError            invalid_configuration   (alias: ConfigError)
    │   └── ScaleOutRefusedError     scale_out_refused
    ├── InvalidRequestError          invalid_request
    ├── InvalidEventDataError        invalid_payload         (alias: InvalidPayloadError)
    ├── DestinationRefusedError      destination_refused
    ├── NotFoundError                not_found
    ├── ConflictError                conflict
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
    "InvalidEventDataError",
    "InvalidPayloadError",
    "InvalidRequestError",
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
