"""_attempt's log line: one per finished attempt, a warning when it dead-letters."""

from __future__ import annotations

import logging

import pytest
from hookseal_sender._attempt import log_attempt
from hookseal_sender._logs import DELIVERY_LOGGER
from hookseal_sender.models import Attempt, AttemptResult, Claimed

CLAIMED = Claimed(id="dlv_1", tenant_id="acme", endpoint_id="ep_1", event_type="invoice.paid",
                  attempt_count=7, round_attempts=7, payload="{}", endpoint_version=1,
                  event_id="evt_1")


def _result(status: str, code: int | None, error: str | None = None,
            next_at: float | None = None) -> AttemptResult:
    attempt = Attempt(8, 1796620691.0, code, error, 12.5, {}, "", "retry")
    return AttemptResult("dlv_1", "ep_1", attempt, status, next_at, 8)


@pytest.mark.parametrize(("status", "code", "error", "level", "message"), [
    ("delivered", 200, None, logging.INFO, "delivery dlv_1 delivered (200, attempt 8, 12 ms)"),
    ("pending", None, "timeout", logging.INFO,
     "delivery dlv_1 retrying (timeout, attempt 8, 12 ms)"),
    ("failed", 401, None, logging.INFO, "delivery dlv_1 failed (401, attempt 8, 12 ms)"),
    ("dead_lettered", 503, None, logging.WARNING,
     "delivery dlv_1 dead-lettered after 8 attempts (503)"),
])
def test_one_line_per_attempt_with_its_fields(caplog: pytest.LogCaptureFixture, status: str,
                                              code: int | None, error: str | None,
                                              level: int, message: str) -> None:
    caplog.set_level(logging.INFO, DELIVERY_LOGGER)
    log_attempt(CLAIMED, _result(status, code, error, 1796620700.0 if status == "pending"
                                 else None))
    [record] = caplog.records
    assert (record.levelno, record.getMessage()) == (level, message)
    assert record.fields == {  # type: ignore[attr-defined]
        "event": "attempt", "delivery_id": "dlv_1", "event_id": "evt_1",
        "event_type": "invoice.paid", "tenant_id": "acme", "endpoint_id": "ep_1",
        "status": status, "http_status": code, "error": error, "attempt": 8,
        "latency_ms": 12.5,
        "next_attempt_at": 1796620700.0 if status == "pending" else None}
