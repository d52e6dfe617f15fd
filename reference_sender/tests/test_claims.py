"""A worker's claims (``Claims``): how many rows each asks the store for, and of one
endpoint at most, driven against a fake queue (no store, no sleeps)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from types import SimpleNamespace
from typing import Any, Optional

from hookseal_sender._buffer import ClaimBuffer
from hookseal_sender._claims import Claims
from hookseal_sender._health import EndpointHealth
from hookseal_sender.metrics import Metrics
from hookseal_sender.models import Claimed

from .test_health import POLICY, FakeCalls, FakeStore


class Queue(FakeStore):
    """Due deliveries of endpoints ``ep0``..., oldest first (round robin), as the store's
    claim leases them: up to ``limit``, at most ``each`` of one endpoint, none of
    ``excluded``. Records each claim's ``(limit, each)`` and what is given back."""

    def __init__(self, endpoints: int, per_endpoint: int) -> None:
        super().__init__()
        self.due = [f"ep{i}" for _ in range(per_endpoint) for i in range(endpoints)]
        self.asked: list[tuple[int, Optional[int]]] = []
        self.released: list[str] = []
        self.n = 0

    def claim(self, owner: str, limit: int, now: float, lease_until: float,
              excluded: Any = (), per_endpoint: Optional[int] = None,
              each: Optional[int] = None) -> list[Claimed]:
        self.asked.append((limit, each))
        taken: Counter[str] = Counter()
        rows: list[Claimed] = []
        for i, ep in enumerate(self.due):
            if len(rows) == limit:
                break
            if ep in excluded or (each is not None and taken[ep] >= each):
                continue
            taken[ep] += 1
            self.n += 1
            rows.append(Claimed(f"dlv_{self.n}", "t1", ep, "x.y", 0, 0, "{}", 1, f"evt_{self.n}"))
            self.due[i] = ""  # leased
        self.due = [ep for ep in self.due if ep]
        return rows

    def release(self, owner: str, ids: list[str], at: float) -> None:
        self.released.extend(ids)


class Calls(FakeCalls):
    def back(self, started: float) -> None:
        pass


def _claims(queue: Queue, concurrency: int, per_endpoint: int,
            batch: int) -> tuple[Claims, ClaimBuffer]:
    calls: Any = Calls(queue)
    endpoints: Any = SimpleNamespace(entries={})
    health = EndpointHealth(calls, POLICY, Metrics(), None, endpoints,  # type: ignore[arg-type]
                            owner="w1")
    writeback: Any = SimpleNamespace(release=lambda *a: None, event=None)
    buffer = ClaimBuffer(concurrency, per_endpoint, health, writeback)
    config: Any = SimpleNamespace(claim_batch=batch, poll_interval=0.2, visibility_timeout=60.0)
    return Claims(calls, config, "w1", buffer, health, set(), lambda: None,
                  parallel=True), buffer


def test_a_claim_asks_for_no_more_of_an_endpoint_than_the_buffer_keeps() -> None:
    """With more busy endpoints than fit at full limit, a claim asks the store for at most
    the buffer's share of one endpoint, so nothing comes that must be given back; and the
    next claim asks for about what came (half again), not the whole room again."""
    queue = Queue(endpoints=12, per_endpoint=10)
    claims, buffer = _claims(queue, concurrency=20, per_endpoint=10, batch=200)
    for i in range(12):  # one attempt in flight at each endpoint
        buffer.add(Claimed(f"dlv_x{i}", "t1", f"ep{i}", "x.y", 0, 0, "{}", 1, f"evt_x{i}"))
        assert buffer.take() is not None
    assert buffer.share() == 2  # 20 slots among 12 busy endpoints, 2 of which fit at 10

    async def go() -> None:
        claims.launch(time.monotonic())
        await claims.wait()

    asyncio.run(go())
    assert queue.asked == [(40 - 12, 2)]  # the room (slots and prefetch), two an endpoint
    assert not queue.released and buffer.buffered == 24  # two waiting at each endpoint
    assert claims._size == 36  # 24 came: ask for half again as many next
    asyncio.run(go())
    assert queue.asked[1] == (40 - 12 - 24, 2)


class Recording(Queue):
    """:class:`Queue`, recording each claim's list of endpoints left out."""

    def __init__(self, endpoints: int, per_endpoint: int) -> None:
        super().__init__(endpoints, per_endpoint)
        self.excluded: list[list[str]] = []

    def claim(self, owner: str, limit: int, now: float, lease_until: float,
              excluded: Any = (), per_endpoint: Optional[int] = None,
              each: Optional[int] = None) -> list[Claimed]:
        self.excluded.append(list(excluded))
        return super().claim(owner, limit, now, lease_until, excluded, per_endpoint, each)


def test_a_claim_leaves_out_at_most_a_bounded_number_of_held_endpoints() -> None:
    """Held endpoints (paused, waiting for a rate-limit slot) are left out of claims, the
    longest holds first, up to :data:`HELD_EXCLUDED`: with thousands held, a claim's list
    does not grow with them (the rest's rows are claimed and given back, as before the
    holds). With few held, every one is left out, as always."""
    from hookseal_sender._claims import HELD_EXCLUDED

    n = HELD_EXCLUDED * 30
    queue = Recording(endpoints=n, per_endpoint=1)
    claims, _ = _claims(queue, concurrency=20, per_endpoint=10, batch=200)

    async def go() -> None:
        claims.launch(time.monotonic())
        await claims.wait()

    for i in range(n):  # ep{i} held for 10 + i seconds
        claims.hold(f"ep{i}", 10.0 + i)
    asyncio.run(go())
    (excluded,) = queue.excluded
    assert sorted(excluded) == sorted(f"ep{i}" for i in range(n - HELD_EXCLUDED, n))
    # Nothing is forgotten: every hold still keeps its endpoint (the idle sweep's view).
    assert len(claims.busy(time.monotonic())) == n

    few = Recording(endpoints=10, per_endpoint=1)
    claims, _ = _claims(few, concurrency=20, per_endpoint=10, batch=200)
    for i in range(5):
        claims.hold(f"ep{i}", 10.0)
    asyncio.run(go())
    assert sorted(few.excluded[0]) == [f"ep{i}" for i in range(5)]
