"""The idle sweep: what a worker keeps per endpoint goes away once the endpoint is idle
and neutral, is rebuilt as new on its next use, and stays while it must (a breaker not
closed, here or in the store; deliveries in flight or buffered; an endpoint held out of
claims). Driven round by round with a fake monotonic clock: no sleeps."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import hookseal_sender._idle
import pytest
from hookseal_sender import BackgroundWorker, Sender
from hookseal_sender._buffer import ClaimBuffer
from hookseal_sender._claims import Claims
from hookseal_sender._endpoint_cache import CachedEndpoint, EndpointCache
from hookseal_sender._health import EndpointHealth
from hookseal_sender._idle import CHUNK, IDLE_ROUNDS, SWEEP_INTERVAL, IdleSweep
from hookseal_sender.breaker import CLOSED, OPEN
from hookseal_sender.config import DEFAULT_RETRY_POLICY, BreakerPolicy
from hookseal_sender.metrics import Metrics
from hookseal_sender.models import Claimed

from ._receiver import Receiver
from .conftest import wait_for
from .test_health import FakeCalls, FakeStore
from .test_worker import final, send_one

POLICY = BreakerPolicy(window=6, min_samples=3, failure_ratio=0.5, retry_window=3,
                       open_seconds=30.0)
NOW = 1_700_000_000.0  # Unix time at mono 0


class Parts:
    """A worker's per-endpoint parts, wired as the worker wires them, with a fake clock."""

    def __init__(self) -> None:
        self.store = FakeStore()
        calls: Any = FakeCalls(self.store)
        self.cache = EndpointCache(calls, DEFAULT_RETRY_POLICY, lambda ep: True)
        self.health = EndpointHealth(calls, POLICY, Metrics(), None,  # type: ignore[arg-type]
                                     self.cache, owner="w1")
        writeback: Any = SimpleNamespace(release=lambda *a: None, event=None)
        self.buffer = ClaimBuffer(100, 8, self.health, writeback)
        config: Any = SimpleNamespace(claim_batch=100, poll_interval=0.2,
                                      visibility_timeout=60.0)
        self.claims = Claims(calls, config, "w1", self.buffer, self.health, set(),
                             lambda: None, parallel=False)
        self.sweep = IdleSweep(self.cache, self.health, self.buffer, self.claims)
        self.mono = 0.0
        self.n = 0

    @property
    def now(self) -> float:
        return NOW + self.mono

    def claim(self, ep: str) -> Claimed:
        self.n += 1
        c = Claimed(f"dlv_{self.n}", "t1", ep, "x.y", 0, 0, "{}", 1, f"evt_{self.n}")
        self.buffer.add(c)
        return c

    def start(self, ep: str) -> Claimed:
        """An attempt to ``ep`` starts, as a slot starts one (its entry loaded)."""
        self.claim(ep)
        c = self.buffer.take()
        assert c is not None and c.endpoint_id == ep
        if self.cache.fresh(c, self.now) is None:
            endpoint: Any = SimpleNamespace(id=ep, version=1, status="active", tenant_id="t1",
                                            url="https://x.example/")
            self.cache.entries[ep] = CachedEndpoint(endpoint, DEFAULT_RETRY_POLICY,
                                                    self.now + 30.0)
        return c

    def end(self, ep: str, ok: bool = True, timed_out: bool = False) -> None:
        """The attempt ends, as a slot ends one."""
        self.buffer.finished(ep)
        self.buffer.adapt(ep, timed_out)
        self.health.breaker(ep).record(ok, retry=True)
        self.health._health[ep] = None if ok else self.now

    def use(self, ep: str, **kwargs: Any) -> None:
        self.start(ep)
        self.end(ep, **kwargs)

    def round(self) -> int:
        """Move the clock to the next round and sweep."""
        self.mono += SWEEP_INTERVAL
        assert self.sweep.due(self.mono)
        return self.sweep.sweep(self.mono, self.now)

    def kept(self, ep: str) -> dict[str, bool]:
        return {"cache": ep in self.cache.entries, "breaker": ep in self.health.breakers,
                "health": ep in self.health._health, "limit": ep in self.buffer._limits}


