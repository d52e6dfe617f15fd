"""Tests for hookseal.idempotency: claim/complete semantics over every store."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hookseal.idempotency import (
    DEFAULT_TTL,
    ClaimState,
    IdempotencyStore,
    MemoryIdempotencyStore,
    ProcessOnce,
    RedisIdempotencyStore,
    SQLiteIdempotencyStore,
)
from receiving_fixtures import redis_url  # noqa: F401 - fixture


class FakeClock:
    def __init__(self, now: float = 1_763_800_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IdempotencyStore]:
    if request.param == "memory":
        yield MemoryIdempotencyStore()
    elif request.param == "sqlite":
        s = SQLiteIdempotencyStore(tmp_path / "idem.db")
        yield s
        s.close()
    else:
        url = request.getfixturevalue("redis_url")
        # A fresh prefix per test keeps tests independent on the shared server.
        yield RedisIdempotencyStore.from_url(url, prefix=f"test:{uuid.uuid4().hex}:")


def test_default_ttl_covers_a_three_day_retry_window() -> None:
    assert 3 * 24 * 3600 < DEFAULT_TTL <= 4 * 24 * 3600


def test_first_claim_acquires_and_completed_id_is_not_run_again(store: IdempotencyStore) -> None:
    once = ProcessOnce(store)
    calls: list[int] = []
    first = once.run("msg_1", lambda: calls.append(1) or "ok")
    second = once.run("msg_1", lambda: calls.append(2) or "again")
    assert first.ran and first.value == "ok"
    assert not second.ran and second.claim.state is ClaimState.COMPLETED and second.value is None
    assert calls == [1]
    assert once.run("msg_2", lambda: "other").ran  # ids are independent


def test_crash_mid_processing_lets_the_retry_through_after_the_lease(
    store: IdempotencyStore,
) -> None:
    clock = FakeClock()
    once = ProcessOnce(store, lease=30, clock=clock)
    crashed = once.claim("msg_crash")  # the process dies: never completed nor released
    assert crashed.acquired
    clock.now += 10
    during = once.claim("msg_crash")
    assert during.state is ClaimState.IN_PROGRESS
    assert during.retry_after == 20
    clock.now += 21
    retry = once.claim("msg_crash")
    assert retry.acquired
    # The crashed holder's late completion must not count: the retry owns the id now.
    assert not once.complete(crashed)
    assert once.complete(retry)
    assert once.claim("msg_crash").state is ClaimState.COMPLETED


def test_failure_releases_the_claim_so_a_retry_runs_at_once(store: IdempotencyStore) -> None:
    once = ProcessOnce(store, clock=FakeClock())

    def boom() -> None:
        raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError):
        once.run("msg_fail", boom)
    assert once.run("msg_fail", lambda: "second try").ran


def test_release_and_complete_need_the_holders_token(store: IdempotencyStore) -> None:
    once = ProcessOnce(store, clock=FakeClock())
    claim = once.claim("msg_tok")
    assert not store.release("msg_tok", "not-the-token")
    assert not store.complete("msg_tok", "not-the-token", now=0, ttl=60)
    assert once.claim("msg_tok").state is ClaimState.IN_PROGRESS
    assert once.complete(claim)
    assert not once.release(claim)  # a completed id stays completed
    assert once.claim("msg_tok").state is ClaimState.COMPLETED


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_completed_id_is_forgotten_after_the_ttl(kind: str, tmp_path: Path) -> None:
    clock = FakeClock()
    s: IdempotencyStore = MemoryIdempotencyStore() if kind == "memory" else SQLiteIdempotencyStore(tmp_path / "t.db")
    once = ProcessOnce(s, ttl=3600, clock=clock)
    assert once.run("msg_ttl", lambda: None).ran
    clock.now += 3599
    assert not once.run("msg_ttl", lambda: None).ran
    clock.now += 2
    assert once.run("msg_ttl", lambda: None).ran


def test_sqlite_purge_expired_deletes_only_expired_rows(tmp_path: Path) -> None:
    clock = FakeClock()
    s = SQLiteIdempotencyStore(tmp_path / "p.db")
    once = ProcessOnce(s, ttl=100, clock=clock)
    once.run("old", lambda: None)
    clock.now += 50
    once.run("new", lambda: None)
    assert s.purge_expired(clock.now + 60) == 1
    assert once.claim("new").state is ClaimState.COMPLETED


def test_redis_completed_key_expires_after_the_ttl(redis_url: str) -> None:  # noqa: F811
    import redis

    client = redis.Redis.from_url(redis_url)
    prefix = f"ttl:{uuid.uuid4().hex}:"
    once = ProcessOnce(RedisIdempotencyStore(client, prefix=prefix), ttl=7200)
    once.run("msg_ttl", lambda: None)
    pttl = client.pttl(prefix + "msg_ttl")
    assert 7_100_000 < pttl <= 7_200_000


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis"])
def test_racing_workers_of_one_id_acquire_exactly_once(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # Each worker has its own store object (its own connection), as separate workers do;
    # only the memory store is shared, since it is per-process by nature.
    shared = MemoryIdempotencyStore()
    prefix = f"race:{uuid.uuid4().hex}:"
    url = request.getfixturevalue("redis_url") if kind == "redis" else ""

    def new_store() -> IdempotencyStore:
        if kind == "memory":
            return shared
        if kind == "sqlite":
            return SQLiteIdempotencyStore(tmp_path / "race.db")
        return RedisIdempotencyStore.from_url(url, prefix=prefix)

    n = 8
    workers = [ProcessOnce(new_store()) for _ in range(n)]
    barrier = threading.Barrier(n)
    states: list[ClaimState] = []
    lock = threading.Lock()

    def worker(once: ProcessOnce) -> None:
        barrier.wait(timeout=10)
        state = once.claim("msg_race").state
        with lock:
            states.append(state)

    threads = [threading.Thread(target=worker, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert sorted(s.value for s in states) == ["acquired"] + ["in_progress"] * (n - 1)


def test_simultaneous_deliveries_run_the_handler_once(store: IdempotencyStore) -> None:
    # Deterministic overlap: the first handler blocks until the second delivery has been
    # answered, so the two are provably in flight together.
    once = ProcessOnce(store)
    handler_started = threading.Event()
    second_answered = threading.Event()
    runs: list[str] = []

    def slow_handler() -> str:
        runs.append("first")
        handler_started.set()
        assert second_answered.wait(timeout=10)
        return "done"

    results: dict[str, Any] = {}
    first = threading.Thread(
        target=lambda: results.setdefault("a", once.run("msg_sim", slow_handler))
    )
    first.start()
    assert handler_started.wait(timeout=10)
    results["b"] = once.run("msg_sim", lambda: runs.append("second"))
    second_answered.set()
    first.join(timeout=10)
    assert runs == ["first"]
    assert results["a"].ran and results["a"].value == "done"
    assert results["b"].claim.state is ClaimState.IN_PROGRESS
    assert results["b"].claim.retry_after is not None
    assert not once.run("msg_sim", lambda: runs.append("third")).ran


CHILD = """
import sys
from hookseal.idempotency import ProcessOnce, SQLiteIdempotencyStore
once = ProcessOnce(SQLiteIdempotencyStore(sys.argv[1]))
print("ready", flush=True)
sys.stdin.readline()  # the barrier: every child is ready before any claims
print(once.claim("msg_proc").state.value, flush=True)
"""


def test_sqlite_store_is_safe_across_processes(tmp_path: Path) -> None:
    n = 4
    path = str(tmp_path / "proc.db")
    SQLiteIdempotencyStore(path).close()  # create the table once, before the race
    procs = [
        subprocess.Popen([sys.executable, "-c", CHILD, path], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
        for _ in range(n)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        states = sorted(p.communicate(timeout=30)[0].strip() for p in procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0] * n
    assert states == ["acquired"] + ["in_progress"] * (n - 1)


def test_invalid_configuration_is_refused() -> None:
    with pytest.raises(ValueError):
        ProcessOnce(MemoryIdempotencyStore(), lease=0)
    with pytest.raises(ValueError):
        ProcessOnce(MemoryIdempotencyStore()).claim("")
    with pytest.raises(ValueError):
        SQLiteIdempotencyStore(":memory:", table="x; DROP TABLE y")


def test_completing_after_losing_the_lease_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    once = ProcessOnce(MemoryIdempotencyStore(), lease=10, clock=clock)
    slow = once.claim("msg_slow")
    clock.now += 11
    assert once.claim("msg_slow").acquired  # a retry took over
    with caplog.at_level("WARNING", logger="hookseal.idempotency"):
        assert not once.complete(slow)
    assert "msg_slow" in caplog.text and "expired" in caplog.text


@pytest.mark.parametrize(("module", "old_names"), [
    ("hookseal.idempotency", ["MemoryStore", "RedisStore", "SQLiteStore"]),
    ("hookseal.idempotency.memory", ["MemoryStore"]),
    ("hookseal.idempotency.redis", ["RedisStore"]),
    ("hookseal.idempotency.sqlite", ["SQLiteStore"]),
])
def test_the_old_store_names_are_deprecated_aliases(module: str, old_names: list[str]) -> None:
    import importlib

    import hookseal.idempotency as idem

    mod = importlib.import_module(module)
    for old in old_names:
        new = getattr(idem, old.replace("Store", "IdempotencyStore"))
        with pytest.warns(DeprecationWarning, match=f"use hookseal.idempotency.{new.__name__}"):
            assert getattr(mod, old) is new
    with pytest.raises(AttributeError):
        _ = mod.NoSuchStore
