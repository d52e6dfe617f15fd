"""A per-endpoint circuit breaker: the rule that opens it, and its state in one worker.

Each worker decides from its own attempts when to open an endpoint's breaker; once open,
the state is shared through the store (:mod:`hookseal_sender._breakers`): a breaker made
with ``shared=True`` probes only when the store gave its worker the probe
(:meth:`CircuitBreaker.grant`), and follows what other workers decided
(:meth:`CircuitBreaker.hold`, :meth:`CircuitBreaker.reset`).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable, Optional

from .config import BreakerPolicy

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    """Pauses deliveries to an endpoint when its attempts fail and its retries fail too.

    Closed: everything goes. It opens when more than ``failure_ratio`` of the last
    ``window`` attempts failed (with at least ``min_samples``) **and** the endpoint's
    retries fail as well: more than ``failure_ratio`` of its last ``retry_window`` retries
    (attempts of deliveries that had failed before), at least one of them. A failed first
    attempt alone says little: an endpoint that fails the first attempt of each delivery
    and accepts the retry delivers everything, and must not be starved by its breaker.
    Open: nothing goes for ``open_seconds``. Half-open: one probe goes (the worker picks a
    due retry for it when there is one); success closes the breaker, failure opens it again.

    A shared breaker (``shared=True``, as workers make them) is half-open only while its
    worker holds the probe, which the store gives one worker at a time (:meth:`grant`);
    other workers' decisions arrive through :meth:`hold` and :meth:`reset`.

    Args:
        policy: Thresholds.
        clock: Monotonic clock (tests pass a fake one).
        on_change: Called with the old and the new state when the breaker opens, goes
            half-open (its probe starts) or closes again, by this breaker's own results;
            never on the common path, and not for :meth:`hold`, :meth:`grant` or
            :meth:`reset`.
        shared: Probe only when granted (see above).
        on_closed: Called with ``True`` when the breaker closes and ``False`` when it
            stops being closed (opens, or is held or granted while closed), whatever the
            cause, :meth:`hold`, :meth:`grant` and :meth:`reset` included: so its owner
            can keep the set of breakers not closed without scanning them all.

    Attributes:
        used: A mark its owner may set on each use (the worker's health sets the idle
            sweep's round; see :mod:`hookseal_sender._idle`).
    """

    def __init__(self, policy: BreakerPolicy, clock: Callable[[], float] = time.monotonic, *,
                 on_change: Optional[Callable[[str, str], None]] = None,
                 shared: bool = False,
                 on_closed: Optional[Callable[[bool], None]] = None) -> None:
        self.policy = policy
        self._clock = clock
        self._on_change = on_change
        self._on_closed = on_closed
        self.used = 0
        self._recent: deque[bool] = deque(maxlen=policy.window)
        self._failures = 0  # False entries in _recent, kept as they come and go
        # The last retries' results: kept across opening and closing, since they say
        # whether the endpoint delivers once it is given a second chance.
        self._retries: deque[bool] = deque(maxlen=policy.retry_window)
        self._until: float | None = None  # open until then (clock); None: closed
        self._probing = False
        self._shared = shared
        self._granted = False  # shared: this worker holds the probe

    def _move(self, until: Optional[float]) -> None:
        """Set the open-until time (``None``: closed), telling ``on_closed`` when the
        breaker closes or stops being closed."""
        was_closed = self._until is None
        self._until = until
        if was_closed != (until is None) and self._on_closed is not None:
            self._on_closed(not was_closed)

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half_open``."""
        if self._until is None:
            return CLOSED
        if self._granted or (not self._shared and self._clock() >= self._until):
            return HALF_OPEN
        return OPEN

    @property
    def granted(self) -> bool:
        """Whether this worker holds the probe of a shared breaker (see :meth:`grant`)."""
        return self._granted

    def _may_probe(self) -> bool:
        return self._granted if self._shared else self.state == HALF_OPEN

    def hold(self, seconds: float) -> None:
        """Open for ``seconds`` more because another worker opened it (or holds its
        probe); a probe this worker held is given up. Not an ``on_change``.

        Args:
            seconds: How long (zero or less: until a probe is granted, when shared).
        """
        self._move(self._clock() + seconds)
        self._granted = False

    def grant(self) -> None:
        """Half-open: this worker took the probe (a shared breaker's, from the store);
        the next attempt that starts is the probe, and its result decides."""
        if self._until is None:
            self._move(self._clock())
        self._granted = True
        self._probing = False  # an earlier probe that never reported is over

    def reset(self) -> None:
        """Close because another worker's probe succeeded (as a successful probe of its
        own would: the window starts afresh). Not an ``on_change``."""
        self._move(None)
        self._granted = self._probing = False
        self._recent.clear()
        self._failures = 0

    def allows(self, in_flight: int) -> bool:
        """Whether another attempt may start now.

        Args:
            in_flight: Attempts to this endpoint in flight.

        Returns:
            True when closed, or half-open with no probe in flight.
        """
        if self._until is None:  # closed: the common case, asked before every attempt
            return True
        return in_flight == 0 and not self._probing and self._may_probe()

    def started(self) -> None:
        """Note that an attempt started (a half-open probe, if half-open)."""
        if self._until is not None and self._may_probe():
            if not self._probing and self._on_change is not None:
                self._on_change(OPEN, HALF_OPEN)
            self._probing = True

    def _retries_fail(self) -> bool:
        failed = self._retries.count(False)
        return failed > 0 and failed > self.policy.failure_ratio * len(self._retries)

    def record(self, success: bool, retry: bool = False) -> None:
        """Record an attempt's result.

        Args:
            success: Whether it was delivered (failed permanent 4xx count as success:
                the endpoint is up).
            retry: Whether it retried a delivery whose earlier attempt failed.
        """
        self._probing = False
        if retry:
            self._retries.append(success)
        if self._until is not None and self._may_probe():
            self._recent.clear()
            self._failures = 0
            self._granted = False
            self._move(None if success else self._clock() + self.policy.open_seconds)
            if self._on_change is not None:
                self._on_change(HALF_OPEN, CLOSED if success else OPEN)
            return
        recent = self._recent
        if len(recent) == recent.maxlen and recent and not recent[0]:
            self._failures -= 1  # the oldest result, a failure, is about to drop out
        recent.append(success)
        if not success:
            self._failures += 1
        if (len(recent) >= self.policy.min_samples
                and self._failures > self.policy.failure_ratio * len(recent)
                and self._retries_fail()):
            was_closed = self._until is None  # late results of an open one reopen it
            self._move(self._clock() + self.policy.open_seconds)
            if was_closed and self._on_change is not None:
                self._on_change(CLOSED, OPEN)
