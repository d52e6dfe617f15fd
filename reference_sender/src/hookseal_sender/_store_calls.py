"""A worker's threads to its store, and its backoff while the database is unreachable."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional, TypeVar

from ._outage import StoreOutage
from .metrics import Metrics
from .storage import Store

logger = logging.getLogger("hookseal_sender.worker")
T = TypeVar("T")

#: Seconds without claims after a claim failed.
CLAIM_RETRY = 1.0
#: The longest pause between claims while the database is unreachable (the pause doubles
#: from :data:`CLAIM_RETRY` at each failure): how late, at most, a worker sees it is back.
CLAIM_RETRY_MAX = 8.0

#: The worker-exception metric's site for each store call that can fail unexpectedly.
_EXCEPTION_SITE = {"probe claim": "claim", "store maintenance": "maintenance",
                   "lease renewal": "maintenance", "breaker": "health"}


class StoreCalls:
    """Runs a worker's blocking store calls on threads of their own, and notes failures.

    Args:
        store: The store.
        metrics: Counts unexpected failures.
        outage: Logs a lost database once per outage (shared by the process).
        parallel_claims: Give claims two threads (and connections) of their own, so a
            claim's round trip overlaps the write-back of results (PostgreSQL). Without,
            claims share the store thread (SQLite: one writer at a time anyway, and its
            lock wait sleeps).
    """

    def __init__(self, store: Store, metrics: Metrics, outage: StoreOutage, *,
                 parallel_claims: bool) -> None:
        self.store = store
        self._metrics = metrics
        self._outage = outage
        #: The store thread: write-backs, endpoint loads, health.
        self.db = ThreadPoolExecutor(1, thread_name_prefix="hookseal-db")
        #: Checkpoints and purges run on a thread (and connection) of their own: a WAL
        #: checkpoint can take tens of milliseconds, which on the claim/complete thread
        #: would leave every slot waiting for work.
        self.maintenance = ThreadPoolExecutor(1, thread_name_prefix="hookseal-maintenance")
        #: The claims' threads.
        self.claims = (ThreadPoolExecutor(2, thread_name_prefix="hookseal-claims")
                       if parallel_claims else self.db)
        self._backoff = CLAIM_RETRY  # the next pause while the database is unreachable

    async def call(self, fn: Callable[..., T], *args: Any,
                   pool: Optional[ThreadPoolExecutor] = None) -> T:
        """Run a blocking store call on ``pool`` (default: the store thread).

        Args:
            fn: The call.
            *args: Its arguments.
            pool: The thread to run it on.

        Returns:
            What ``fn`` returned.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool or self.db, lambda: fn(*args))

    def unavailable(self, exc: BaseException) -> bool:
        """Whether ``exc`` means the database is unreachable (see ``Store.unavailable``)."""
        return self.store.unavailable(exc)

    def trouble(self, where: str, exc: BaseException, retry: Optional[str] = None) -> float:
        """Note a failed store call; returns the seconds to wait before the next claim.

        A lost database is logged once per outage (one line, see :class:`StoreOutage`) and
        retried with backoff, doubling from :data:`CLAIM_RETRY` to :data:`CLAIM_RETRY_MAX`;
        any other failure is logged with its traceback and retried after
        :data:`CLAIM_RETRY`.

        Args:
            where: What was being done (``claim``, ``write-back``, ...).
            exc: The error.
            retry: When the caller tries again, for the log line, where that is not in
                :data:`CLAIM_RETRY` seconds (``"at the next renewal, in 20 s"``).

        Returns:
            Seconds.
        """
        if not self.store.unavailable(exc):
            when = retry if retry is not None else f"in {CLAIM_RETRY:.0f} s"
            logger.error("%s failed; retrying %s", where, when, exc_info=exc)
            # The metric's label is one of a few fixed sites, not this free text.
            self._metrics.exception(_EXCEPTION_SITE.get(where, where))
            return CLAIM_RETRY
        self._outage.failed(where, exc)
        pause = self._backoff
        self._backoff = min(CLAIM_RETRY_MAX, self._backoff * 2)
        return pause

    def back(self, started: float) -> None:
        """Note a store call that worked: the backoff starts over.

        Args:
            started: When the call began (``time.monotonic()``; see
                :meth:`StoreOutage.recovered`).
        """
        self._backoff = CLAIM_RETRY
        self._outage.recovered(started)

    def shutdown(self) -> None:
        """Wait for the calls in progress and end the threads."""
        self.db.shutdown(wait=True)
        self.claims.shutdown(wait=True)
        self.maintenance.shutdown(wait=True)
