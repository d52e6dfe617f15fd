"""Rate limits (contract 4.3): at most ``rate_limit`` sends per second to an endpoint,
across every worker and process sharing the store.

Sends to a rate-limited endpoint take *send slots* from the store
(:meth:`~hookseal_sender.storage.base.Store.take_send_slot`): slots are ``1 / rate``
seconds apart, so no window of one second holds more than ``rate`` sends (a send that
cannot start within :data:`LATE` of its slot takes another). A delivery whose
slot starts within :data:`WAIT_AHEAD` seconds waits for it in the worker and is then sent;
one whose slot is further off takes none and is given back to the queue, due when the next
slot is free, and its endpoint is left out of this worker's claims until then (of many
endpoints waiting at once, those waiting longest: see ``HELD_EXCLUDED``; the others'
deliveries a claim brings are given back the same way). Neither is an attempt: nothing
is recorded, the retry count and the circuit breaker do not see it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Callable

from ._store_calls import StoreCalls
from ._writeback import WriteBack
from .models import Claimed, Endpoint

__all__ = ["LATE", "WAIT_AHEAD", "RateGate"]

#: Seconds ahead a worker takes a slot and waits for it (a later one: the delivery is
#: given back to the queue, due then).
WAIT_AHEAD = 1.0
#: Seconds past its slot a send may still start; later, a new slot is taken.
LATE = 0.05


class RateGate:
    """A worker's gate in front of each attempt to a rate-limited endpoint.

    Args:
        calls: The worker's store calls (slots are taken on the store thread).
        writeback: Where deliveries that must wait longer are given back.
        hold: Leave an endpoint out of claims for some seconds
            (``hold(endpoint_id, seconds)``).
    """

    def __init__(self, calls: StoreCalls, writeback: WriteBack,
                 hold: Callable[[str, float], None]) -> None:
        self._calls = calls
        self._writeback = writeback
        self._hold = hold
        # Endpoints known to have no free slot before then (Unix time): their deliveries
        # are given back without asking the store again.
        self._full_until: dict[str, float] = {}

    def forget(self, endpoint_ids: Iterable[str]) -> None:
        """Drop what is known of idle endpoints' slots (the worker's idle sweep).

        Args:
            endpoint_ids: The endpoints.
        """
        for ep in endpoint_ids:
            self._full_until.pop(ep, None)

    async def admit(self, c: Claimed, ep: Endpoint) -> bool:
        """Wait for a send slot of ``ep`` for ``c``, or give ``c`` back to the queue.

        Args:
            c: The claimed delivery.
            ep: Its endpoint, with a ``rate_limit``.

        Returns:
            ``True`` when ``c`` may be sent now; ``False`` when it was given back, due at
            the endpoint's next free slot.
        """
        assert ep.rate_limit is not None
        while True:
            now = time.time()
            full_until = self._full_until.get(ep.id, 0.0)
            if full_until > now + WAIT_AHEAD:
                self._writeback.release(c.id, full_until)
                return False
            slot, next_at = await self._calls.call(
                self._calls.store.take_send_slot, ep.id, 1.0 / ep.rate_limit, now, WAIT_AHEAD)
            if slot is None:
                self._full_until[ep.id] = next_at
                self._writeback.release(c.id, next_at)
                self._hold(ep.id, max(0.0, next_at - time.time() - WAIT_AHEAD))
                return False
            self._full_until.pop(ep.id, None)
            wait = slot - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            # Woken (or answered) too late: sent now, it would arrive close behind the
            # next slot's send. The slot is left unused (a send fewer, never one more).
            if time.time() - slot <= LATE:
                return True
