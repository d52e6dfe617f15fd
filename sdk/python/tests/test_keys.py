"""hookseal.keys: generating secrets and key pairs, reading them per profile."""

from __future__ import annotations

import base64

import hookseal
import pytest
from hookseal.keys import HmacKey, PublicKey, parse_verify_key


def test_generate_secret_is_whsec_base64_of_32_random_bytes() -> None:
    secrets = {hookseal.generate_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret[6:], validate=True)) == 32
        # Valid in both profiles.
        hookseal.Webhook(secret, profile="standard-webhooks")


def test_generated_key_pair_shapes() -> None:
    signing, public = hookseal.generate_signing_key()
    assert signing.startswith("whsk_") and public.startswith("whpk_")
    assert len(base64.b64decode(signing[5:])) == 32
    assert len(base64.b64decode(public[5:])) == 32


def test_hookseal_v1_key_is_the_whole_string() -> None:
    assert parse_verify_key("whsec_abc", "hookseal-v1") == HmacKey(b"whsec_abc")
    assert parse_verify_key("plain", "hookseal-v1") == HmacKey(b"plain")


def test_standard_key_is_decoded_with_or_without_prefix_and_padding() -> None:
    raw = bytes(range(25))
    text = base64.b64encode(raw).decode()
    for form in (text, text.rstrip("="), "whsec_" + text, "whsec_" + text.rstrip("=")):
        assert parse_verify_key(form, "standard-webhooks") == HmacKey(raw)


@pytest.mark.parametrize("size", [1, 2, 16, 23, 65, 100, 256])
def test_standard_key_of_any_length_from_one_byte(size: int) -> None:
    # The standardwebhooks libraries verify with such keys (their own test suite uses a
    # 23-byte one), so a customer migrating with one must not be refused (contract 1).
    raw = bytes((7 * i + 1) % 256 for i in range(size))
    text = base64.b64encode(raw).decode()
    for form in (text, text.rstrip("="), "whsec_" + text, "whsec_" + text.rstrip("=")):
        assert parse_verify_key(form, "standard-webhooks") == HmacKey(raw)
    headers = hookseal.sign(b"{}", "whsec_" + text, profile="standard-webhooks", timestamp=1, msg_id="msg_1")
    hookseal.Webhook(text.rstrip("="), profile="standard-webhooks").verify(b"{}", headers, now=1)


@pytest.mark.parametrize(
    "secret",
    ["", "whsec_", "whsec_@@@@", "whsec_A", "whsec_éé", "whsec_====", "whsec_AA=A", "=AAA", "whsec_AA==AA=="],
)
def test_standard_key_refusals(secret: str) -> None:
    with pytest.raises(hookseal.ConfigurationError):
        parse_verify_key(secret, "standard-webhooks")


def test_public_key_in_either_profile() -> None:
    _, public = hookseal.generate_signing_key()
    for profile in hookseal.PROFILES:
        assert isinstance(parse_verify_key(public, profile), PublicKey)


@pytest.mark.parametrize("key", ["whpk_", "whpk_!!", "whpk_" + base64.b64encode(bytes(31)).decode()])
def test_bad_public_keys(key: str) -> None:
    with pytest.raises(hookseal.ConfigurationError):
        hookseal.Webhook(key)


def test_public_key_for_refuses_other_keys() -> None:
    with pytest.raises(hookseal.ConfigurationError):
        hookseal.public_key_for("whsec_abc")
