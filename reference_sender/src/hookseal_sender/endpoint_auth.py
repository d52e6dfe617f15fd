"""How the sender authenticates to an endpoint (contract 4.6): checked once, stored apart.

An endpoint's ``auth`` is one of:

- ``{"type": "static", "authorization": "Bearer ..."}``: that ``Authorization`` value on
  every attempt;
- ``{"type": "oauth", "token_url": ..., "client_id": ..., "client_secret": ...,
  "scope": ..., "audience": ...}``: OAuth 2.0 client credentials (RFC 6749 4.4); the
  token is fetched when needed and sent as ``Authorization: Bearer <token>``;
- ``{"type": "mtls", "cert_pem": ..., "key_pem": ...}``: a TLS client certificate and
  its key, presented on every connection to the endpoint.

:func:`check_auth` splits what is given into the *public* part, stored on the endpoint
and shown in listings (``{"type": "oauth", "token_url": ..., "client_id": ...}``, or the
certificate's subject, fingerprint and expiry), and the *secret* part (the value, client
secret, private key), stored encrypted with the master key like a signing secret and
never shown again.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any, Optional

from .errors import InvalidAuthError, InvalidRequestError

__all__ = ["AUTH_TYPES", "CheckedAuth", "check_auth", "check_ca_pem"]

#: The kinds of endpoint authentication.
AUTH_TYPES = ("static", "oauth", "mtls")
#: Longest static ``Authorization`` value, client id, secret, scope or audience.
MAX_AUTH_VALUE = 4096
#: Longest PEM text (a certificate chain, a key).
MAX_PEM = 64 * 1024
# An HTTP field value (RFC 9110): visible ASCII, spaces and tabs; no CR, LF or NUL.
_FIELD_VALUE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?")
_FIELDS = {
    "static": ({"authorization"}, set()),
    "oauth": ({"token_url", "client_id", "client_secret"}, {"scope", "audience"}),
    "mtls": ({"cert_pem", "key_pem"}, set()),
}


@dataclass(frozen=True)
class CheckedAuth:
    """An endpoint's authentication, checked and split.

    Attributes:
        public: What the endpoint shows (``type`` and the non-secret fields).
        secret: What is stored encrypted (the value, client secret, key and certificate).
    """

    public: dict[str, Any]
    secret: dict[str, str]


def _text(value: Any, name: str, limit: int = MAX_AUTH_VALUE) -> str:
    if not isinstance(value, str):
        raise InvalidRequestError(f"auth.{name} must be a string")
    if not value or len(value) > limit:
        raise InvalidAuthError(f"auth.{name} must be 1 to {limit} characters")
    return value


def _field_value(value: Any, name: str) -> str:
    text = _text(value, name)
    if not _FIELD_VALUE.fullmatch(text):
        raise InvalidAuthError(
            f"auth.{name} must be an HTTP header value: visible ASCII characters, spaces and "
            "tabs, with no CR, LF or NUL and no space at either end")
    return text


def check_auth(value: Any, *, now: Optional[float] = None) -> Optional[CheckedAuth]:
    """Check an endpoint's ``auth`` (the token URL's destination is checked by the caller).

    Args:
        value: ``None`` (no authentication) or an object with ``type`` (one of
            :data:`AUTH_TYPES`) and that type's fields.
        now: The time a certificate must be valid at (default: now).

    Returns:
        The public and secret parts, or ``None``.

    Raises:
        InvalidAuthError: A field is missing, unknown or unusable (the detail names it).
        InvalidRequestError: A field has the wrong JSON type.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidRequestError("auth must be a JSON object or null")
    kind = value.get("type")
    if kind not in AUTH_TYPES:
        raise InvalidAuthError(f"auth.type must be one of {', '.join(AUTH_TYPES)}, not {kind!r}")
    required, optional = _FIELDS[kind]
    missing = sorted(required - value.keys())
    if missing:
        raise InvalidAuthError(f"auth of type {kind!r} needs {', '.join(missing)}")
    unknown = sorted(set(value) - required - optional - {"type"})
    if unknown:
        raise InvalidAuthError(f"unknown auth field {unknown[0]!r} for type {kind!r}")
    if kind == "static":
        return CheckedAuth({"type": "static"},
                           {"authorization": _field_value(value["authorization"], "authorization")})
    if kind == "oauth":
        public: dict[str, Any] = {
            "type": "oauth", "token_url": _text(value["token_url"], "token_url", 2048),
            "client_id": _field_value(value["client_id"], "client_id")}
        for name in ("scope", "audience"):
            given = value.get(name)
            public[name] = None if given is None else _field_value(given, name)
        return CheckedAuth(public, {"client_secret": _text(value["client_secret"],
                                                           "client_secret")})
    cert_pem = _text(value["cert_pem"], "cert_pem", MAX_PEM)
    key_pem = _text(value["key_pem"], "key_pem", MAX_PEM)
    return CheckedAuth(_check_client_certificate(cert_pem, key_pem, now),
                       {"cert_pem": cert_pem, "key_pem": key_pem})


def _check_client_certificate(cert_pem: str, key_pem: str,
                              now: Optional[float]) -> dict[str, Any]:
    """The public facts of a client certificate that parses, is valid now and matches
    its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise InvalidAuthError("auth.cert_pem is not a PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        raise InvalidAuthError(
            "auth.key_pem is not an unencrypted PEM private key") from None
    at = datetime.datetime.fromtimestamp(
        now if now is not None else datetime.datetime.now(datetime.timezone.utc).timestamp(),
        datetime.timezone.utc)
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        raise InvalidAuthError(
            f"auth.cert_pem is not valid now: valid from {cert.not_valid_before_utc:%Y-%m-%d} "
            f"to {cert.not_valid_after_utc:%Y-%m-%d}")
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, spki) != cert.public_key().public_bytes(der, spki):
        raise InvalidAuthError("auth.key_pem is not the key of auth.cert_pem")
    return {"type": "mtls", "subject": cert.subject.rfc4514_string(),
            "not_after": cert.not_valid_after_utc.isoformat(),
            "sha256": cert.fingerprint(hashes.SHA256()).hex()}


def check_ca_pem(value: Any) -> Optional[str]:
    """``tls_ca_pem``: ``None`` or PEM CA certificates trusted for the endpoint's server
    certificate (testing only: a test receiver serving ``https://127.0.0.1``).

    Raises:
        InvalidRequestError: Not a string, or not PEM certificates.
    """
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_PEM:
        raise InvalidRequestError("tls_ca_pem must be a string of PEM certificates or null")
    from cryptography import x509

    try:
        x509.load_pem_x509_certificates(value.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise InvalidRequestError("tls_ca_pem is not PEM certificates") from None
    return value
