"""A worker's leases kept alive for as long as it holds their deliveries."""

from __future__ import annotations

import logging
import time
from collections.abc import Set

from ._store_calls import StoreCalls

logger = logging.getLogger("hookseal_sender.worker")

#: Leases are renewed when this share of ``visibility_timeout`` has passed since the last
#: renewal: two more renewals can fail (a slow or lost database) before one runs out.
RENEW_SHARE = 1 / 3


class LeaseKeeper:
    """Renews the leases of every delivery and batch a worker holds, every third of a lease.

    A claim leases its deliveries for ``visibility_timeout`` seconds, so that a worker
    that dies leaves them to the others. A live worker can hold one longer: buffered
    behind a slow endpoint's other deliveries, or with its attempt still out (an
    endpoint's timeout may be longer than the lease). A lease that ran out let another
    worker claim and send the same delivery again, at the same time; a batch waiting
    behind its endpoint's batch in flight, likewise. Renewed while held,
    a lease runs out only when its worker stops renewing it: when it died or lost the
    database.

    Args:
        calls: The worker's store calls.
        owner: The lease token.
        holding: The deliveries the worker holds (buffered, in flight, or awaiting
            their write-back); read, never changed.
        batches: The batches it holds (waiting for their turn or in flight); likewise.
        lease: ``visibility_timeout``, seconds.
    """

    def __init__(self, calls: StoreCalls, owner: str, holding: Set[str], batches: Set[str],
                 lease: float) -> None:
        self._calls = calls
        self._owner = owner
        self._holding = holding
        self._batches = batches
        self._lease = lease
        self._next = time.monotonic() + lease * RENEW_SHARE

    def due(self, mono: float) -> bool:
        """Whether the leases are due for renewal at monotonic time ``mono``."""
        return mono >= self._next

    async def renew(self, mono: float) -> None:
        """Extend the leases of the deliveries and batches held now.

        Args:
            mono: Monotonic time now.
        """
        self._next = mono + self._lease * RENEW_SHARE
        calls, until = self._calls, time.time() + self._lease
        for renew, ids in ((calls.store.renew, list(self._holding)),
                           (calls.store.renew_batches, list(self._batches))):
            if not ids:
                continue
            try:
                kept = await calls.call(renew, self._owner, ids, until, pool=calls.maintenance)
            except Exception as exc:
                # Not retried sooner: ``_next`` is set already, and two more renewals fit
                # in a lease (:data:`RENEW_SHARE`).
                calls.trouble("lease renewal", exc, retry=(
                    f"at the next renewal, in {self._lease * RENEW_SHARE:.3g} s"))
                return
            if len(kept) < len(ids):  # finished meanwhile, most of them; or re-leased
                logger.debug("renewed %d leases of %d held", len(kept), len(ids))
