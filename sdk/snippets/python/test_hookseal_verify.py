"""Native test of the Python snippet (unittest): the shared vectors and the customer's API.

Every case of sdk/vectors/vectors.json (or $HOOKSEAL_VECTORS) goes through the adapter's
request handling; a missing vectors file fails, it is never skipped. Run from anywhere:
``python -m unittest discover -s sdk/snippets/python``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import unittest
from pathlib import Path

from adapter import answer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hookseal_verify import (
    ConfigurationError,
    WebhookVerificationError,
    parse_events,
    verify_hookseal_v1,
    verify_standard_webhooks,
)

VECTORS = Path(os.environ.get("HOOKSEAL_VECTORS", Path(__file__).resolve().parents[2] / "vectors" / "vectors.json"))
SECRET = "whsec_" + base64.b64encode(b"\x07" * 32).decode()
BODY = b'{"id":"evt_1","type":"invoice.paid"}'


def signature(timestamp: int, *secrets: str) -> dict[str, str]:
    """A hookseal-v1 header signed with each secret, made with the stdlib directly."""
    signed = f"{timestamp}.".encode() + BODY
    values = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets]
    return {"Hookseal-Signature": ",".join([f"t={timestamp}"] + [f"v1={v}" for v in values])}


class VectorsTest(unittest.TestCase):
    def test_every_shared_vector(self) -> None:
        cases = [case for group in json.loads(VECTORS.read_text())["testGroups"] for case in group["tests"]]
        self.assertTrue(cases)
        failures = []
        for case in cases:
            got, want = answer(case["request"]), case["expected"]
            if got["ok"] != want["ok"] or (not got["ok"] and got["error"] != want["error"]):
                failures.append(f"tcId {case['tcId']} ({case['comment']}): got {got}")
        self.assertEqual(failures, [])


class ApiTest(unittest.TestCase):
    def code(self, **call: object) -> str:
        verify = call.pop("verify", verify_hookseal_v1)
        try:
            verify(**call)  # type: ignore[operator]
        except (WebhookVerificationError, ConfigurationError) as err:
            return err.code
        return "ok"

    def test_clock_is_settable_and_defaults_to_system_clock(self) -> None:
        self.assertEqual(self.code(body=BODY, headers=signature(int(time.time()), SECRET), secrets=SECRET), "ok")
        self.assertEqual(self.code(body=BODY, headers=signature(1000, SECRET), secrets=SECRET), "timestamp_too_old")
        self.assertEqual(self.code(body=BODY, headers=signature(1000, SECRET), secrets=SECRET, now=1100), "ok")

    def test_several_secrets_and_none(self) -> None:
        other = "whsec_" + base64.b64encode(b"\x09" * 32).decode()
        self.assertEqual(self.code(body=BODY, headers=signature(5, other), secrets=[SECRET, other], now=5), "ok")
        self.assertEqual(self.code(body=BODY, headers={}, secrets=[], now=5), "invalid_configuration")

    def test_parsed_body_is_refused(self) -> None:
        with self.assertRaises(TypeError):
            verify_hookseal_v1(json.loads(BODY), signature(5, SECRET), SECRET, now=5)  # type: ignore[arg-type]

    def test_reserialized_body_does_not_verify(self) -> None:
        reserialized = json.dumps(json.loads(BODY)).encode()  # adds spaces after ":" and ","
        self.assertEqual(
            self.code(body=reserialized, headers=signature(5, SECRET), secrets=SECRET, now=5),
            "signature_mismatch",
        )

    def test_ed25519_in_both_profiles(self) -> None:
        private = Ed25519PrivateKey.generate()
        raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        whpk = "whpk_" + base64.b64encode(raw).decode()
        v1a = base64.b64encode(private.sign(b"7." + BODY)).decode()
        verify_hookseal_v1(BODY, {"hookseal-signature": f"t=7,v1a={v1a}"}, whpk, now=7)
        v1a = base64.b64encode(private.sign(b"msg_1.7." + BODY)).decode()
        headers = {"webhook-id": "msg_1", "webhook-timestamp": "7", "webhook-signature": f"v1a,{v1a}"}
        verify_standard_webhooks(BODY, headers, [whpk], now=7)
        with self.assertRaises(WebhookVerificationError):
            verify_standard_webhooks(b"{}", headers, [whpk], now=7)

    def test_a_batch_verifies_then_parses_to_its_events(self) -> None:
        batch = b'[{"id":"evt_1","type":"invoice.paid"},{"id":"evt_2","type":"invoice.paid"}]'
        digest = hmac.new(base64.b64decode(SECRET[6:]), b"bat_1.9." + batch, hashlib.sha256).digest()
        headers = {"webhook-id": "bat_1", "webhook-timestamp": "9",
                   "webhook-signature": "v1," + base64.b64encode(digest).decode()}
        verify_standard_webhooks(batch, headers, SECRET, now=9)
        self.assertEqual([e["id"] for e in parse_events(batch)], ["evt_1", "evt_2"])
        self.assertEqual(parse_events(BODY), [json.loads(BODY)])
        self.assertEqual(parse_events(b"[]"), [])
        for bad in (b'[{"id":"evt_1"},2]', b'"x"', b"null", b"not json", b"[" * 100000):
            with self.assertRaises(WebhookVerificationError) as info:
                parse_events(bad)
            self.assertEqual(info.exception.code, "invalid_payload")

    def test_garbage_never_crashes(self) -> None:
        for request in (None, [], {"secrets": [1]}, {"profile": "x"}, {"headers": {"webhook-id": 1}}):
            self.assertFalse(answer(request)["ok"])


if __name__ == "__main__":
    unittest.main()