def looped(test: Callable[[Parts], Awaitable[None]]) -> Callable[[], None]:
    """Run ``test`` on an event loop (breakers that open write to the fake store on it)."""
    @functools.wraps(test)
    def run() -> None:
        async def go() -> None:
            parts = Parts()
            await test(parts)
            await parts.health.shared.wait()

        asyncio.run(go())

    run.__signature__ = inspect.Signature()  # type: ignore[attr-defined]
    return run


NONE = {"cache": False, "breaker": False, "health": False, "limit": False}
ALL = {"cache": True, "breaker": True, "health": True, "limit": True}


@looped
async def test_an_idle_endpoints_state_is_dropped_and_rebuilt_as_new(parts: Parts) -> None:
    parts.use("ep_a", timed_out=True)  # its limit halved: 4
    old = parts.health.breaker("ep_a")
    assert parts.kept("ep_a") == ALL and parts.buffer.limit("ep_a", 8) == 4
    for _ in range(IDLE_ROUNDS - 1):
        assert parts.round() == 0  # not idle long enough yet
        assert parts.kept("ep_a") == ALL
    assert parts.round() == 1
    assert parts.kept("ep_a") == NONE
    # Used again: rebuilt as a new endpoint's (a new breaker, the full limit, its entry
    # loaded again: the cache misses).
    c = parts.claim("ep_a")
    assert parts.cache.fresh(c, parts.now) is None
    parts.buffer.take()
    parts.end("ep_a")
    assert parts.health.breakers["ep_a"] is not old
    assert parts.buffer.limit("ep_a", 8) == 8


@looped
async def test_an_idle_endpoints_metric_series_go_with_its_state(parts: Parts) -> None:
    metrics: Metrics = parts.health._metrics
    for ep in ("ep_a", "ep_b"):
        parts.use(ep)
        metrics.attempt("t1", ep, "delivered", 0.01, 200, None)
    metrics.dead_letter("t1", "ep_a")
    metrics.render(), metrics.render()  # shown at 0, then with their counts
    assert len(metrics.attempts) == 2 and len(metrics.dead_letters) == 1
    for _ in range(IDLE_ROUNDS - 1):
        parts.round()
        parts.use("ep_b")  # ep_b stays in use
    assert parts.round() == 1
    assert parts.kept("ep_a") == NONE
    labels = [dict(s.labels)["endpoint_id"] for f in metrics.attempts.collect()
              for s in f.samples if s.name.endswith("_total")]
    assert labels == ["ep_b"] and len(metrics.dead_letters) == 0


@looped
async def test_an_endpoint_in_use_keeps_its_state(parts: Parts) -> None:
    parts.use("ep_a", timed_out=True)
    br = parts.health.breaker("ep_a")
    entry = parts.cache.entries["ep_a"]
    for i in range(3 * IDLE_ROUNDS):
        # One attempt a round, timed out (its limit lowered), every other one failed.
        parts.use("ep_a", ok=i % 2 == 0, timed_out=True)
        assert parts.round() == 0
    assert parts.health.breakers["ep_a"] is br and br.state == CLOSED
    assert parts.kept("ep_a") == ALL
    # Its entry was reloaded as it went stale (every 30 s), never dropped in use.
    assert parts.cache.entries["ep_a"] is not entry
    assert parts.buffer.limit("ep_a", 8) == 1


