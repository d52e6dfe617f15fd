"""The claim buffer's per-endpoint windows (``ClaimBuffer.add``, ``full``, ``share``)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hookseal_sender._buffer import ClaimBuffer
from hookseal_sender._endpoint_cache import EndpointCache
from hookseal_sender._health import EndpointHealth
from hookseal_sender.config import DEFAULT_RETRY_POLICY, BreakerPolicy
from hookseal_sender.metrics import Metrics
from hookseal_sender.models import Claimed

from .test_health import FakeCalls, FakeStore


def _buffer(concurrency: int, per_endpoint: int) -> ClaimBuffer:
    calls: Any = FakeCalls(FakeStore())
    cache = EndpointCache(calls, DEFAULT_RETRY_POLICY, lambda ep: True)
    health = EndpointHealth(calls, BreakerPolicy(), Metrics(), None,  # type: ignore[arg-type]
                            cache, owner="w1")
    writeback: Any = SimpleNamespace(release=lambda *a: None, event=None)
    return ClaimBuffer(concurrency, per_endpoint, health, writeback)


def _claimed(n: int, ep: str) -> Claimed:
    return Claimed(f"dlv_{ep}_{n}", "t1", ep, "x.y", 0, 0, "{}", 1, f"evt_{ep}_{n}")


def test_a_window_takes_its_share_and_over_it_only_what_a_second_claim_brought() -> None:
    """With more busy endpoints than fit at full limit, each endpoint's window is its share
    of the slots; rows of a claim that ran beside another (both were asked for the same
    windows) may go ``over`` it by as many as that claim could bring, and no further."""
    buffer = _buffer(4, 2)  # two endpoints fit at full limit
    for ep in ("a", "b", "c", "d", "e"):
        assert buffer.add(_claimed(0, ep), buffer.share())
    share = buffer.share()
    assert share == 1  # 4 slots among 5 busy endpoints
    assert buffer.full() == ["a", "b", "c", "d", "e"]
    assert not buffer.add(_claimed(1, "a"), share)  # full: given back
    assert buffer.add(_claimed(1, "a"), share, over=1)
    assert not buffer.add(_claimed(2, "a"), share, over=1)
    assert buffer.buffered == 6 and len(buffer.queues["a"]) == 2


def test_the_shares_cover_every_slot() -> None:
    """Shares are rounded up: 20 slots among 12 busy endpoints are 2 an endpoint, so the
    windows hold 24 starts, more than the slots (the slot loop takes 20 of them); rounded
    down, each endpoint had 1 and 8 of the 20 slots stayed idle."""
    buffer = _buffer(20, 10)
    for ep in range(12):
        for n in range(10):
            buffer.add(_claimed(n, f"ep{ep}"))
    assert buffer.share() == 2
    started = []
    while (c := buffer.take()) is not None:
        started.append(c.endpoint_id)
    assert len(started) == 24
    assert max(started.count(f"ep{ep}") for ep in range(12)) == 2
