"""Encryption of endpoint secrets and signing keys at rest (Fernet)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from cryptography.fernet import Fernet, InvalidToken

from .errors import ConfigError

__all__ = ["MASTER_KEY_ENV", "SecretBox", "generate_master_key"]


#: Environment variable holding the master key.
MASTER_KEY_ENV = "HOOKSEAL_SENDER_MASTER_KEY"


def generate_master_key() -> str:
    """A new random Fernet master key.

    Returns:
        The key, URL-safe base64 text.
    """
    return Fernet.generate_key().decode("ascii")


class SecretBox:
    """Encrypts and decrypts secrets with a master key.

    Args:
        master_key: A Fernet key (URL-safe base64 of 32 bytes).

    Raises:
        ConfigError: The key is malformed.
    """

    def __init__(self, master_key: str) -> None:
        try:
            self._fernet = Fernet(master_key.strip().encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise ConfigError(f"malformed master key: {exc}") from None

    @classmethod
    def load(cls, master_key: Optional[str] = None, key_file: Optional[str] = None) -> SecretBox:
        """Load the master key: explicit, else ``HOOKSEAL_SENDER_MASTER_KEY``, else a file.

        Args:
            master_key: The key itself.
            key_file: Path of a file holding the key.

        Returns:
            The box.

        Raises:
            ConfigError: No key is configured.
        """
        key = master_key or os.environ.get(MASTER_KEY_ENV)
        if not key and key_file:
            try:
                key = Path(key_file).read_text(encoding="ascii").strip()
            except OSError as exc:
                raise ConfigError(f"cannot read master key file: {exc}") from None
        if not key:
            raise ConfigError(
                f"no master key: set {MASTER_KEY_ENV} or a master key file "
                "(`hookseal-sender init` writes one)"
            )
        return cls(key)

    def encrypt(self, plaintext: str) -> str:
        """Encrypt a secret.

        Args:
            plaintext: The secret.

        Returns:
            The Fernet token.
        """
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt a secret.

        Args:
            token: The Fernet token.

        Returns:
            The secret.

        Raises:
            ConfigError: The token was not made with this master key.
        """
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ConfigError("secret does not decrypt with this master key") from None
