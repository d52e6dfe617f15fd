"""CircuitBreaker: opens when the recent attempts and the recent retries mostly fail,
probes, closes. (``retry=True``: the attempt retried a delivery that had failed.)"""

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
        br.record(False, retry=True)
    assert br.state == CLOSED and br.allows(5)
    br.record(False, retry=True)  # the fourth sample: 4 of 4 failed
    assert br.state == OPEN and not br.allows(0)


def test_half_open_lets_one_probe_through_and_its_result_decides() -> None:
    clock = FakeClock()
    br = CircuitBreaker(POLICY, clock)
    for _ in range(4):
        br.record(False, retry=True)
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
    br = CircuitBreaker(BreakerPolicy(window=10, min_samples=10, failure_ratio=0.5, retry_window=10),
                        FakeClock())
    for success in [False] * 5 + [True] * 10:  # the five failures have all dropped out
        br.record(success, retry=True)
    for _ in range(5):
        br.record(False, retry=True)
    assert br.state == CLOSED  # 5 of the last 10: not more than half
    br.record(False, retry=True)  # 6 of 10
    assert br.state == OPEN


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 12),
    st.integers(1, 12),
    st.integers(1, 6),
    st.sampled_from([0.25, 0.5, 0.75]),
    st.lists(st.tuples(st.booleans(), st.booleans()), max_size=60),
)
def test_opens_exactly_when_the_window_says_so(
    window: int, min_samples: int, retry_window: int, ratio: float,
    results: list[tuple[bool, bool]],
) -> None:
    # A model that recounts both windows after every result, as the definition reads.
    clock = FakeClock()
    policy = BreakerPolicy(window=window, min_samples=min_samples, failure_ratio=ratio,
                           retry_window=retry_window, open_seconds=30.0)
    br = CircuitBreaker(policy, clock)
    model: deque[bool] = deque(maxlen=window)
    retries: deque[bool] = deque(maxlen=retry_window)
    for success, retry in results:
        br.record(success, retry=retry)
        model.append(success)
        if retry:
            retries.append(success)
        failed_retries = retries.count(False)
        should_open = (len(model) >= min_samples and model.count(False) > ratio * len(model)
                       and failed_retries > 0 and failed_retries > ratio * len(retries))
        assert (br.state == OPEN) == should_open
        if should_open:
            # Let it half-open and close again with a good probe (a first attempt, so
            # the retries' record stands), then carry on with a fresh window.
            clock.now += 30.0
            br.started()
            br.record(True)
            model.clear()
            assert br.state == CLOSED


def test_an_endpoint_that_fails_first_attempts_but_takes_retries_stays_closed() -> None:
    """Issue 19 item 1: 503 to each first attempt, 200 to its retry. With the default
    policy, a burst of first attempts (all failing) before any retry, then the steady
    mix: the breaker never opens, so the retries are sent."""
    br = CircuitBreaker(BreakerPolicy(), FakeClock())
    for _ in range(500):
        br.record(False)
    assert br.state == CLOSED
    for _ in range(2000):
        br.record(False)
        br.record(True, retry=True)
    assert br.state == CLOSED


def test_an_endpoint_whose_retries_fail_too_opens() -> None:
    br = CircuitBreaker(BreakerPolicy(), FakeClock())
    for _ in range(60):
        br.record(False)
    assert br.state == CLOSED  # no retry yet: it may be an endpoint that takes retries
    br.record(False, retry=True)
    assert br.state == OPEN


def test_the_retries_record_outlives_a_close() -> None:
    """Half-open, a retry probe that succeeds closes the breaker; the next burst of failed
    first attempts does not reopen it, since that retry went through."""
    clock = FakeClock()
    br = CircuitBreaker(BreakerPolicy(), clock)
    for _ in range(60):
        br.record(False, retry=True)
    assert br.state == OPEN
    clock.now += BreakerPolicy().open_seconds
    br.started()
    br.record(True, retry=True)  # 1 good of the last 20 retries: the probe closes it
    assert br.state == CLOSED
    for _ in range(200):
        br.record(False)
    assert br.state == OPEN  # 19 of the last 20 retries failed: still a failing endpoint
    clock.now += BreakerPolicy().open_seconds
    for _ in range(20):  # recovering: its retries go through
        br.started()
        br.record(True, retry=True)
    for _ in range(200):
        br.record(False)
    assert br.state == CLOSED


def test_on_change_hears_each_change_of_state_once() -> None:
    clock = FakeClock()
    changes: list[tuple[str, str]] = []
    br = CircuitBreaker(POLICY, clock, on_change=lambda old, new: changes.append((old, new)))
    for _ in range(6):
        br.record(True)
    assert changes == []  # the common path says nothing
    for _ in range(10):
        br.record(False, retry=True)
    assert changes == [(CLOSED, OPEN)]  # late failures of an open breaker: not again
    clock.now += 30.0
    br.started()
    br.started()
    assert changes == [(CLOSED, OPEN), (OPEN, HALF_OPEN)]
    br.record(False, retry=True)
    clock.now += 30.0
    br.started()
    br.record(True, retry=True)
    assert changes[2:] == [(HALF_OPEN, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]


def test_a_shared_breaker_probes_only_when_granted() -> None:
    """Workers share breakers through the store: the open period's end alone does not let a
    shared breaker probe; the probe the store grants does, once, and its result decides."""
    clock = FakeClock()
    changes: list[tuple[str, str]] = []
    br = CircuitBreaker(POLICY, clock, on_change=lambda old, new: changes.append((old, new)),
                        shared=True)
    for _ in range(4):
        br.record(False, retry=True)
    assert changes == [(CLOSED, OPEN)]
    clock.now += 300.0
    assert br.state == OPEN and not br.allows(0)  # another worker may be probing
    br.grant()
    assert br.state == HALF_OPEN and br.granted and br.allows(0) and not br.allows(1)
    br.started()
    assert not br.allows(0)
    br.record(False, retry=True)
    assert br.state == OPEN and not br.granted
    assert changes[1:] == [(OPEN, HALF_OPEN), (HALF_OPEN, OPEN)]
    br.grant()
    br.started()
    br.record(True)
    assert br.state == CLOSED and changes[-1] == (HALF_OPEN, CLOSED)


def test_other_workers_decisions_are_followed_silently() -> None:
    clock = FakeClock()
    changes: list[tuple[str, str]] = []
    br = CircuitBreaker(POLICY, clock, on_change=lambda old, new: changes.append((old, new)),
                        shared=True)
    br.record(False, retry=True)
    br.hold(30.0)  # another worker opened it
    assert br.state == OPEN and not br.allows(0)
    for _ in range(10):  # late results of attempts started before: no probe, no change
        br.record(False, retry=True)
    assert br.state == OPEN
    br.grant()
    br.hold(30.0)  # this worker's probe lapsed and another took it
    assert not br.granted and not br.allows(0)
    br.reset()  # another worker's probe succeeded
    assert br.state == CLOSED and br.allows(5)
    assert changes == []
    for _ in range(3):  # the window starts afresh: three failures are too few to open
        br.record(False, retry=True)
    assert br.state == CLOSED
