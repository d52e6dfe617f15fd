"""Tests for ``hookseal trigger`` (hookseal._trigger) against a loopback capture server."""

from __future__ import annotations

import json
import sys
from importlib import metadata

import hookseal
import pytest
from hookseal import cli
from receiving_fixtures import SECRET, CaptureServer


def _catalog() -> object:
    # The catalog package is a development dependency only: the SDK carries the examples.
    return pytest.importorskip("hookseal_catalog").load_catalog()


@pytest.mark.parametrize("event_type", ["test.ping", "invoice.paid", "customer.updated"])
def test_sends_a_signed_valid_catalog_example(event_type: str) -> None:
    with CaptureServer() as server:
        code = cli.main(["trigger", event_type, "--to", server.url, "--secret", SECRET])
    assert code == 0
    (_, headers, body), = server.requests
    event = hookseal.Webhook(SECRET).construct_event(body, headers)
    assert event["type"] == event_type == headers["Hookseal-Event-Type"]
    assert event["id"] == headers["Hookseal-Webhook-Id"] and event["id"].startswith("evt_")
    _catalog().validate_envelope(event)  # type: ignore[attr-defined]  # a real, schema-valid envelope
    assert headers["User-Agent"] == f"hookseal-trigger/{metadata.version('hookseal')}"


def test_each_trigger_is_a_new_event() -> None:
    with CaptureServer() as server:
        cli.main(["trigger", "test.ping", "--to", server.url, "--secret", SECRET])
        cli.main(["trigger", "test.ping", "--to", server.url, "--secret", SECRET])
    ids = {json.loads(body)["id"] for _, _, body in server.requests}
    assert len(ids) == 2


def test_standard_webhooks_profile() -> None:
    secret = hookseal.generate_secret()
    with CaptureServer() as server:
        assert cli.main(["trigger", "test.ping", "--to", server.url, "--secret", secret,
                              "--profile", "standard-webhooks"]) == 0
    (_, headers, body), = server.requests
    wh = hookseal.Webhook(secret, profile="standard-webhooks")
    lowered = {k.lower(): v for k, v in headers.items()}
    assert wh.construct_event(body, headers)["id"] == lowered["webhook-id"]


def test_tamper_sends_a_body_that_fails_verification(capsys: pytest.CaptureFixture[str]) -> None:
    problem = b'{"code":"signature_mismatch","status":401}'
    with CaptureServer(status=401, body=problem) as strict:
        assert cli.main(["trigger", "test.ping", "--to", strict.url, "--secret", SECRET,
                              "--tamper"]) == 0
    (_, headers, body), = strict.requests
    with pytest.raises(hookseal.SignatureMismatchError):
        hookseal.Webhook(SECRET).verify(body, headers)
    assert "← 401 signature_mismatch" in capsys.readouterr().out
    # An endpoint that accepts the tampered body is reported as broken.
    with CaptureServer(status=200) as naive:
        assert cli.main(["trigger", "test.ping", "--to", naive.url, "--secret", SECRET,
                              "--tamper"]) == 1
    assert "ACCEPTED a tampered delivery" in capsys.readouterr().err


def test_non_2xx_answer_fails_and_unknown_type_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with CaptureServer(status=500) as server:
        assert cli.main(["trigger", "test.ping", "--to", server.url, "--secret", SECRET]) == 1
    assert cli.main(["trigger", "no.such_event", "--to", "http://127.0.0.1:9/", "--secret", SECRET]) == 2
    assert "test.ping" in capsys.readouterr().err
    assert cli.main(["trigger", "list"]) == 0
    assert "invoice.paid" in capsys.readouterr().out


def test_unreachable_endpoint_fails_cleanly() -> None:
    with CaptureServer() as server:
        url = server.url
    assert cli.main(["trigger", "test.ping", "--to", url, "--secret", SECRET]) == 1


def test_a_url_without_scheme_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["trigger", "test.ping", "--to", "127.0.0.1:4242/webhooks", "--secret", SECRET]) == 2
    assert "http:// or https://" in capsys.readouterr().err


def test_works_without_the_catalog_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hookseal_catalog", None)  # as if not installed
    with CaptureServer() as server:
        assert cli.main(["trigger", "invoice.paid", "--to", server.url, "--secret", SECRET]) == 0
    (_, headers, body), = server.requests
    assert hookseal.Webhook(SECRET).construct_event(body, headers)["type"] == "invoice.paid"


def test_an_unknown_version_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["trigger", "payment.failed", "--event-version", "9", "--to", "http://127.0.0.1:9/",
                     "--secret", SECRET]) == 2
    assert "payment.failed has no version 9; versions: 1, 2" in capsys.readouterr().err


def test_an_older_version_is_sent_as_that_version() -> None:
    with CaptureServer() as server:
        assert cli.main(["trigger", "payment.failed", "--event-version", "1", "--to", server.url,
                         "--secret", SECRET]) == 0
    (_, headers, body), = server.requests
    event = hookseal.Webhook(SECRET).construct_event(body, headers)
    assert event["version"] == 1
    _catalog().validate_envelope(event)  # type: ignore[attr-defined]
