"""Secrets and keys: generating them, and reading them into key material.

Three kinds of key, told apart by prefix as the contract says:

* ``whsec_...`` (or, in ``hookseal-v1``, any non-empty string): a shared HMAC secret.
* ``whsk_...``: an Ed25519 signing key (the sender's half; never given to a verifier).
* ``whpk_...``: an Ed25519 public key (what a customer holds to verify ``v1a``).
"""

from __future__ import annotations

import base64
import binascii
import secrets as _random
from dataclasses import dataclass
from typing import Union

from . import _ed25519
from .errors import ConfigurationError
from .profiles import HOOKSEAL_V1, PROFILES

__all__ = ["generate_secret", "generate_signing_key", "public_key_for"]

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
SIGNING_KEY_PREFIX = "whsk_"
PUBLIC_KEY_PREFIX = "whpk_"


@dataclass(frozen=True)
class HmacKey:
    """Raw HMAC-SHA256 key bytes."""

    key: bytes


@dataclass(frozen=True)
class PublicKey:
    """A raw 32-byte Ed25519 public key."""

    raw: bytes


@dataclass(frozen=True)
class SigningKey:
    """A raw 32-byte Ed25519 seed."""

    seed: bytes


VerifyKey = Union[HmacKey, PublicKey]
SignKey = Union[HmacKey, SigningKey]


def generate_secret() -> str:
    """Generate a new endpoint secret: ``whsec_`` + base64 of 32 CSPRNG bytes.

    The result works in both profiles (in ``standard-webhooks`` it decodes to 32 bytes).

    Returns:
        The secret string, to be shown to its owner once.
    """
    return SECRET_PREFIX + base64.b64encode(_random.token_bytes(32)).decode("ascii")


def generate_signing_key() -> tuple[str, str]:
    """Generate an Ed25519 key pair for ``v1a`` signatures.

    Returns:
        ``(signing_key, public_key)``: ``whsk_`` + base64 of the 32-byte seed, and
        ``whpk_`` + base64 of the 32-byte public key.

    Raises:
        ConfigurationError: The ``hookseal[ed25519]`` extra is not installed.
    """
    seed = _random.token_bytes(32)
    return _format_signing_key(seed), _format_public_key(_ed25519.public_from_seed(seed))


def public_key_for(signing_key: str) -> str:
    """Derive the ``whpk_`` public key of a ``whsk_`` signing key.

    Args:
        signing_key: ``whsk_`` + base64 of a 32-byte seed (or of the 64-byte seed+public form).

    Returns:
        The ``whpk_`` public key a customer verifies with.

    Raises:
        ConfigurationError: The key is malformed, or the ``hookseal[ed25519]`` extra is missing.
    """
    key = parse_signing_key(signing_key, HOOKSEAL_V1)
    if not isinstance(key, SigningKey):
        raise ConfigurationError("public_key_for() takes a whsk_ signing key")
    return _format_public_key(_ed25519.public_from_seed(key.seed))


def check_profile(profile: object) -> str:
    """Return ``profile`` if it is a known profile name, else raise ConfigurationError."""
    if profile not in PROFILES:
        raise ConfigurationError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    return profile  # type: ignore[return-value]


def parse_verify_key(secret: object, profile: str) -> VerifyKey:
    """Read one verifier secret (``whsec_``/any string, or ``whpk_``) for ``profile``."""
    text = _check_text(secret)
    if text.startswith(PUBLIC_KEY_PREFIX):
        return PublicKey(_decode_fixed(text[len(PUBLIC_KEY_PREFIX) :], 32, "whpk_ public key"))
    if text.startswith(SIGNING_KEY_PREFIX):
        raise ConfigurationError("a whsk_ key is a private signing key: verify with its whpk_ public key instead")
    return HmacKey(_hmac_key(text, profile))


def parse_signing_key(secret: object, profile: str) -> SignKey:
    """Read one signer key (``whsec_``/any string for HMAC, or ``whsk_`` for Ed25519)."""
    text = _check_text(secret)
    if text.startswith(SIGNING_KEY_PREFIX):
        raw = _decode_b64(text[len(SIGNING_KEY_PREFIX) :], "whsk_ signing key")
        if len(raw) not in (32, 64):
            raise ConfigurationError("a whsk_ signing key must be base64 of 32 (or 64) bytes")
        return SigningKey(raw[:32])
    if text.startswith(PUBLIC_KEY_PREFIX):
        raise ConfigurationError("a whpk_ key is a public key: it verifies but cannot sign")
    return HmacKey(_hmac_key(text, profile))


def _check_text(secret: object) -> str:
    if not isinstance(secret, str):
        raise ConfigurationError(f"a secret must be a str, not {type(secret).__name__}")
    if secret in ("", SECRET_PREFIX):
        raise ConfigurationError("a secret must not be empty")
    return secret


def _hmac_key(text: str, profile: str) -> bytes:
    if profile == HOOKSEAL_V1:
        # The whole string, prefix included, exactly as Stripe's libraries key it.
        return text.encode("utf-8", "surrogatepass")
    body = text[len(SECRET_PREFIX) :] if text.startswith(SECRET_PREFIX) else text
    # Any length from one byte: the specification asks senders for 24 to 64 bytes, but its
    # own libraries verify with shorter and longer keys, and customers migrate with theirs.
    key = _decode_b64(body, "standard-webhooks secret")
    if not key:
        raise ConfigurationError("a standard-webhooks secret must decode to at least one byte")
    return key


def _decode_b64(text: str, what: str) -> bytes:
    """Decode standard base64, padded or not; refuse anything else."""
    if not text.isascii() or len(text) % 4 == 1:
        raise ConfigurationError(f"the {what} is not valid base64")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"the {what} is not valid base64") from None


def _decode_fixed(text: str, size: int, what: str) -> bytes:
    raw = _decode_b64(text, what)
    if len(raw) != size:
        raise ConfigurationError(f"the {what} must be base64 of {size} bytes, not {len(raw)}")
    return raw


def _format_signing_key(seed: bytes) -> str:
    return SIGNING_KEY_PREFIX + base64.b64encode(seed).decode("ascii")


def _format_public_key(raw: bytes) -> str:
    return PUBLIC_KEY_PREFIX + base64.b64encode(raw).decode("ascii")
