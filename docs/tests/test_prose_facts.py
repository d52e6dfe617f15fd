"""Defaults and limits the hand-written pages state in prose are the code's.

Tables on the site are generated from the code; a few numbers are also written in
sentences ("the sender times out after 10 seconds") or in hand-written tables (the limits
on endpoint fields). This pins each one to its source, so changing a default or a limit
fails here until the text is updated too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1]


def _config():  # type: ignore[no-untyped-def]
    from hookseal_sender import SenderConfig

    return SenderConfig()


def _limit(name: str) -> int:
    """A limit the sender checks, from the module that defines it."""
    from hookseal_sender import _inputs, sender
    from hookseal_sender.portal import tokens

    return int(getattr(sender, name, None) or getattr(_inputs, name, None)
               or getattr(tokens, name))


def _claim_retry() -> float:
    from hookseal_sender.worker import CLAIM_RETRY

    return CLAIM_RETRY


def _worker(name: str) -> float:
    from hookseal_sender import worker

    return float(getattr(worker, name))


def _breaker():  # type: ignore[no-untyped-def]
    from hookseal_sender.config import BreakerPolicy

    return BreakerPolicy()


def _window_fit() -> tuple[int, int, int]:
    """The largest cap with the default schedule, the most retries under the default cap,
    and the longest schedule (what docs/sender.md states about endpoint retry settings)."""
    from hookseal_sender.config import (
        DEFAULT_RETRY_POLICY,
        MAX_RETRY_WINDOW,
        MAX_SCHEDULE_LENGTH,
        endpoint_retry_policy,
    )
    from hookseal_sender.errors import ConfigError

    n = len(DEFAULT_RETRY_POLICY.schedule)
    cap = int(MAX_RETRY_WINDOW // n)
    endpoint_retry_policy(DEFAULT_RETRY_POLICY, None, cap)
    try:
        endpoint_retry_policy(DEFAULT_RETRY_POLICY, None, cap + 1)
        raise AssertionError("cap + 1 fits")
    except ConfigError:
        pass
    retries = int(MAX_RETRY_WINDOW // DEFAULT_RETRY_POLICY.retry_after_cap)
    endpoint_retry_policy(DEFAULT_RETRY_POLICY, [0] * retries, None)
    return cap, retries, MAX_SCHEDULE_LENGTH


def _module(name: str, attr: str) -> float:
    """A constant of a sender module (the subscription options' limits)."""
    import importlib

    return float(getattr(importlib.import_module(f"hookseal_sender.{name}"), attr))


_SUBSCRIPTION_FACTS = [
    ("subscriptions.md", "At most 256 conditions and logical operators in one filter, nested at "
     "most 16 levels deep", lambda: (_module("filters", "MAX_CLAUSES"),
                                     _module("filters", "MAX_DEPTH")), (256, 16)),
    ("subscriptions.md", "Up to 20 extra request headers", lambda: _module("custom_headers",
                                                                          "MAX_HEADERS"), 20),
    ("subscriptions.md", "at most 1024 characters, and neither starts nor ends",
     lambda: _module("custom_headers", "MAX_VALUE_LENGTH"), 1024),
    ("subscriptions.md", "and past 50 pointers", lambda: _module("redaction", "MAX_POINTERS"), 50),
    ("subscriptions.md", "A worker that gets a slot within the next 1 s waits",
     lambda: _module("rate_limit", "WAIT_AHEAD"), 1.0),
    ("subscriptions.md", "woken more than 0.05 s after its slot",
     lambda: _module("rate_limit", "LATE"), 0.05),
    ("../reference_sender/PORTAL.md", "the customer's newest 20 events of the past 7 days",
     lambda: (_module("portal._option_pages", "PREVIEW_EVENTS"),
              _module("portal._option_pages", "PREVIEW_DAYS")), (20, 7)),
]

def _schedule_marks() -> tuple[tuple[float, ...], int]:
    """The default schedule's first attempt times within an hour, and its attempts."""
    from itertools import accumulate

    from hookseal_sender.config import DEFAULT_SCHEDULE

    return tuple(t for t in accumulate(DEFAULT_SCHEDULE) if t < 3600), len(DEFAULT_SCHEDULE) + 1


def _cache_seconds() -> float:
    from hookseal_sender._endpoint_cache import CACHE_SECONDS

    return CACHE_SECONDS


# The model of 1 % slow or dead endpoints among 1,000,000 (BENCHMARKS.md) is computed
# from these defaults.
_BENCH = "../reference_sender/BENCHMARKS.md"
_CAPACITY_MODEL_FACTS = [
    (_BENCH, "by default the connect plus read timeout, 20 s",
     lambda: _config().connect_timeout + _config().read_timeout, 20.0),
    (_BENCH, "*unreachable* (packets dropped: `T` is the connect timeout, 10 s)",
     lambda: _config().connect_timeout, 10.0),
    (_BENCH, "6 within an hour (the default schedule: at 0 s, 5 s, 35 s, 2.6 min, 12.6 min, "
     "42.6 min), 14 after 2.7 days", _schedule_marks, ((5, 35, 155, 755, 2555), 14)),
    (_BENCH, "an endpoint failing for 5 days is disabled",
     lambda: _breaker().disable_after, 5 * 86400.0),
    (_BENCH, "a process opens an endpoint's breaker after 50 of its attempts there",
     lambda: _breaker().min_samples, 50),
    (_BENCH, "one probe per `open_seconds` (60 s)", lambda: _breaker().open_seconds, 60.0),
    (_BENCH, "The default is 100 slots a process (`global_concurrency`)",
     lambda: _config().global_concurrency, 100),
    (_BENCH, "at the default `claim_batch` of 100", lambda: _config().claim_batch, 100),
    (_BENCH, "misses the cache when its retries are more than 30 s apart", _cache_seconds, 30.0),
    ("sender.md", "gone unused through 5 rounds of the sweep, a round every 30 s (so for at "
     "least 2 minutes)", lambda: (_module("_idle", "IDLE_ROUNDS"),
                                    _module("_idle", "SWEEP_INTERVAL")), (5, 30.0)),
]

FACTS = [
    # (page, sentence on it, the code's value, the value the sentence implies)
    ("retries.md", "default 10 seconds to connect, and 20 seconds for the whole attempt: the connect "
     "timeout plus 10 to read", lambda: (_config().connect_timeout, _config().read_timeout), (10.0, 10.0)),
    ("quickstart.md", "after 20 seconds (10 to connect plus 10 to answer, by default)",
     lambda: (_config().connect_timeout, _config().read_timeout), (10.0, 10.0)),
    ("idempotency.md", "timeout (20 s by default, connecting included)",
     lambda: _config().connect_timeout + _config().read_timeout, 20.0),
    ("rotation.md", "(the default overlap is 24 hours)", lambda: _config().rotation_overlap, 86400.0),
    ("sender.md", "logs it with its traceback and claims nothing for a second",
     lambda: _claim_retry(), 1.0),
    ("sender.md", "retrying after 1 s, then 2, 4 and at most every 8 s",
     lambda: (_claim_retry(), _worker("CLAIM_RETRY_MAX")), (1.0, 8.0)),
    ("sender.md", "a connection idle for more than 2 s with a `SELECT 1`",
     lambda: __import__("hookseal_sender.storage.postgres").storage.postgres.IDLE_CHECK, 2.0),
    ("sender.md", "The limit binds at 19,938 s of cap with the default 13 retries, and a "
     "schedule of more than 72 retries", _window_fit, (19_938, 72, 100)),
    ("sender.md", "a list of at most 100 delays", lambda: _window_fit()[2], 100),
    ("sender.md", "waiting for a rate-limit slot): at most 100 of these, the longest holds first",
     lambda: _module("_claims", "HELD_EXCLUDED"), 100),
    ("sender.md", "(more than 100 / 10 = 10 of them)",
     lambda: (_config().global_concurrency, _config().per_endpoint_concurrency), (100, 10)),
    ("sender.md", "A worker has `global_concurrency` slots (100) and gives one endpoint at most "
     "`per_endpoint_concurrency` of them (10)",
     lambda: (_config().global_concurrency, _config().per_endpoint_concurrency), (100, 10)),
    ("retries.md", "more than half of the last 100 attempts failed (at least 50 of them) and more "
     "than half of the endpoint's last 20 retries failed",
     lambda: (_breaker().failure_ratio, _breaker().window, _breaker().min_samples,
              _breaker().retry_window), (0.5, 100, 50, 20)),
    ("retries.md", "(`open_seconds`, a minute by default)", lambda: _breaker().open_seconds, 60.0),
    ("delivery-logs.md", "(30 days by default)", lambda: _config().retention_days, 30.0),
    ("delivery-logs.md", "(hourly by default)", lambda: _config().purge_interval, 3600.0),
    ("faq.md", "(30 days by default)", lambda: _config().retention_days, 30.0),
    ("faq.md", "one endpoint (10 by default, fewer while", lambda: _config().per_endpoint_concurrency, 10),
    ("faq.md", "(up to one hour)",
     lambda: __import__("hookseal_sender").DEFAULT_RETRY_POLICY.retry_after_cap, 3600.0),
    ("idempotency.md", "default TTL is 3.5 days",
     lambda: __import__("hookseal.idempotency").idempotency.DEFAULT_TTL, 3.5 * 86400),
    ("quickstart.md", "default 5-minute timestamp tolerance",
     lambda: __import__("hookseal").DEFAULT_TOLERANCE, 300),
    ("security.md", "within the tolerance (5 minutes)",
     lambda: __import__("hookseal").DEFAULT_TOLERANCE, 300),
    # The limits docs/sender.md lists by hand ("Endpoint fields and their limits").
    ("sender.md", "| tenant id | 1 to 200 characters |", lambda: _limit("MAX_NAME"), 200),
    ("sender.md", "| `url` | at most 2048 characters;", lambda: _limit("MAX_URL"), 2048),
    ("sender.md", "| `description` | at most 1000 characters;", lambda: _limit("MAX_DESCRIPTION"), 1000),
    ("sender.md", "a list of names of 1 to 200 characters |", lambda: _limit("MAX_NAME"), 200),
    ("sender.md", "| `header_prefix` | 1 to 64 letters,", lambda: _limit("MAX_HEADER_PREFIX"), 64),
    ("sender.md", "no spaces, at most 254 characters |", lambda: _limit("MAX_EMAIL"), 254),
    ("sender.md", "`replay`, `replay_bulk` and `cancel` is at most 1000 characters",
     lambda: _limit("MAX_REASON"), 1000),
    ("sender.md", "(a list, not a single string) are at most 200 characters", lambda: _limit("MAX_NAME"), 200),
    ("sender.md", "A portal link's `user` is at most 254 characters", lambda: _limit("MAX_USER"), 254),
    ("sender.md", "within `idempotency_retention` (24 h by default)",
     lambda: _config().idempotency_retention, 24 * 3600.0),
    ("sender.md", "(default 86400, 24 h) |", lambda: _config().idempotency_retention, 86400.0),
    ("sender.md", "A key is 1 to 255 printable characters", lambda: _limit("MAX_IDEMPOTENCY_KEY"),
     255),
    ("rotation.md", "an overlap is at most 30 days: a longer one is refused",
     lambda: __import__("hookseal_sender.config").config.MAX_ROTATION_OVERLAP, 30 * 86400.0),
    ("security.md", "for at most 30 days (`--overlap`",
     lambda: __import__("hookseal_sender.config").config.MAX_ROTATION_OVERLAP, 30 * 86400.0),
    ("security.md", "(1 MiB by default; set it in the settings file)",
     lambda: __import__("hookseal_sender._http")._http.DEFAULT_MAX_BODY_BYTES, 1024 * 1024),
    ("sender.md", "(default 1048576, 1 MiB)",
     lambda: __import__("hookseal_sender._http")._http.DEFAULT_MAX_BODY_BYTES, 1048576),
    ("security.md", "more than 64 levels deep are refused",
     lambda: __import__("hookseal_sender._inputs")._inputs.MAX_JSON_DEPTH, 64),
    ("sender.md", "or nests more than 64 levels deep)",
     lambda: __import__("hookseal_sender._inputs")._inputs.MAX_JSON_DEPTH, 64),
    ("sender.md", "a bulk replay's `limit` that is not an integer from 1 to 10000",
     lambda: _limit("MAX_BULK_REPLAY"), 10000),
    ("sender.md", "a delivery list's `limit` outside 1 to 500",
     lambda: _limit("MAX_PAGE"), 500),
    ("delivery-logs.md", "every match is replayed, up to 10,000",
     lambda: _limit("MAX_BULK_REPLAY"), 10000),
    ("operations.md", "`breaker.disable_after` (5 days by default)",
     lambda: _config().breaker.disable_after, 5 * 86400.0),
    ("sender.md", "at most 300 seconds in the future |",
     lambda: __import__("hookseal_sender.backfill").backfill.MAX_FUTURE_SKEW, 300.0),
    ("sender.md", "Events are written 500 to a transaction (`--batch-size`)",
     lambda: __import__("hookseal_sender.backfill").backfill.BACKFILL_BATCH, 500),
    ("sender.md", "At most 200,000 events per run",
     lambda: __import__("hookseal_sender.backfill").backfill.MAX_BACKFILL_EVENTS, 200_000),
    ("sender.md", "| `id` | the event id, 1 to 200 characters:", lambda: _limit("MAX_NAME"), 200),
    # The owner's notice fires on the alert's condition ("on the same condition").
    ("operations.md", "Every attempt to one endpoint has failed for more than 24 hours",
     lambda: __import__("hookseal_sender.owner_notices").owner_notices.OwnerNoticePolicy()
     .endpoint_down_after, 86400.0),
    ("operations.md", "An endpoint that keeps failing this way for 90 days is paused",
     lambda: __import__("hookseal_sender.owner_notices").owner_notices.OwnerNoticePolicy()
     .stale_after_days, 90.0),
    ("admin-console.md", "A link works for 15 minutes by default and at most an hour",
     lambda: (__import__("hookseal_sender.admin").admin.links.DEFAULT_ADMIN_LINK_TTL,
              __import__("hookseal_sender.admin").admin.links.MAX_ADMIN_LINK_TTL),
     (900.0, 3600.0)),
    ("admin-console.md", "it opens a session of 4 hours",
     lambda: __import__("hookseal_sender.admin").admin.links.DEFAULT_ADMIN_SESSION_TTL,
     4 * 3600.0),
    ("admin-console.md", "(default 14400, 4 hours)",
     lambda: __import__("hookseal_sender.admin").admin.AdminConfig().session_ttl, 14400.0),
    ("admin-console.md", "It queues deliveries in batches of 50",
     lambda: __import__("hookseal_sender.admin").admin.JobRunner.__init__.__kwdefaults__["batch"],
     50),
    ("admin-console.md", "A selection of more than 10,000 deliveries is refused",
     lambda: _limit("MAX_BULK_REPLAY"), 10000),
    ("admin-console.md", "after 5 minutes without progress",
     lambda: __import__("hookseal_sender.admin").admin.jobs.STALE_AFTER, 300.0),
    ("admin-console.md", "and the oldest ten",
     lambda: __import__("hookseal_sender.admin").admin.jobs.SAMPLE, 10),
    ("review.md", "older than `retention_days` (30 days by default)", lambda: _config().retention_days, 30.0),
    ("../reference_sender/PORTAL.md", "a tenant id of 1 to 200 characters, a `user` of at most 254",
     lambda: (_limit("MAX_NAME"), _limit("MAX_USER")), (200, 254)),
    ("../reference_sender/PORTAL.md", "Each delivery has these fields, in this order: `delivery_id`, "
     "`event_id`, `event_type`, `endpoint_id`, `endpoint_url`, `status`, `attempts`, "
     "`last_status_code`, `last_error`, `created_at`, `updated_at`, `next_attempt_at`.",
     lambda: __import__("hookseal_sender.portal._export").portal._export.EXPORT_FIELDS,
     ("delivery_id", "event_id", "event_type", "endpoint_id", "endpoint_url", "status",
      "attempts", "last_status_code", "last_error", "created_at", "updated_at",
      "next_attempt_at")),
    ("../reference_sender/PORTAL.md", "one starting with `=`, `+`, `-`, `@`, a tab or a carriage return",
     lambda: __import__("hookseal_sender.portal._export").portal._export.FORMULA_START,
     ("=", "+", "-", "@", "\t", "\r")),
    ("../reference_sender/PORTAL.md", "figures over the deliveries **created in the last 7 days**",
     lambda: __import__("hookseal_sender.portal.queries").portal.queries.WEEK, 7 * 86400.0),
    ("../reference_sender/PORTAL.md", "Deliveries created in the last 24 hours",
     lambda: __import__("hookseal_sender.portal.queries").portal.queries.DAY, 86400.0),
    *_SUBSCRIPTION_FACTS,
    *_CAPACITY_MODEL_FACTS,
]


@pytest.mark.parametrize(("page", "sentence", "actual", "stated"), FACTS,
                         ids=[f"{p}:{s[:30]}" for p, s, _, _ in FACTS])
def test_stated_default_matches_the_code(page: str, sentence: str, actual, stated) -> None:  # type: ignore[no-untyped-def]
    text = " ".join((DOCS / page).read_text(encoding="utf-8").split())
    assert sentence in text, f"{page} no longer says {sentence!r}: update FACTS"
    assert actual() == stated, f"{page} says {sentence!r} but the code's default is {actual()!r}"
