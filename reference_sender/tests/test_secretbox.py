"""Secrets are encrypted at rest with a master key from the environment or a file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hookseal_sender import ConfigError, SecretBox, Sender, generate_master_key
from hookseal_sender.secretbox import MASTER_KEY_ENV


def test_roundtrip_and_wrong_key() -> None:
    box = SecretBox(generate_master_key())
    token = box.encrypt("whsec_abc")
    assert "whsec_abc" not in token and box.decrypt(token) == "whsec_abc"
    with pytest.raises(ConfigError):
        SecretBox(generate_master_key()).decrypt(token)
    with pytest.raises(ConfigError):
        SecretBox("not a key")


def test_load_from_env_or_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = generate_master_key()
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    with pytest.raises(ConfigError):
        SecretBox.load()
    f = tmp_path / "key"
    f.write_text(key + "\n")
    assert SecretBox.load(key_file=str(f)).decrypt(SecretBox(key).encrypt("x")) == "x"
    monkeypatch.setenv(MASTER_KEY_ENV, key)
    assert SecretBox.load().decrypt(SecretBox(key).encrypt("y")) == "y"


def test_secrets_not_stored_in_plaintext(sender: Sender) -> None:
    ep = sender.create_endpoint("t1", "https://hooks.example.com/x", signing="both")
    conn = sender.store.conn()  # type: ignore[attr-defined]
    rows = conn.execute("SELECT secret_enc FROM endpoint_keys").fetchall()
    blob = " ".join(r[0] for r in rows)
    assert ep.secret not in blob and "whsk_" not in blob and len(rows) == 2
    assert ep.secret in [k.secret for k in sender.store.keys(ep.endpoint.id)]