@looped
async def test_an_open_breaker_is_never_dropped(parts: Parts) -> None:
    for _ in range(3):
        parts.use("ep_bad", ok=False)
    br = parts.health.breaker("ep_bad")
    assert br.state == OPEN
    await parts.health.shared.wait()
    for _ in range(4 * IDLE_ROUNDS):
        assert parts.round() == 0
    assert parts.health.breakers["ep_bad"] is br
    assert [ep for ep, _ in parts.health.not_closed()] == ["ep_bad"]
    assert parts.cache.entries.keys() == {"ep_bad"}


@looped
async def test_an_endpoint_open_in_the_store_or_with_a_change_unwritten_is_kept(
        parts: Parts) -> None:
    parts.use("ep_a")
    parts.use("ep_b")
    parts.health.shared.open["ep_a"] = parts.now + 1e6  # another worker opened it
    parts.health.shared._pending["ep_b"] = None  # its close not written yet
    for _ in range(2 * IDLE_ROUNDS):
        parts.round()
    assert parts.kept("ep_a")["breaker"] and parts.kept("ep_b")["breaker"]


@looped
async def test_in_flight_buffered_and_held_endpoints_are_kept(parts: Parts) -> None:
    for ep in ("ep_flying", "ep_buffered", "ep_held", "ep_idle"):
        parts.use(ep)
    parts.start("ep_flying")  # an attempt longer than the idle time
    parts.claim("ep_buffered")
    parts.buffer.inflight["ep_buffered"] = 8  # its window is full: it stays buffered
    parts.claims.hold("ep_held", 1e6)  # paused (or rate-limited) for long
    for _ in range(IDLE_ROUNDS):
        parts.round()
    for ep in ("ep_flying", "ep_buffered", "ep_held"):
        assert parts.kept(ep)["breaker"], ep
    assert parts.kept("ep_idle") == NONE


