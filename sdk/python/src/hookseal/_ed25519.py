"""Ed25519 through the optional ``cryptography`` dependency (``pip install hookseal[ed25519]``).

The core SDK never imports ``cryptography`` at import time: only a verifier holding a
``whpk_`` key or a signer holding a ``whsk_`` key needs it.
"""

from __future__ import annotations

import functools
from typing import Any

from .errors import ConfigurationError

_INSTALL_HINT = "Ed25519 (v1a) keys need the optional dependency: pip install 'hookseal[ed25519]'"


def _module() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:  # pragma: no cover - exercised in the bare-venv wheel test
        raise ConfigurationError(_INSTALL_HINT) from None
    return ed25519


def public_from_seed(seed: bytes) -> bytes:
    """Return the raw 32-byte public key of a 32-byte Ed25519 seed."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    private = _module().Ed25519PrivateKey.from_private_bytes(seed)
    raw: bytes = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return raw


def load_public(raw: bytes) -> Any:
    """Load a raw 32-byte public key into a reusable verifier object."""
    ed25519 = _module()  # outside the try: its ConfigurationError is a ValueError too
    try:
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise ConfigurationError("the whpk_ public key is not a valid Ed25519 key") from None


@functools.lru_cache(maxsize=256)
def load_private(seed: bytes) -> Any:
    """Load a 32-byte seed into a reusable signer object.

    Cached: loading derives the public key, which costs as much as a signature, and a
    sender signs with the same few keys over and over.
    """
    return _module().Ed25519PrivateKey.from_private_bytes(seed)


def verify(public: Any, signature: bytes, message: bytes) -> bool:
    """Return True if ``signature`` is a valid Ed25519 signature of ``message``."""
    from cryptography.exceptions import InvalidSignature

    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True
