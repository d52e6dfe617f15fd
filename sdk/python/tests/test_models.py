"""hookseal.models: parse_event returns typed models for known events, a generic envelope
for anything else, and clear validation errors for bad data of a known type."""

from __future__ import annotations

import json
from typing import Any

import hookseal
import pytest
from hookseal.models import (
    EVENT_MODELS,
    EventBase,
    InvoicePaidV1Data,
    InvoicePaidV1Event,
    Money,
    PaymentFailedV1Event,
    PaymentFailedV2Event,
    TestPingV1Event,
    UnknownEvent,
    model_for,
    parse_event,
)
from pydantic import ValidationError

PING: dict[str, Any] = {
    "id": "evt_0123456789abcdef",
    "type": "test.ping",
    "version": 1,
    "created": 1763900000,
    "livemode": False,
    "data": {"message": "Hello from Hookseal", "endpoint_id": None},
}

MONEY = {"amount": 7140, "currency": "EUR"}
INVOICE: dict[str, Any] = {
    "id": "in_7Hh2kPz9Qa",
    "number": "NW-2026-0042",
    "status": "paid",
    "customer_id": "cus_8fK2mQ4xZt",
    "customer_email": "billing@northwind.example",
    "customer_name": None,
    "subscription_id": None,
    "billing_reason": "manual",
    "collection_method": "send_invoice",
    "lines": [],
    "subtotal": MONEY,
    "tax": {"amount": 0, "currency": "EUR"},
    "total": MONEY,
    "amount_due": MONEY,
    "amount_paid": MONEY,
    "amount_remaining": {"amount": 0, "currency": "EUR"},
    "period_start": 1763856000,
    "period_end": 1766448000,
    "due_date": None,
    "attempt_count": 1,
    "next_payment_attempt_at": None,
    "hosted_invoice_url": None,
    "metadata": {"po": "4711"},
    "created": 1763856000,
    "finalized_at": 1763859000,
    "paid_at": 1763859605,
}
PAID: dict[str, Any] = {
    **PING,
    "type": "invoice.paid",
    "data": {"invoice": INVOICE, "payment_id": None, "paid_out_of_band": True},
}


def _copy(value: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(value))  # type: ignore[no-any-return]


def test_known_events_come_back_typed() -> None:
    event = parse_event(_copy(PAID))
    assert isinstance(event, InvoicePaidV1Event) and isinstance(event, EventBase)
    assert isinstance(event.data, InvoicePaidV1Data)
    assert isinstance(event.data.invoice.total, Money)
    assert event.data.invoice.total.amount == 7140 and event.data.invoice.total.currency == "EUR"
    assert event.data.invoice.metadata == {"po": "4711"}
    assert (event.id, event.type, event.version, event.created, event.livemode) == (
        "evt_0123456789abcdef", "invoice.paid", 1, 1763900000, False
    )  # fmt: skip
    assert isinstance(parse_event(_copy(PING)), TestPingV1Event)


def test_models_round_trip_unchanged() -> None:
    for body in (PAID, PING):
        assert parse_event(_copy(body)).model_dump(mode="json", exclude_unset=True) == body


def test_the_version_selects_the_model() -> None:
    failure = {"code": "card_declined", "decline_code": None, "message": "Declined.", "retryable": False}
    assert model_for("payment.failed", 1) is PaymentFailedV1Event
    assert model_for("payment.failed", 2) is PaymentFailedV2Event
    assert model_for("payment.failed", 3) is None
    assert model_for("payment.failed", True) is None  # type: ignore[arg-type]
    assert ("invoice.paid", 1) in EVENT_MODELS
    with pytest.raises(ValidationError):  # v2's data under v1's version
        parse_event({**PING, "type": "payment.failed", "version": 1, "data": {"failure": failure}})


@pytest.mark.parametrize(
    "change",
    [
        {"type": "invoice.voided"},  # a type this SDK does not know
        {"type": "invoice.paid", "version": 2},  # a version it does not know
        {"type": "test.ping", "version": True},  # not a version at all: no typed match
    ],
)
def test_unknown_types_and_versions_are_generic_never_errors(change: dict[str, Any]) -> None:
    body = {**_copy(PAID), **change}
    if change.get("version") is True:
        with pytest.raises(ValidationError):  # the envelope itself is invalid (strict int)
            parse_event(body)
        return
    event = parse_event(body)
    assert type(event) is UnknownEvent
    assert event.data == body["data"] and event.type == body["type"]
    assert event.model_dump(mode="json", exclude_unset=True) == body


def test_unknown_fields_are_kept() -> None:
    body = _copy(PAID)
    body["data"]["invoice"]["discount"] = {"amount": 100, "currency": "EUR"}
    body["request_id"] = "req_1"
    event = parse_event(body)
    assert isinstance(event, InvoicePaidV1Event)
    assert event.model_dump(mode="json", exclude_unset=True) == body


@pytest.mark.parametrize(
    ("path", "value", "loc"),
    [
        (("data", "invoice", "total", "amount"), "7140", ("data", "invoice", "total", "amount")),
        (("data", "invoice", "total", "currency"), "eur", ("data", "invoice", "total", "currency")),
        (("data", "invoice", "status"), "refunded", ("data", "invoice", "status")),
        (("data", "paid_out_of_band"), 1, ("data", "paid_out_of_band")),
        (("created",), 1763900000.5, ("created",)),
    ],
)
def test_invalid_data_of_a_known_type_raises_validation_error(
    path: tuple[str, ...], value: Any, loc: tuple[str, ...]
) -> None:
    body = _copy(PAID)
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValidationError) as exc:
        parse_event(body)
    assert any(error["loc"][: len(loc)] == loc for error in exc.value.errors())


def test_missing_data_and_non_envelopes() -> None:
    body = _copy(PAID)
    del body["data"]["invoice"]
    with pytest.raises(ValidationError):
        parse_event(body)
    with pytest.raises(ValidationError):
        parse_event({"type": "widget.frobbed"})  # not an envelope at all
    with pytest.raises(TypeError):
        parse_event(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_construct_event_typed() -> None:
    secret = hookseal.generate_secret()
    body = json.dumps(PAID).encode()
    headers = hookseal.sign(body, secret, msg_id="msg_1", event_type="invoice.paid")
    wh = hookseal.Webhook(secret)
    event = wh.construct_event(body, headers, typed=True)
    assert isinstance(event, InvoicePaidV1Event)
    assert wh.construct_event(body, headers) == PAID


def test_construct_event_typed_with_a_provider_models_package_or_a_callable() -> None:
    """typed= also takes a provider's generated package (anything with parse_event) or a
    callable; event_catalog/tests/test_package.py runs it with a real generated package."""
    import types

    secret = hookseal.generate_secret()
    body = json.dumps(PAID).encode()
    headers = hookseal.sign(body, secret, msg_id="msg_1", event_type="invoice.paid")
    wh = hookseal.Webhook(secret)
    seen: list[dict[str, object]] = []
    package = types.SimpleNamespace(parse_event=lambda envelope: seen.append(envelope) or "parsed")
    assert wh.construct_event(body, headers, typed=package) == "parsed" and seen == [PAID]
    assert wh.construct_event(body, headers, typed=lambda envelope: envelope["id"]) == PAID["id"]

    def refuse(envelope: object) -> None:
        raise ValueError("does not fit")

    with pytest.raises(hookseal.InvalidPayloadError, match="does not fit"):
        wh.construct_event(body, headers, typed=refuse)
    with pytest.raises(TypeError, match="typed must be"):
        wh.construct_event(body, headers, typed="yes")
