"""Attempt outcome classification, Retry-After parsing (contract section 4) and the retry
decision (next status and due time)."""

from __future__ import annotations

import email.utils
import math

import pytest
from hookseal_sender.config import RetryPolicy
from hookseal_sender.outcome import DELIVERED, FAILED, GONE, RETRY, classify, next_step, parse_retry_after


@pytest.mark.parametrize(("status", "error", "expected"), [
    (200, None, DELIVERED), (204, None, DELIVERED), (299, None, DELIVERED),
    (301, None, FAILED), (302, None, FAILED), (308, None, FAILED),
    (400, None, FAILED), (401, None, FAILED), (404, None, FAILED), (410, None, GONE),
    (429, None, RETRY), (500, None, RETRY), (503, None, RETRY), (599, None, RETRY),
    (None, "timeout", RETRY), (None, "connection_error", RETRY), (None, "dns_error", RETRY),
    (None, "destination_refused", FAILED),
])
def test_classify(status: int | None, error: str | None, expected: str) -> None:
    assert classify(status, error) == expected


def test_retry_after() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after(" 0 ", now) == 0
    date = email.utils.formatdate(now + 90, usegmt=True)
    assert parse_retry_after(date, now) == pytest.approx(90, abs=1)
    assert parse_retry_after(email.utils.formatdate(now - 50, usegmt=True), now) == 0
    for bad in (None, "", "soon", "-5", "1.5", "٣"):
        assert parse_retry_after(bad, now) is None
    # Numbers too long for a float, or for int(): very long (the policy caps them).
    assert parse_retry_after("1" + "0" * 400, now) == math.inf
    assert parse_retry_after("9" * 5000, now) == math.inf


NOW = 1_700_000_000.0
#: No jitter, so each due time is exact: 3 attempts, then dead-lettered.
POLICY = RetryPolicy(schedule=(10.0, 60.0), jitter=0.0, retry_after_cap=120.0)


@pytest.mark.parametrize(("outcome", "expected"), [
    (DELIVERED, "delivered"), (FAILED, "failed"), (GONE, "failed"),
])
def test_next_step_of_a_final_outcome_is_done(outcome: str, expected: str) -> None:
    assert next_step(outcome, 200, {"Retry-After": "5"}, 1, POLICY, NOW) == (expected, None)


def test_next_step_retries_on_the_schedule_then_dead_letters() -> None:
    assert next_step(RETRY, 500, {}, 1, POLICY, NOW) == ("pending", NOW + 10.0)
    assert next_step(RETRY, None, {}, 2, POLICY, NOW) == ("pending", NOW + 60.0)
    assert next_step(RETRY, 503, {}, 3, POLICY, NOW) == ("dead_lettered", None)
    # Retry-After does not extend the round past its last attempt.
    assert next_step(RETRY, 429, {"Retry-After": "1"}, 3, POLICY, NOW) == ("dead_lettered", None)


def test_next_step_jitter_only_delays() -> None:
    jittered = RetryPolicy(schedule=(10.0,), jitter=0.5)
    for _ in range(50):
        status, due = next_step(RETRY, 500, {}, 1, jittered, NOW)
        assert status == "pending" and due is not None and NOW + 10.0 <= due <= NOW + 15.0


@pytest.mark.parametrize(("status", "header", "delay"), [
    (429, "30", 30.0),  # honoured on 429 and 503
    (503, "30", 30.0),
    (503, "9999", 120.0),  # capped by the policy
    (503, email.utils.formatdate(NOW + 45, usegmt=True), 45.0),  # an HTTP-date
    (500, "30", 10.0),  # not on other statuses: the schedule
    (429, "soon", 10.0),  # unparsable: the schedule
])
def test_next_step_honours_retry_after_on_429_and_503(status: int, header: str,
                                                       delay: float) -> None:
    step, due = next_step(RETRY, status, {"Retry-After": header}, 1, POLICY, NOW)
    assert step == "pending" and due == pytest.approx(NOW + delay, abs=1)


@pytest.mark.parametrize("name", ["retry-after", "RETRY-AFTER", "rEtRy-AfTeR"])
def test_retry_after_is_found_whatever_the_case_of_its_name(name: str) -> None:
    # Node and HTTP/2-minded servers write header names in lower case.
    step, due = next_step(RETRY, 429, {"Content-Type": "text/plain", name: "30"}, 1, POLICY, NOW)
    assert step == "pending" and due == pytest.approx(NOW + 30.0, abs=1)
