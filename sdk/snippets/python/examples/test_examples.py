"""The Python framework examples, through each framework's own test client.

A genuine delivery (compact JSON, as senders write it) is accepted by the raw-body
route and rejected by the re-serializing one; a tampered body is rejected by both.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import unittest

from django.test import Client as DjangoClient
from fastapi.testclient import TestClient

from examples import django_app, fastapi_app, flask_app  # noqa: F401 - django_app configures Django

BODY = b'{"id":"evt_1","type":"invoice.paid","data":{"amount":1000}}'


def signed(body: bytes = BODY) -> dict[str, str]:
    timestamp = int(time.time())
    digest = hmac.new(b"whsec_test", f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Hookseal-Signature": f"t={timestamp},v1={digest}", "Content-Type": "application/json"}


class ExamplesTest(unittest.TestCase):
    def post(self, framework: str, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        if framework == "fastapi":
            response = TestClient(fastapi_app.app).post(url, content=body, headers=headers)
            return response.status_code, response.text
        if framework == "flask":
            flask_response = flask_app.app.test_client().post(url, data=body, headers=headers)
            return flask_response.status_code, flask_response.get_data(as_text=True)
        django_headers = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
        django_response = DjangoClient().post(
            "/" + url.lstrip("/"), data=body, content_type="application/json", **django_headers
        )
        return django_response.status_code, django_response.content.decode()

    def test_raw_body_route_accepts_a_genuine_delivery(self) -> None:
        for framework in ("fastapi", "flask", "django"):
            with self.subTest(framework):
                self.assertEqual(self.post(framework, "/webhooks", BODY, signed()), (200, "got invoice.paid"))

    def test_reserializing_route_rejects_the_same_delivery(self) -> None:
        for framework in ("fastapi", "flask", "django"):
            with self.subTest(framework):
                self.assertEqual(self.post(framework, "/webhooks-wrong", BODY, signed()), (400, "signature_mismatch"))

    def test_tampered_body_and_missing_header_are_rejected(self) -> None:
        for framework in ("fastapi", "flask", "django"):
            with self.subTest(framework):
                tampered = BODY.replace(b"1000", b"9000")
                self.assertEqual(self.post(framework, "/webhooks", tampered, signed()), (400, "signature_mismatch"))
                self.assertEqual(
                    self.post(framework, "/webhooks", BODY, {"Content-Type": "application/json"}),
                    (400, "missing_header"),
                )


if __name__ == "__main__":
    unittest.main()
