"""CircuitBreaker: opens on a failing majority of the recent window, probes, closes."""

from __future__ import annotations

from collections import deque

from hookseal_sender.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from hookseal_sender.config import BreakerPolicy
from hypothesis import given, settings
from hypothesis import strategies as st


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


POLICY = BreakerPolicy(window=10, min_samples=4, failure_ratio=0.5, open_seconds=30.0)


def test_stays_closed_until_enough_samples() -> None:
    br = CircuitBreaker(POLICY, FakeClock())
    for _ in range(3):
        br.record(False)
    assert br.state == CLOSED and br.allows(5)
    br.record(False)  # the fourth sample: 4 of 4 failed
    assert br.state == OPEN and not br.allows(0)


def test_half_open_lets_one_probe_through_and_its_result_decides() -> None:
    clock = FakeClock()
    br = CircuitBreaker(POLICY, clock)
    for _ in range(4):
        br.record(False)
    clock.now += 30.0
    assert br.state == HALF_OPEN
    assert br.allows(0) and not br.allows(1)
    br.started()
    assert not br.allows(0)  # the probe is in flight
    br.record(False)
    assert br.state == OPEN
    clock.now += 30.0
    br.started()
    br.record(True)
    assert br.state == CLOSED and br.allows(3)


def test_failures_that_leave_the_window_stop_counting() -> None:
    br = CircuitBreaker(BreakerPolicy(window=10, min_samples=10, failure_ratio=0.5), FakeClock())
    for success in [False] * 5 + [True] * 10:  # the five failures have all dropped out
        br.record(success)
    for _ in range(5):
        br.record(False)
    assert br.state == CLOSED  # 5 of the last 10: not more than half
    br.record(False)  # 6 of 10
    assert br.state == OPEN


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 12),
    st.integers(1, 12),
    st.sampled_from([0.25, 0.5, 0.75]),
    st.lists(st.booleans(), max_size=60),
)
def test_opens_exactly_when_the_window_says_so(
    window: int, min_samples: int, ratio: float, results: list[bool]
) -> None:
    # A model that recounts the whole window after every result, as the definition reads.
    clock = FakeClock()
    policy = BreakerPolicy(window=window, min_samples=min_samples, failure_ratio=ratio, open_seconds=30.0)
    br = CircuitBreaker(policy, clock)
    model: deque[bool] = deque(maxlen=window)
    for success in results:
        br.record(success)
        model.append(success)
        should_open = len(model) >= min_samples and model.count(False) > ratio * len(model)
        assert (br.state == OPEN) == should_open
        if should_open:
            # Let it half-open and close again with a good probe, then carry on fresh.
            clock.now += 30.0
            br.started()
            br.record(True)
            model.clear()
            assert br.state == CLOSED
