"""hookseal.examples: the sample catalog's example bodies, carried by the SDK."""

from __future__ import annotations

import json
import time

import hookseal
import pytest
from hookseal import examples


def test_every_catalog_version_is_there_and_valid() -> None:
    catalog = pytest.importorskip("hookseal_catalog").load_catalog()
    assert examples.event_types() == sorted({v.type for v in catalog.versions()})
    for ev in catalog.versions():
        envelope = examples.example_envelope(ev.type, ev.version)
        assert envelope == catalog.example_envelope(ev.type, ev.version)
        catalog.validate_envelope(envelope)
    assert examples.example_envelope("payment.failed")["version"] == catalog.get("payment.failed").version


def test_each_call_returns_a_new_copy() -> None:
    first = examples.example_envelope("invoice.paid")
    first["data"]["invoice"]["id"] = "changed"
    assert examples.example_envelope("invoice.paid")["data"]["invoice"]["id"] != "changed"


def test_fresh_gives_a_new_id_and_the_current_time() -> None:
    fixed = examples.example_envelope("test.ping")
    before = int(time.time())
    one, two = examples.example_envelope("test.ping", fresh=True), examples.example_envelope("test.ping", fresh=True)
    assert one["id"] != two["id"] != fixed["id"] and one["id"].startswith("evt_")
    assert before <= one["created"] <= int(time.time())
    assert {k: v for k, v in one.items() if k not in ("id", "created")} == {
        k: v for k, v in fixed.items() if k not in ("id", "created")
    }


@pytest.mark.parametrize(
    ("event_type", "version", "message"),
    [
        ("no.such", None, "unknown event type 'no.such'; known types: customer.created"),
        ("payment.failed", 3, "payment.failed has no version 3; versions: 1, 2"),
        ("payment.failed", "1", "payment.failed has no version '1'"),
        ("payment.failed", True, "payment.failed has no version True"),
    ],
)
def test_unknown_type_or_version(event_type: str, version: object, message: str) -> None:
    with pytest.raises(KeyError) as info:
        examples.example_envelope(event_type, version)  # type: ignore[arg-type]
    assert info.value.args[0].startswith(message)


def test_typed_models_parse_every_example() -> None:
    pytest.importorskip("pydantic")
    from hookseal.models import UnknownEvent

    secret = hookseal.generate_secret()
    for event_type in examples.event_types():
        body = json.dumps(examples.example_envelope(event_type)).encode()
        event = hookseal.Webhook(secret).construct_event(body, hookseal.sign(body, secret), typed=True)
        assert not isinstance(event, UnknownEvent) and event.type == event_type
