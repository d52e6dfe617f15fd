"""hookseal.sign: header shapes, rotation, Ed25519, and interop with Stripe's library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import hookseal
import pytest

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"test": 2432232314}'


def test_hookseal_v1_headers() -> None:
    headers = hookseal.sign(BODY, SECRET, timestamp=1614265330, msg_id="msg_1", event_type="test.ping")
    expected = hmac.new(SECRET.encode(), b"1614265330." + BODY, hashlib.sha256).hexdigest()
    assert headers == {
        "Hookseal-Signature": f"t=1614265330,v1={expected}",
        "Hookseal-Webhook-Id": "msg_1",
        "Hookseal-Event-Type": "test.ping",
    }


def test_custom_prefix_and_optional_headers() -> None:
    headers = hookseal.sign(BODY, SECRET, timestamp=1, header_prefix="Acme")
    assert list(headers) == ["Acme-Signature"]


def test_standard_webhooks_matches_the_specification_example() -> None:
    headers = hookseal.sign(
        BODY, SECRET, profile="standard-webhooks", msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330
    )
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert headers["webhook-timestamp"] == "1614265330"


def test_standard_webhooks_needs_a_message_id() -> None:
    with pytest.raises(hookseal.ConfigurationError, match="msg_id"):
        hookseal.sign(BODY, SECRET, profile="standard-webhooks")


def test_rotation_signs_with_every_secret_in_order() -> None:
    old, new = hookseal.generate_secret(), hookseal.generate_secret()
    header = hookseal.sign(BODY, [old, new], timestamp=5)["Hookseal-Signature"]
    assert re.fullmatch(r"t=5,v1=[0-9a-f]{64},v1=[0-9a-f]{64}", header)
    for secret in (old, new):
        hookseal.Webhook(secret).verify(BODY, {"Hookseal-Signature": header}, now=5)


def test_default_timestamp_is_now() -> None:
    import time

    before = int(time.time())
    header = hookseal.sign(BODY, SECRET)["Hookseal-Signature"]
    ts = int(header.split(",")[0][2:])
    assert before <= ts <= int(time.time())


@pytest.mark.parametrize("kw", [{"timestamp": -1}, {"timestamp": True}, {"profile": "x"}, {"header_prefix": ""}])
def test_bad_arguments_are_configuration_errors(kw: dict[str, object]) -> None:
    with pytest.raises(hookseal.ConfigurationError):
        hookseal.sign(BODY, SECRET, **kw)  # type: ignore[arg-type]


def test_public_key_cannot_sign() -> None:
    _, public = hookseal.generate_signing_key()
    with pytest.raises(hookseal.ConfigurationError, match="cannot sign"):
        hookseal.sign(BODY, public)


def test_ed25519_signature_is_deterministic_and_verifies_independently() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    seed = bytes(range(32))
    signing = "whsk_" + base64.b64encode(seed).decode()
    header = hookseal.sign(BODY, signing, timestamp=7)["Hookseal-Signature"]
    assert header.startswith("t=7,v1a=")
    sig = base64.b64decode(header.split("v1a=")[1])
    Ed25519PrivateKey.from_private_bytes(seed).public_key().verify(sig, b"7." + BODY)
    assert hookseal.sign(BODY, signing, timestamp=7)["Hookseal-Signature"] == header


def test_64_byte_signing_key_form_is_accepted() -> None:
    signing, public = hookseal.generate_signing_key()
    seed = base64.b64decode(signing[5:])
    pub = base64.b64decode(public[5:])
    long_form = "whsk_" + base64.b64encode(seed + pub).decode()
    headers = hookseal.sign(BODY, long_form, timestamp=9)
    hookseal.Webhook(public).verify(BODY, headers, now=9)


def test_stripe_library_verifies_our_signature() -> None:
    stripe = pytest.importorskip("stripe")
    header = hookseal.sign(BODY, SECRET)["Hookseal-Signature"]
    assert stripe.WebhookSignature.verify_header(BODY.decode(), header, SECRET, tolerance=300)


def test_standardwebhooks_library_verifies_our_signature() -> None:
    standardwebhooks = pytest.importorskip("standardwebhooks")
    headers = hookseal.sign(BODY, SECRET, profile="standard-webhooks", msg_id="msg_1")
    assert standardwebhooks.Webhook(SECRET).verify(BODY, headers) == {"test": 2432232314}


class TestSigner:
    """hookseal.Signer: the reusable signer; hookseal.sign is a one-off of it."""

    @pytest.mark.parametrize(
        "kw",
        [
            {},
            {"profile": "standard-webhooks"},
            {"header_prefix": "Acme"},
        ],
    )
    def test_same_headers_as_sign_for_every_profile(self, kw: dict[str, str]) -> None:
        signing, _ = hookseal.generate_signing_key()
        keys = [SECRET, "whsec_" + base64.b64encode(b"k" * 32).decode(), signing]
        signer = hookseal.Signer(keys, **kw)
        for body in (BODY, b"", "Zo\u00eb \u2713", b"\x00\xff" * 600):
            for ts in (0, 1614265330, 10**17):
                expected = hookseal.sign(body, keys, timestamp=ts, msg_id="evt_1", event_type="a.b", **kw)
                assert signer.sign(body, timestamp=ts, msg_id="evt_1", event_type="a.b") == expected

    def test_its_headers_verify_and_its_hmac_is_the_standard_one(self) -> None:
        signer = hookseal.Signer([SECRET, "whsec_second"])
        headers = signer.sign(BODY, timestamp=1614265330)
        digests = re.findall(r"v1=([0-9a-f]{64})", headers["Hookseal-Signature"])
        assert digests == [
            hmac.new(s.encode(), b"1614265330." + BODY, hashlib.sha256).hexdigest() for s in (SECRET, "whsec_second")
        ]
        for secret in (SECRET, "whsec_second"):
            hookseal.Webhook(secret).verify(BODY, headers, now=1614265330)

    def test_long_secret_is_hashed_first_as_hmac_requires(self) -> None:
        long_secret = "whsec_" + "x" * 200  # longer than SHA-256's 64-byte block
        headers = hookseal.Signer(long_secret).sign(BODY, timestamp=5)
        expected = hmac.new(long_secret.encode(), b"5." + BODY, hashlib.sha256).hexdigest()
        assert headers["Hookseal-Signature"] == f"t=5,v1={expected}"

    def test_default_timestamp_is_now(self) -> None:
        import time

        before = int(time.time())
        stamp = int(hookseal.Signer(SECRET).sign(BODY)["Hookseal-Signature"].split(",")[0][2:])
        assert before <= stamp <= int(time.time())

    @pytest.mark.parametrize("bad", [-1, True, 1.5, "1"])
    def test_bad_timestamp_is_a_configuration_error(self, bad: object) -> None:
        with pytest.raises(hookseal.ConfigurationError):
            hookseal.Signer(SECRET).sign(BODY, timestamp=bad)  # type: ignore[arg-type]

    def test_body_that_is_not_bytes_or_text_is_a_configuration_error(self) -> None:
        with pytest.raises(hookseal.ConfigurationError):
            hookseal.Signer(SECRET).sign(42)  # type: ignore[arg-type]

    def test_bad_keys_fail_at_construction(self) -> None:
        _, public = hookseal.generate_signing_key()
        for keys in ([], "", [public], ["whsk_not-base64!"]):
            with pytest.raises(hookseal.ConfigurationError):
                hookseal.Signer(keys)

    def test_repr_hides_keys(self) -> None:
        text = repr(hookseal.Signer([SECRET, "whsec_other"]))
        assert SECRET not in text and "other" not in text and "2 key(s)" in text
