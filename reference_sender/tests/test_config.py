"""The retry policy is the single published source of truth, capped at three days."""

from __future__ import annotations

import random

import pytest
from hookseal_sender import DEFAULT_RETRY_POLICY, ConfigError, RetryPolicy, SenderConfig
from hookseal_sender.config import MAX_RETRY_WINDOW


def test_default_schedule_within_three_days_with_jitter() -> None:
    p = DEFAULT_RETRY_POLICY
    assert p.max_attempts == len(p.schedule) + 1 >= 10
    assert sum(p.schedule) * (1 + p.jitter) <= MAX_RETRY_WINDOW
    rows = p.describe()
    assert rows[0] == {"attempt": 1, "delay_s": 0.0, "elapsed_s": 0.0}
    assert rows[-1]["elapsed_s"] == sum(p.schedule)
    assert SenderConfig().retry == p


def test_next_delay_jitter_and_cap() -> None:
    p = RetryPolicy(schedule=(10, 20), jitter=0.5, retry_after_cap=30)
    rng = random.Random(1)
    delays = [p.next_delay(1, rng=rng) for _ in range(200)]
    assert all(d is not None and 10 <= d <= 15 for d in delays)
    assert len({round(d or 0, 3) for d in delays}) > 100  # really jittered
    assert p.next_delay(3) is None  # attempt cap reached
    assert p.next_delay(1, retry_after=5) == 5
    assert p.next_delay(1, retry_after=9999) == 30


@pytest.mark.parametrize("kwargs", [
    {"schedule": (-1,)}, {"jitter": 1.5}, {"schedule": (86400.0,) * 4},
    {"retry_after_cap": 86400.0 * 2},
])
def test_invalid_policies(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_from_schedule() -> None:
    p = RetryPolicy.from_schedule([0.5, 1, 2], jitter=0)
    assert p.schedule == (0.5, 1.0, 2.0) and p.max_attempts == 4
    assert p.next_delay(2) == 1.0


@pytest.mark.parametrize("value", [-1, 1.5, "10", True])
def test_metrics_endpoint_series_must_be_a_count(value: object) -> None:
    with pytest.raises(ConfigError, match="metrics_endpoint_series"):
        SenderConfig(metrics_endpoint_series=value)  # type: ignore[arg-type]
    assert SenderConfig().metrics_endpoint_series == 10_000
    assert SenderConfig(metrics_endpoint_series=0).metrics_endpoint_series == 0


@pytest.mark.parametrize("value", [0, -5, float("nan"), float("inf"), "86400", True])
def test_idempotency_retention_must_be_positive_seconds(value: object) -> None:
    with pytest.raises(ConfigError, match="idempotency_retention"):
        SenderConfig(idempotency_retention=value)  # type: ignore[arg-type]
    assert SenderConfig().idempotency_retention == 24 * 3600