@looped
async def test_state_stays_bounded_by_the_endpoints_used_lately(parts: Parts) -> None:
    """10,000 distinct endpoints, 400 a round: the worker keeps those of the last rounds
    only (without the sweep it kept all 10,000)."""
    per_round = 400
    sizes = []
    for r in range(25):
        for i in range(per_round):
            parts.use(f"ep_{r * per_round + i}", timed_out=i % 2 == 0, ok=i % 3 > 0)
        parts.round()
        sizes.append((len(parts.health.breakers), len(parts.cache.entries),
                      len(parts.health._health), len(parts.buffer._limits)))
    bound = per_round * (IDLE_ROUNDS - 1)  # used in the rounds the last sweep kept
    assert max(s[0] for s in sizes) == bound
    assert sizes[-1] == (bound, bound, bound, bound // 2)
    assert len(parts.health.not_closed()) == 0


@looped
async def test_orphans_without_a_breaker_are_dropped_when_stale(parts: Parts) -> None:
    """Entries whose breaker is gone (a result written back after its endpoint was
    swept) go too; a fresh cache entry with no breaker (being loaded) stays."""
    parts.health._health["ep_late"] = None
    parts.buffer._limits["ep_late"] = 2
    endpoint: Any = SimpleNamespace(id="ep_new", version=1, status="active")
    parts.cache.entries["ep_new"] = CachedEndpoint(endpoint, DEFAULT_RETRY_POLICY,
                                                   parts.now + SWEEP_INTERVAL + 30.0)
    parts.round()
    assert "ep_late" not in parts.health._health and "ep_late" not in parts.buffer._limits
    assert "ep_new" in parts.cache.entries
    parts.round()
    assert "ep_new" not in parts.cache.entries


@looped
async def test_many_idle_endpoints_are_dropped_a_chunk_a_call(parts: Parts) -> None:
    """A round that finds more idle endpoints than a call drops leaves the rest to the
    next calls (the worker's maintenance ticks); one used again meanwhile stays."""
    n = CHUNK + 300
    for i in range(n):
        parts.use(f"ep_{i}")
    for _ in range(IDLE_ROUNDS - 1):
        assert parts.round() == 0
    assert parts.round() == CHUNK
    assert parts.sweep.due(parts.mono) and len(parts.health.breakers) == 300
    survivor = next(iter(parts.health.breakers))
    parts.use(survivor)  # used again before its turn came
    assert parts.sweep.sweep(parts.mono + 1.0, parts.now) == 299
    assert not parts.sweep.due(parts.mono + 1.0)
    assert list(parts.health.breakers) == [survivor] and list(parts.cache.entries) == [survivor]


def test_a_worker_keeps_only_the_endpoints_it_sent_to_lately(
        sender: Sender, receiver: Receiver, worker: Callable[..., BackgroundWorker],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A real worker sends to 40 endpoints, then to none: its maintenance ticks (one a
    second, a round of the sweep each here) drop every endpoint's state; a delivery to
    one of them afterwards is sent as to a new endpoint."""
    monkeypatch.setattr(hookseal_sender._idle, "SWEEP_INTERVAL", 0.05)
    ids = [sender.create_endpoint(f"t{i}", receiver.route(f"/e{i}"), allow_local=True)
           .endpoint.id for i in range(40)]
    w = worker().worker
    health, cache = w._health, w._idle._endpoints
    sent = [send_one(sender, f"t{i}") for i in range(40)]
    for i, did in enumerate(sent):
        assert final(sender, did, f"t{i}").status == "delivered"
    assert health.breakers and set(health.breakers) <= set(ids)
    wait_for(lambda: not health.breakers and not cache.entries, timeout=30)
    assert final(sender, send_one(sender, "t7"), "t7").status == "delivered"
    assert set(health.breakers) == {ids[7]}
    assert len(receiver.requests("/e7")) == 2


@looped
async def test_the_other_parts_are_told_which_endpoints_went(parts: Parts) -> None:
    told: list[list[str]] = []
    parts.sweep = IdleSweep(parts.cache, parts.health, parts.buffer, parts.claims,
                            also=(told.append,))
    parts.use("ep_a")
    for _ in range(IDLE_ROUNDS - 1):
        parts.round()
        parts.use("ep_b")
    assert parts.round() == 1
    assert told == [["ep_a"]]


def test_the_attempts_and_batches_forget_idle_endpoints_but_not_a_held_lock() -> None:
    """What the sweep's ``also`` calls drop: rate gates' knowledge, OAuth tokens and free
    token locks (``AttemptRunner.forget``), free batch locks (``Batcher.forget``)."""
    from hookseal_sender._access import OAuthToken
    from hookseal_sender._attempt import AttemptRunner
    from hookseal_sender.batches import Batcher
    from hookseal_sender.config import SenderConfig

    async def go() -> None:
        none: Any = None
        runner = AttemptRunner(SenderConfig(database="sqlite:///:memory:"), none, none, none,
                               none, None, connections=1, hold=lambda *a: None)
        runner._rates._full_until.update({"ep_a": NOW, "ep_b": NOW})
        runner._tokens.update({("ep_a", "k1"): OAuthToken("t", NOW),
                               ("ep_b", "k1"): OAuthToken("t", NOW)})
        held = asyncio.Lock()
        await held.acquire()
        runner._token_locks.update({("ep_a", "k1"): asyncio.Lock(), ("ep_c", "k1"): held})
        runner.forget(["ep_a", "ep_c"])
        assert set(runner._rates._full_until) == {"ep_b"}
        assert set(runner._tokens) == {("ep_b", "k1")}
        assert set(runner._token_locks) == {("ep_c", "k1")}  # taken: a fetch is running

        batcher = Batcher(none, SenderConfig(database="sqlite:///:memory:"), "w1", none,
                          none, none, none, none, none)
        batcher._locks.update({"ep_a": asyncio.Lock(), "ep_c": held, "ep_d": asyncio.Lock()})
        batcher.forget(["ep_a", "ep_c"])
        assert set(batcher._locks) == {"ep_c", "ep_d"}

    asyncio.run(go())
