"""Tests of redaction.py: which pointers may be redacted (from the catalog), and the body
an endpoint with redactions receives, signed as sent."""

from __future__ import annotations

import json
from collections.abc import Callable

import hookseal
import pytest
from hookseal_sender import BackgroundWorker, InvalidRedactionError, InvalidRequestError, Sender
from hookseal_sender._options import OptionContext
from hookseal_sender.redaction import MAX_POINTERS, check_redact, redact_payload

from ._receiver import Receiver
from .conftest import wait_for

PING = OptionContext(["test.ping"], "hookseal-v1", "Hookseal")


def test_an_optional_field_may_be_redacted() -> None:
    assert check_redact(["/endpoint_id", "/endpoint_id"], PING) == ["/endpoint_id"]
    assert check_redact([], PING) == []
    assert check_redact(None, PING) is None


@pytest.mark.parametrize(("types", "pointers", "words"), [
    (["test.ping"], ["/message"], "/message is a required field of test.ping"),
    (["test.ping"], ["/endpoint_id", "/message"], "/message is a required field"),
    (["invoice.paid"], ["/invoice/id"], "/invoice/id is a required field of invoice.paid"),
    # required in one type the endpoint takes, though absent from the other
    (["test.ping", "invoice.paid"], ["/message"], "required field of test.ping"),
    # every type: a field required anywhere is refused
    (None, ["/message"], "required field of test.ping"),
    (["test.ping"], ["endpoint_id"], "starts with '/'"),
    (["test.ping"], ["/a~2"], "bad escape"),
    (["test.ping"], ["/no_such_field"], "names no field"),
    (["test.ping"], [f"/f{i}" for i in range(MAX_POINTERS + 1)], f"at most {MAX_POINTERS}"),
])
def test_refused_pointers_say_why(types: list[str], pointers: list[str], words: str) -> None:
    with pytest.raises(InvalidRedactionError) as info:
        check_redact(pointers, OptionContext(types, "hookseal-v1", "Hookseal"))
    assert info.value.code == "invalid_redaction"
    assert words in info.value.detail


def test_a_value_of_the_wrong_type_is_a_plain_invalid_request() -> None:
    for bad in ("/a", [1], {"/a": True}):
        with pytest.raises(InvalidRequestError) as info:
            check_redact(bad, PING)
        assert info.value.code == "invalid_request"


def test_redaction_drops_only_the_named_fields() -> None:
    payload = json.dumps({"id": "evt_1", "type": "x", "data": {
        "keep": 1, "drop": 2, "nested": {"drop": 3, "keep": 4},
        "items": [{"secret": 1, "n": 1}, {"n": 2}], "big": 123456789012345678901234567890,
        "a/b": 5}})
    out = json.loads(redact_payload(payload, ["/drop", "/nested/drop", "/items/*/secret",
                                              "/a~1b", "/absent/x"]))
    assert out == {"id": "evt_1", "type": "x", "data": {
        "keep": 1, "nested": {"keep": 4}, "items": [{"n": 1}, {"n": 2}],
        "big": 123456789012345678901234567890}}
    assert redact_payload(payload, None) is payload
    assert redact_payload(payload, []) is payload


@pytest.mark.parametrize("profile", ["hookseal-v1", "standard-webhooks"])
def test_the_redacted_body_is_what_is_signed(sender: Sender, receiver: Receiver,
                                             worker: Callable[..., BackgroundWorker],
                                             profile: str) -> None:
    url = receiver.route("/r")
    created = sender.create_endpoint("t1", url, allow_local=True, profile=profile,
                                     event_types=["test.ping"], redact=["/endpoint_id"])
    plain = sender.create_endpoint("t1", receiver.route("/p"), allow_local=True,
                                   profile=profile, event_types=["test.ping"])
    data = {"message": "hi", "endpoint_id": "ep_secret"}
    sender.send("t1", "test.ping", data)
    worker()
    got = wait_for(lambda: receiver.requests("/r"))
    event = hookseal.Webhook(created.secret, profile=profile).construct_event(
        got[0].body, got[0].headers)
    assert event["data"] == {"message": "hi"}
    other = wait_for(lambda: receiver.requests("/p"))
    assert hookseal.Webhook(plain.secret, profile=profile).construct_event(
        other[0].body, other[0].headers)["data"] == data
