"""Checks shared by the verifier and the signer for their constructor arguments."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .errors import ConfigurationError

_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")


def secrets_list(secret_or_secrets: object) -> list[object]:
    """Return one secret or an iterable of them as a non-empty list."""
    if isinstance(secret_or_secrets, str):
        return [secret_or_secrets]
    if isinstance(secret_or_secrets, (bytes, bytearray)) or not isinstance(secret_or_secrets, Iterable):
        raise ConfigurationError("secrets must be a str or a list of str")
    secrets = list(secret_or_secrets)
    if not secrets:
        raise ConfigurationError("at least one secret is required")
    return secrets


def header_prefix(prefix: object) -> str:
    """Return ``prefix`` if it can start an HTTP header name, else raise ConfigurationError."""
    if not isinstance(prefix, str) or _TOKEN.fullmatch(prefix) is None:
        raise ConfigurationError(f"header_prefix must be an HTTP header token, not {prefix!r}")
    return prefix


def non_negative_int(value: object, name: str) -> int:
    """Return ``value`` if it is a non-negative int (not a bool), else raise ConfigurationError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"{name} must be a non-negative int, not {value!r}")
    return value


def body_bytes(body: object) -> bytes:
    """Return ``body`` as bytes (``str`` is taken as UTF-8), or raise TypeError."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    raise TypeError(f"body must be bytes or str, not {type(body).__name__}")
