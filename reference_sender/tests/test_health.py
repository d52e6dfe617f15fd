"""EndpointHealth: the set of breakers not closed, kept as they change state (exact against
a scan of every breaker, whatever the order of their own results, other workers'
decisions read from the store, probes granted and given back), and forgetting."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, Optional

from hookseal_sender._health import EndpointHealth
from hookseal_sender.breaker import CLOSED
from hookseal_sender.config import BreakerPolicy
from hookseal_sender.metrics import Metrics
from hookseal_sender.storage.base import BreakerRow
from hypothesis import given, settings
from hypothesis import strategies as st

POLICY = BreakerPolicy(window=6, min_samples=3, failure_ratio=0.5, retry_window=3,
                       open_seconds=30.0)
ENDPOINTS = ["ep_a", "ep_b", "ep_c", "ep_d"]


class FakeStore:
    """The store's breaker table, as the shared breakers read and write it."""

    def __init__(self) -> None:
        self.rows: dict[str, BreakerRow] = {}

    def breakers(self) -> list[BreakerRow]:
        return list(self.rows.values())

    def open_breaker(self, endpoint_id: str, owner: str, now: float, until: float) -> None:
        self.rows[endpoint_id] = BreakerRow(endpoint_id, "open", until, owner, None, now)

    def close_breaker(self, endpoint_id: str) -> bool:
        return self.rows.pop(endpoint_id, None) is not None

    def take_breaker_probe(self, endpoint_id: str, owner: str, now: float,
                           until: float) -> bool:
        row = self.rows.get(endpoint_id)
        if row is None:
            return False
        self.rows[endpoint_id] = BreakerRow(endpoint_id, "half_open", until, row.opened_by,
                                            owner, now)
        return True


class FakeCalls:
    """Store calls run inline (the shared breakers' writes and reads)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.claims = None

    async def call(self, fn: Any, *args: Any, pool: Any = None, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    def trouble(self, what: str, exc: BaseException, retry: Optional[str] = None) -> float:
        raise AssertionError(f"{what}: {exc!r}")

    def unavailable(self, exc: BaseException) -> bool:
        return False


def make_health(store: Optional[FakeStore] = None, metrics: Optional[Metrics] = None,
                ) -> EndpointHealth:
    endpoints: Any = SimpleNamespace(entries={})
    return EndpointHealth(FakeCalls(store or FakeStore()), POLICY, metrics or Metrics(),
                          None, endpoints, owner="w1")  # type: ignore[arg-type]


def scan(health: EndpointHealth) -> dict[str, str]:
    """The breakers not closed, found the slow way."""
    return {ep: br.state for ep, br in health.breakers.items() if br.state != CLOSED}


OPS = st.tuples(
    st.sampled_from(["ok", "fail", "fail_retry", "ok_retry", "start", "hold", "hold0",
                     "grant", "reset", "probe", "other_opens", "other_closes", "read"]),
    st.sampled_from(ENDPOINTS))


@settings(max_examples=300, deadline=None)
@given(st.lists(OPS, max_size=60))
def test_not_closed_is_exact_across_every_change(ops: list[tuple[str, str]]) -> None:
    async def run() -> None:
        store = FakeStore()
        metrics = Metrics()
        health = make_health(store, metrics)
        for op, ep in ops:
            if op in ("ok", "fail", "fail_retry", "ok_retry"):
                br = health.breaker(ep)
                br.started()
                br.record(op.startswith("ok"), retry=op.endswith("retry"))
            elif op == "start":
                health.breaker(ep).started()
            elif op == "hold":
                health.breaker(ep).hold(30.0)
            elif op == "hold0":
                health.breaker(ep).hold(0.0)
            elif op == "grant":
                health.breaker(ep).grant()
            elif op == "reset":
                health.breaker(ep).reset()
            elif op == "probe":  # as the claims take a probe when the open period ended
                store.open_breaker(ep, "w2", 0.0, 0.0)
                await health.shared.take_probe(ep)
            elif op == "other_opens":
                store.open_breaker(ep, "w2", 0.0, 1e12)
            elif op == "other_closes":
                store.close_breaker(ep)
            else:  # follow the store, as every poll interval
                await health.shared.refresh()
            await health.shared.wait()  # this worker's own writes
            found = health.not_closed()
            assert {e: br.state for e, br in found} == scan(health), (op, ep)
            assert all(health.breakers[e] is br for e, br in found)
            assert metrics.breaker_open._value.get() == len(found)
            metrics.breaker_open.set(-1)
            assert health.count_not_closed() == len(found)  # what a claim sets the gauge to
            assert metrics.breaker_open._value.get() == len(found)

    asyncio.run(run())


def test_a_claim_costs_nothing_per_closed_breaker() -> None:
    """``not_closed`` looks only at the breakers not closed: 10,000 closed ones are never
    asked their state (counted on the breakers themselves)."""
    async def run() -> None:
        health = make_health()
        for i in range(10_000):
            health.breaker(f"ep_{i}").record(True)
        for _ in range(60):  # ep_7 opens: most of its attempts and its retries failed
            health.breaker("ep_7").record(False, retry=True)
        await health.shared.wait()
        asked = []
        cls = type(health.breaker("ep_0"))
        state = cls.state

        def counting(br: Any) -> str:
            asked.append(br)
            return state.fget(br)  # type: ignore[attr-defined,no-any-return]

        cls.state = property(counting)  # type: ignore[assignment,method-assign]
        try:
            assert [ep for ep, _ in health.not_closed()] == ["ep_7"]
        finally:
            cls.state = state  # type: ignore[method-assign]
        assert len(asked) <= 1

    asyncio.run(run())


def test_forget_drops_breakers_and_health_and_a_new_one_starts_afresh() -> None:
    async def run() -> None:
        health = make_health()
        for _ in range(2):
            health.breaker("ep_a").record(False, retry=True)  # two failures: still closed
        health._health["ep_a"] = 123.0
        health.forget(["ep_a"])
        assert "ep_a" not in health.breakers and "ep_a" not in health._health
        br = health.breaker("ep_a")
        br.record(False, retry=True)  # one failure of a new window: needs 3 to open
        assert br.state == CLOSED and health.not_closed() == []

    asyncio.run(run())
