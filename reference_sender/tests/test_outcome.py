"""Attempt outcome classification and Retry-After parsing (contract section 4)."""

from __future__ import annotations

import email.utils

import pytest
from hookseal_sender.outcome import DELIVERED, FAILED, GONE, RETRY, classify, parse_retry_after


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
