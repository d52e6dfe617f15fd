"""The sender's error hierarchy: every error has a stable ``.code``."""

from __future__ import annotations


class SenderError(Exception):
    """Base of every error raised by :mod:`hookseal_sender`.

    Attributes:
        code: A stable, machine-readable error code.
    """

    code = "sender_error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.code)
        self.detail = detail or self.code


class ConfigError(SenderError, ValueError):
    """The sender's configuration is invalid."""

    code = "invalid_configuration"


class InvalidRequestError(SenderError, ValueError):
    """A request to the sender (API, CLI, adapter) is malformed."""

    code = "invalid_request"


class InvalidPayloadError(SenderError, ValueError):
    """An event's ``data`` does not validate against the catalog schema."""

    code = "invalid_payload"


class DestinationRefusedError(SenderError, ValueError):
    """An endpoint URL is refused by the SSRF policy."""

    code = "destination_refused"


class NotFoundError(SenderError, LookupError):
    """The object does not exist or belongs to another tenant."""

    code = "not_found"


class ConflictError(SenderError):
    """The operation does not apply to the object in its current state."""

    code = "conflict"
