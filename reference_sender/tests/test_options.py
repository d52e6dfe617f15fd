"""Tests of _options.py: the checks of an endpoint's subscription options, through the
library (create and update) and the admin API, on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from hookseal_sender import (
    InvalidBatchError,
    InvalidOrderingError,
    InvalidRateLimitError,
    InvalidRequestError,
    Sender,
)
from hookseal_sender._options import BATCH_DEFAULTS, OptionContext, check_batch, check_options

CTX = OptionContext(None, "hookseal-v1", "Hookseal")
URL = "http://127.0.0.1:9/hook"


def test_batch_defaults_fill_what_is_left_out() -> None:
    assert check_batch({}, CTX) == BATCH_DEFAULTS
    assert check_batch({"max_events": 5.0}, CTX) == {**BATCH_DEFAULTS, "max_events": 5}
    assert isinstance(check_batch({"max_events": 5.0}, CTX)["max_events"], int)  # type: ignore[index]


@pytest.mark.parametrize(("value", "error", "words"), [
    ({"max_events": 1001}, InvalidBatchError, "at most 1000"),
    ({"max_events": 0}, InvalidBatchError, "above 0"),
    ({"max_events": 2.5}, InvalidBatchError, "whole number"),
    ({"max_bytes": -1}, InvalidBatchError, "above 0"),
    ({"max_wait": float("inf")}, InvalidBatchError, "finite"),
    ({"max_wait": 0}, InvalidBatchError, "above 0"),
    ({"max_size": 3}, InvalidBatchError, "unknown batch setting 'max_size'"),
    ({"max_events": "10"}, InvalidRequestError, "must be a number"),
    ({"max_events": True}, InvalidRequestError, "must be a number"),
    ([100], InvalidRequestError, "JSON object"),
])
def test_bad_batch_settings_are_refused_by_name(value: Any, error: type, words: str) -> None:
    with pytest.raises(error, match=words) as info:
        check_batch(value, CTX)
    assert type(info.value) is error


@pytest.mark.parametrize(("options", "code"), [
    ({"rate_limit": 0}, "invalid_rate_limit"),
    ({"rate_limit": float("nan")}, "invalid_rate_limit"),
    ({"rate_limit": "5"}, "invalid_request"),
    ({"rate_limit": True}, "invalid_request"),
    ({"ordering": "global"}, "invalid_ordering"),
    ({"versions": {"payment.failed": 0}}, "invalid_version"),
    ({"versions": {"payment.failed": "1"}}, "invalid_request"),
    ({"versions": ["payment.failed"]}, "invalid_request"),
    ({"filter": "type=x"}, "invalid_request"),
    ({"headers": {"X-A": 1}}, "invalid_request"),
    ({"headers": "X-A: 1"}, "invalid_request"),
    ({"redact": "/a"}, "invalid_request"),
])
def test_each_option_refuses_with_its_code(options: dict[str, Any], code: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        check_options(options, CTX)
    assert info.value.code == code


def test_options_round_trip_through_the_store(sender: Sender) -> None:
    created = sender.create_endpoint(
        "t1", URL, allow_local=True, rate_limit=4, batch={"max_events": 10},
        ordering="per_key", headers={"X-Team": "billing"}, redact=["/endpoint_id"],
        event_types=["test.ping"],
        filter={"/type": {"$eq": "invoice.paid"}}, versions={"payment.failed": 1}).endpoint
    ep = sender.get_endpoint("t1", created.id)
    assert ep == created
    assert (ep.rate_limit, ep.batch, ep.ordering) == (
        4.0, {**BATCH_DEFAULTS, "max_events": 10}, "per_key")
    assert (ep.headers, ep.redact, ep.versions) == (
        {"X-Team": "billing"}, ["/endpoint_id"], {"payment.failed": 1})
    plain = sender.create_endpoint("t1", URL, allow_local=True).endpoint
    assert sender.get_endpoint("t1", plain.id).batch is None


def test_update_checks_options_and_writes_nothing_when_one_is_bad(sender: Sender) -> None:
    ep = sender.create_endpoint("t1", URL, allow_local=True, rate_limit=4).endpoint
    with pytest.raises(InvalidOrderingError):
        sender.update_endpoint("t1", ep.id, rate_limit=8, ordering="fifo")
    assert sender.get_endpoint("t1", ep.id).rate_limit == 4.0
    with pytest.raises(InvalidRateLimitError):
        sender.update_endpoint("t1", ep.id, rate_limit=-1)
    updated = sender.update_endpoint("t1", ep.id, rate_limit=None, batch={"max_wait": 2})
    assert (updated.rate_limit, updated.batch) == (None, {**BATCH_DEFAULTS, "max_wait": 2.0})


def test_the_admin_api_takes_and_shows_the_options(sender: Sender) -> None:
    from hookseal_sender.api import create_app
    from starlette.testclient import TestClient

    client = TestClient(create_app(sender, {"sk_test": "ci"}))
    auth = {"Authorization": "Bearer sk_test"}
    r = client.post("/v1/tenants/t1/endpoints", headers=auth,
                    json={"url": "https://hooks.example.com/a", "batch": {"max_events": 3},
                          "ordering": "per_key", "rate_limit": 1.5})
    assert r.status_code == 201, r.text
    body = r.json()["endpoint"]
    assert (body["batch"]["max_events"], body["ordering"], body["rate_limit"]) == (
        3, "per_key", 1.5)
    r = client.patch(f"/v1/tenants/t1/endpoints/{body['id']}", headers=auth,
                     json={"batch": {"max_events": 5000}})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_batch"
