"""One log line when the store becomes unreachable, one when it is back: no storm."""

from __future__ import annotations

import logging
import threading
import time
from typing import Optional

logger = logging.getLogger("hookseal_sender.store")


class StoreOutage:
    """Tracks whether the store (the database) is reachable, for every part of a process.

    Workers, the admin API and the portal each notice a lost database on their own
    connections; this tracker makes the process log it once per outage, without a
    traceback, and once more when a call succeeds again (with how long it lasted).
    Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since: Optional[float] = None

    @property
    def down(self) -> bool:
        """Whether the last store call seen failed for want of the database."""
        return self._since is not None

    def failed(self, where: str, exc: BaseException) -> None:
        """Note a store call that failed because the database is unreachable.

        Args:
            where: What was being done (``claim``, ``admin API``, ...).
            exc: The driver's error (its first line goes into the log line).
        """
        with self._lock:
            if self._since is not None:
                return
            self._since = time.monotonic()
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        logger.warning("database unreachable (%s: %s: %s); deliveries wait, nothing is lost; "
                       "reconnecting with backoff", where, type(exc).__name__, first[:300])

    def recovered(self, started: float) -> None:
        """Note a store call that succeeded (cheap when there was no outage).

        Args:
            started: When the call began (``time.monotonic()``). Only a call begun after
                the outage was noted proves the database is back: while a server shuts
                down, a call already running on a connection it has not ended yet still
                succeeds, and counting it logged "reachable again" and then a second
                "unreachable" for one outage.
        """
        if self._since is None or started < self._since:
            return
        with self._lock:
            since = self._since
            if since is None or started < since:
                return
            self._since = None
        logger.warning("database reachable again after %.1f s; delivering",
                       time.monotonic() - since)
