"""Tests of custom_headers.py: the checks of an endpoint's custom headers, and the headers
on every attempt (retries included) over loopback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hookseal
import pytest
from hookseal_sender import BackgroundWorker, InvalidHeadersError, InvalidRequestError, Sender
from hookseal_sender._options import OptionContext
from hookseal_sender.custom_headers import MAX_HEADERS, check_headers, reserved_names

from ._receiver import Receiver
from .conftest import wait_for

V1 = OptionContext(None, "hookseal-v1", "Hookseal")
ACME = OptionContext(None, "hookseal-v1", "Acme")
SW = OptionContext(None, "standard-webhooks", "Hookseal")


def test_twenty_headers_pass_and_twenty_one_do_not() -> None:
    twenty = {f"X-H{i}": f"v {i}; a=b" for i in range(MAX_HEADERS)}
    assert check_headers(twenty, V1) == twenty
    with pytest.raises(InvalidHeadersError, match="at most 20"):
        check_headers({**twenty, "X-More": "1"}, V1)


@pytest.mark.parametrize(("context", "name"), [
    (V1, "hookseal-signature"), (V1, "HOOKSEAL-WEBHOOK-ID"), (V1, "Hookseal-Event-Type"),
    (ACME, "Acme-Signature"), (ACME, "acme-webhook-id"),
    (SW, "webhook-id"), (SW, "Webhook-Timestamp"), (SW, "WEBHOOK-SIGNATURE"),
    (V1, "Content-Type"), (SW, "content-length"), (V1, "host"),
    (V1, "Connection"), (V1, "keep-alive"), (V1, "Proxy-Authorization"), (V1, "te"),
    (V1, "Trailer"), (V1, "transfer-encoding"), (V1, "Upgrade"), (V1, "Proxy-Authenticate"),
])
def test_reserved_names_are_refused_with_the_list(context: OptionContext, name: str) -> None:
    with pytest.raises(InvalidHeadersError) as info:
        check_headers({"X-Fine": "1", name: "x"}, context)
    assert info.value.code == "invalid_headers"
    for reserved in reserved_names(context.profile, context.header_prefix):
        assert reserved in info.value.detail


def test_the_prefix_decides_what_is_reserved() -> None:
    assert check_headers({"Hookseal-Signature": "x"}, ACME) == {"Hookseal-Signature": "x"}
    assert check_headers({"webhook-id": "x"}, V1) == {"webhook-id": "x"}


@pytest.mark.parametrize(("headers", "words"), [
    ({"X Bad": "1"}, "not an HTTP token"), ({"X:Bad": "1"}, "not an HTTP token"),
    ({"": "1"}, "not an HTTP token"), ({"X-\u00e9": "1"}, "not an HTTP token"),
    ({"X-Ok": "a\r\nX-Injected: 1"}, "visible ASCII"), ({"X-Ok": "a\nb"}, "visible ASCII"),
    ({"X-Ok": "a\x00b"}, "visible ASCII"), ({"X-Ok": "caf\u00e9"}, "visible ASCII"),
    ({"X-Ok": " padded"}, "neither starts nor ends"),
    ({"X-Ok": "a" * 1025}, "at most 1024"),
    ({"X-Team": "a", "x-team": "b"}, "given twice"),
])
def test_bad_names_and_values_are_refused(headers: dict[str, str], words: str) -> None:
    with pytest.raises(InvalidHeadersError, match=words):
        check_headers(headers, V1)


def test_a_value_of_the_wrong_type_is_a_plain_invalid_request() -> None:
    for bad in ({"X-A": 1}, "X-A: 1", ["X-A"]):
        with pytest.raises(InvalidRequestError) as info:
            check_headers(bad, V1)
        assert info.value.code == "invalid_request"


@pytest.mark.parametrize("profile", ["hookseal-v1", "standard-webhooks"])
def test_custom_headers_go_on_every_attempt(sender: Sender, receiver: Receiver,
                                            worker: Callable[..., BackgroundWorker],
                                            profile: str) -> None:
    url = receiver.route("/h", statuses=[503, 200])
    extra = {"X-Team": "billing", "X-Env": "prod\tblue"}
    created = sender.create_endpoint("t1", url, allow_local=True, profile=profile,
                                     headers=extra)
    sender.send("t1", "invoice.paid", _example())
    worker()
    got = wait_for(lambda: len(receiver.requests("/h")) >= 2 and receiver.requests("/h"))
    verifier = hookseal.Webhook(created.secret, profile=profile)
    for r in got[:2]:
        assert {k: r.headers.get(k) for k in extra} == extra
        verifier.verify(r.body, r.headers)  # the signature headers are still the sender's


def _example() -> Any:
    from hookseal_sender.catalog import event_catalog

    return event_catalog().example("invoice.paid")
