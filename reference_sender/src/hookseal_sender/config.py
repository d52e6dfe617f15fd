"""Sender configuration: one object that is the single source of truth for defaults.

The docs render :data:`DEFAULT_RETRY_POLICY` (see :meth:`RetryPolicy.describe`), so the
published retry schedule is always the one the code uses.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from ._version import USER_AGENT
from .egress import parse_proxy_url
from .errors import ConfigError

__all__ = ["DEFAULT_RETRY_POLICY", "DEFAULT_SCHEDULE", "MAX_RETRY_WINDOW", "MAX_ROTATION_OVERLAP",
           "MAX_SCHEDULE_LENGTH", "BreakerPolicy", "RetryPolicy", "SenderConfig",
           "endpoint_retry_policy"]


#: The hard cap on a delivery's whole retry window, jitter included: three days.
MAX_RETRY_WINDOW = 3 * 24 * 3600.0

#: Longest rotation overlap: 30 days, in seconds. The old secret signs beside the new one
#: no longer than that (a rotation is meant to end).
MAX_ROTATION_OVERLAP = 30 * 24 * 3600.0

#: Delays (seconds) before attempt 2, 3, ...: 14 attempts over about 2.7 days.
DEFAULT_SCHEDULE: tuple[float, ...] = (
    5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200, 43200, 43200, 43200,
)


@dataclass(frozen=True)
class RetryPolicy:
    """When to retry a failed delivery attempt.

    Attributes:
        schedule: Delays in seconds before attempt 2, 3, ...; its length + 1 is the
            attempt cap, after which the delivery is dead-lettered.
        jitter: Each delay is multiplied by a uniform factor in ``[1, 1 + jitter]`` so
            that failed bursts do not retry in lock step (never earlier than scheduled).
        retry_after_cap: The longest ``Retry-After`` (on 429/503) that is honoured, seconds.
    """

    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    jitter: float = 0.1
    retry_after_cap: float = 3600.0

    def __post_init__(self) -> None:
        if any(d < 0 for d in self.schedule):
            raise ConfigError("retry delays must be >= 0")
        if not 0 <= self.jitter < 1:
            raise ConfigError("jitter must be in [0, 1)")
        if self.retry_after_cap < 0:
            raise ConfigError("retry_after_cap must be >= 0")
        worst = sum(self.schedule) * (1 + self.jitter)
        worst_ra = self.retry_after_cap * len(self.schedule)
        if max(worst, worst_ra) > MAX_RETRY_WINDOW:
            raise ConfigError(
                f"retry window may reach {max(worst, worst_ra):.0f} s; the cap is "
                f"{MAX_RETRY_WINDOW:.0f} s (three days)"
            )

    @classmethod
    def from_schedule(
        cls, schedule: Sequence[float], *, jitter: float = 0.1,
        retry_after_cap: Optional[float] = None,
    ) -> RetryPolicy:
        """Build a policy from a list of delays (as the adapter and API accept it).

        Args:
            schedule: Delays in seconds before attempt 2, 3, ...
            jitter: Jitter fraction.
            retry_after_cap: Longest honoured ``Retry-After``; default one hour, or the
                longest delay of a shorter schedule.

        Returns:
            The policy.
        """
        sched = tuple(float(d) for d in schedule)
        cap = retry_after_cap
        if cap is None:
            cap = min(3600.0, max(sched, default=0.0) * 4) if sched else 0.0
        return cls(schedule=sched, jitter=jitter, retry_after_cap=float(cap))

    @property
    def max_attempts(self) -> int:
        """The attempt cap: ``len(schedule) + 1``."""
        return len(self.schedule) + 1

    def next_delay(
        self, attempts_made: int, *, retry_after: Optional[float] = None,
        rng: Optional[random.Random] = None,
    ) -> Optional[float]:
        """The delay before the next attempt, or ``None`` when the cap is reached.

        Args:
            attempts_made: Attempts made so far in this round (>= 1).
            retry_after: The endpoint's ``Retry-After`` in seconds, if it sent one.
            rng: Random source for jitter (tests pass a seeded one).

        Returns:
            Seconds to wait, or ``None`` if the delivery must be dead-lettered.
        """
        if attempts_made >= self.max_attempts:
            return None
        if retry_after is not None:
            return max(0.0, min(retry_after, self.retry_after_cap))
        base = self.schedule[attempts_made - 1]
        factor = 1.0 + (rng or random).uniform(0.0, self.jitter)
        return base * factor

    def describe(self) -> list[dict[str, float]]:
        """The schedule as rows for docs: attempt number, delay and cumulative time.

        Returns:
            One row per attempt: ``attempt``, ``delay_s`` and ``elapsed_s``.
        """
        rows = [{"attempt": 1, "delay_s": 0.0, "elapsed_s": 0.0}]
        elapsed = 0.0
        for i, d in enumerate(self.schedule, start=2):
            elapsed += d
            rows.append({"attempt": i, "delay_s": float(d), "elapsed_s": elapsed})
        return rows


DEFAULT_RETRY_POLICY = RetryPolicy()

#: The most retries an endpoint's own ``retry_schedule`` may list (the attempt cap is one
#: more): the schedule is the hard cap on attempts, so it must stay a small number.
MAX_SCHEDULE_LENGTH = 100


def _finite(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def endpoint_retry_policy(
    default: RetryPolicy, retry_schedule: Any = None, retry_after_cap: Any = None,
) -> RetryPolicy:
    """The retry policy an endpoint with these settings gets: the one rule set for them.

    Registration and updates (:class:`~hookseal_sender.Sender`) check an endpoint's
    settings with this function, and the worker builds the endpoint's policy with it, so
    a setting that is accepted is always one the worker can use.

    Args:
        default: The sender's policy (its schedule, jitter and cap fill what is ``None``).
        retry_schedule: The endpoint's delays (a list of finite numbers ``>= 0``, at most
            :data:`MAX_SCHEDULE_LENGTH` of them), or ``None`` for the default schedule.
        retry_after_cap: The endpoint's ``Retry-After`` cap (a finite number ``>= 0``), or
            ``None`` for the default cap.

    Returns:
        The policy.

    Raises:
        ConfigError: A setting is malformed, or together they let a delivery's retries
            outlast :data:`MAX_RETRY_WINDOW` (the message names the field to change and
            the largest value that fits).
    """
    if retry_schedule is None:
        schedule = default.schedule
    else:
        if not isinstance(retry_schedule, (list, tuple)) or not all(
                _finite(d) and d >= 0 for d in retry_schedule):
            raise ConfigError("retry_schedule must be a list of delays >= 0 (seconds)")
        if len(retry_schedule) > MAX_SCHEDULE_LENGTH:
            raise ConfigError(f"retry_schedule may list at most {MAX_SCHEDULE_LENGTH} delays; "
                              f"it lists {len(retry_schedule)}")
        schedule = tuple(float(d) for d in retry_schedule)
    if retry_after_cap is None:
        cap = default.retry_after_cap
    elif not _finite(retry_after_cap) or retry_after_cap < 0:
        raise ConfigError("retry_after_cap must be a finite number >= 0 (seconds)")
    else:
        cap = float(retry_after_cap)
    worst = sum(schedule) * (1 + default.jitter)
    if worst > MAX_RETRY_WINDOW:
        raise ConfigError(
            f"retry_schedule adds up to {worst:.0f} s with jitter; a delivery's retries may "
            f"take at most {MAX_RETRY_WINDOW:.0f} s (three days)")
    if schedule and cap * len(schedule) > MAX_RETRY_WINDOW:
        own = "its" if retry_after_cap is not None else "the default"
        raise ConfigError(
            f"retry_after_cap: with {own} cap of {cap:.0f} s, Retry-After could stretch "
            f"{len(schedule)} retries to {cap * len(schedule):.0f} s, over the "
            f"{MAX_RETRY_WINDOW:.0f} s (three days) a delivery's retries may take; set "
            f"retry_after_cap to at most {math.floor(MAX_RETRY_WINDOW / len(schedule))} s "
            "or shorten retry_schedule")
    return RetryPolicy(schedule=schedule, jitter=default.jitter, retry_after_cap=cap)


@dataclass(frozen=True)
class BreakerPolicy:
    """Per-endpoint circuit breaker settings.

    Attributes:
        window: How many recent attempts are considered.
        min_samples: Fewest attempts in the window before the breaker may open.
        failure_ratio: The breaker opens when more than this share of the window failed,
            and more than this share of the last ``retry_window`` retries too.
        retry_window: How many recent retries (attempts of deliveries that failed before)
            are considered: while most of them succeed, failed first attempts alone never
            open the breaker.
        open_seconds: How long deliveries to the endpoint pause before a half-open probe.
        disable_after: An endpoint failing continuously this long (seconds) is disabled.
    """

    window: int = 100
    # 50, not fewer: an endpoint failing 30 % of the time would otherwise trip the breaker
    # by chance (more than half of its first 20 attempts fail about 2 % of the time).
    min_samples: int = 50
    failure_ratio: float = 0.5
    retry_window: int = 20
    open_seconds: float = 60.0
    disable_after: float = 5 * 24 * 3600.0


@dataclass(frozen=True)
class SenderConfig:
    """Everything a sender needs; defaults are the documented production defaults.

    Attributes:
        database: ``sqlite:///path.db`` (default backend) or ``postgresql://...``.
        master_key: Fernet key encrypting secrets at rest (else read from
            ``HOOKSEAL_SENDER_MASTER_KEY`` or ``master_key_file``).
        master_key_file: Path of a file holding the Fernet key.
        retry: The default retry policy (endpoints may override the schedule).
        breaker: Circuit breaker settings.
        connect_timeout: Seconds to connect to an endpoint.
        read_timeout: Seconds the endpoint has to answer once connected; enforced with
            the connection as one deadline of ``connect_timeout + read_timeout`` per
            attempt (an endpoint's own ``timeout`` replaces both).
        global_concurrency: Most attempts in flight per worker process.
        per_endpoint_concurrency: Most attempts in flight per endpoint: on PostgreSQL
            across every worker process sharing the queue (claims cap each endpoint's
            leases), on SQLite in its one worker process.
        visibility_timeout: Seconds a claimed delivery stays leased; a crashed worker's
            deliveries are retried after it.
        claim_batch: Most deliveries claimed per query.
        poll_interval: Seconds between claims when the queue is empty.
        rotation_overlap: Seconds the old secret keeps signing after a rotation (at most
            :data:`MAX_ROTATION_OVERLAP`, 30 days).
        retention_days: Finished deliveries older than this are purged.
        idempotency_retention: Seconds a send's idempotency key is remembered: a send
            with the same key for the same tenant within it enqueues nothing (it answers
            the first send's event); after it the key is new again, and the retention
            purge deletes it.
        replay_rate: Deliveries per second that a bulk replay schedules.
        allow_local: Allow ``http://`` and local/private destinations (testing only), for
            endpoints registered with ``allow_local``; checked again at every delivery,
            so turning it off stops them reaching local destinations at once.
        user_agent: The ``User-Agent`` of deliveries.
        sqlite_synchronous: SQLite ``synchronous`` mode (``NORMAL`` in WAL mode survives
            process crashes; a power loss may lose the last transactions).
        purge_interval: Seconds between the retention purges workers run (0: never; run
            ``hookseal-sender purge`` yourself).
        signing_keys: ``endpoint`` (each endpoint has its own Ed25519 key pair) or
            ``tenant`` (one key pair per customer, shared by its endpoints and rotated
            together, so a customer publishes one public key).
        egress_proxy: An ``http://`` proxy every delivery and token request leaves
            through (``CONNECT``), or ``None``; see :mod:`hookseal_sender.egress`.
        catalog: The event catalog's directory (as ``hookseal-catalog init`` writes it);
            ``None``: the sample catalog shipped in ``hookseal_catalog``. Validation at
            enqueue, the event-type lists, ``test.ping`` and pinned versions all read it;
            a sender refuses at start a catalog that is missing or does not lint.
        metrics_endpoint_series: Series a process keeps at most of the metrics labelled by
            endpoint (``hookseal_attempts_total``, ``hookseal_dead_letters_total``);
            beyond it, counts go to ``endpoint_id="_other"``. An endpoint's series are
            dropped once it is idle (the worker's idle sweep).
        derivations: Modules that register the derivation functions the catalog's
            ``function`` steps name (``hookseal_catalog.derivation.register_derivation``),
            imported at start; with them, a step naming an unregistered function is refused.
    """

    database: str = "sqlite:///hookseal-sender.db"
    master_key: Optional[str] = None
    master_key_file: Optional[str] = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    connect_timeout: float = 10.0
    read_timeout: float = 10.0
    global_concurrency: int = 100
    per_endpoint_concurrency: int = 10
    visibility_timeout: float = 60.0
    claim_batch: int = 100
    poll_interval: float = 0.2
    rotation_overlap: float = 24 * 3600.0
    retention_days: float = 30.0
    idempotency_retention: float = 24 * 3600.0
    replay_rate: float = 10.0
    allow_local: bool = False
    user_agent: str = USER_AGENT
    sqlite_synchronous: str = "NORMAL"
    purge_interval: float = 3600.0
    signing_keys: str = "endpoint"
    egress_proxy: Optional[str] = None
    catalog: Optional[str] = None
    derivations: tuple[str, ...] = ()
    metrics_endpoint_series: int = 10_000

    def __post_init__(self) -> None:
        if self.egress_proxy is not None:
            parse_proxy_url(self.egress_proxy)  # refused here, once, with what is wrong
        if self.signing_keys not in ("endpoint", "tenant"):
            raise ConfigError("signing_keys must be 'endpoint' or 'tenant'")
        if isinstance(self.rotation_overlap, bool) \
                or not isinstance(self.rotation_overlap, (int, float)) \
                or not 0 <= self.rotation_overlap <= MAX_ROTATION_OVERLAP:
            raise ConfigError(f"rotation_overlap must be 0 to {MAX_ROTATION_OVERLAP:.0f} "
                              "seconds (30 days)")
        if not _finite(self.idempotency_retention) or self.idempotency_retention <= 0:
            raise ConfigError("idempotency_retention must be a number of seconds > 0")
        if isinstance(self.metrics_endpoint_series, bool) \
                or not isinstance(self.metrics_endpoint_series, int) \
                or self.metrics_endpoint_series < 0:
            raise ConfigError("metrics_endpoint_series must be an integer >= 0")

    def replace(self, **changes: object) -> SenderConfig:
        """A copy with some fields changed.

        Args:
            **changes: Field values to change.

        Returns:
            The new config.
        """
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
