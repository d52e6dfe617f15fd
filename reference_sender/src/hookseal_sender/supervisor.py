"""Worker processes: a supervisor that starts N, restarts a crashed one, stops all.

``hookseal-sender worker --processes N`` runs one :class:`Supervisor` over N children,
each ``python -m hookseal_sender._worker_process`` (one :class:`~hookseal_sender.Worker`
on its own event loop and store connections). A child that exits without being asked is
started again after a backoff (1 s, doubling to 30 s while it keeps crashing, back to
1 s once it ran for a minute), each time with a log line. SIGTERM or SIGINT stops them
all gracefully: each child finishes its attempts in flight (up to the worker's drain
timeout), gives back what it claimed but did not start, writes back its results and
exits; one that does not within ``stop_timeout`` is killed, and its leases come due again
when they run out, as after a crash.

Several processes share one queue only on PostgreSQL; on SQLite (one writer) there is
one worker process per database file, and :func:`check_processes` and
:func:`sqlite_worker_lock` refuse more (:class:`~hookseal_sender.errors.ScaleOutRefusedError`).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Callable, Optional, Union

from .errors import ScaleOutRefusedError

__all__ = ["EXIT_REFUSED", "RESTART_BACKOFF", "RESTART_BACKOFF_MAX", "STABLE_AFTER",
           "Supervisor", "check_processes", "sqlite_path", "sqlite_worker_lock",
           "worker_command"]

logger = logging.getLogger("hookseal_sender.supervisor")

#: Seconds before the first restart of a crashed child; doubled for each crash in a row.
RESTART_BACKOFF = 1.0
#: The longest wait before a restart.
RESTART_BACKOFF_MAX = 30.0
#: Seconds a child must run for its next crash to count as the first in a row again.
STABLE_AFTER = 60.0
#: A child's exit status for "refused to start" (a second worker on a SQLite file): the
#: supervisor does not restart it, it stops and reports the refusal.
EXIT_REFUSED = 3
#: How often the supervisor looks at its children (a stop request wakes it at once).
_TICK = 0.1


def sqlite_path(database: str) -> Optional[str]:
    """The file of a SQLite database URL, or ``None`` for PostgreSQL.

    Args:
        database: ``sqlite:///path.db``, a bare path, or ``postgresql://...``.

    Returns:
        The path (``":memory:"`` for an in-memory database), or ``None``.
    """
    if database.startswith(("postgresql://", "postgres://", "host=")):
        return None
    return database[len("sqlite:///"):] if database.startswith("sqlite:///") else database


def check_processes(database: str, processes: int) -> None:
    """Refuse more worker processes than the store supports.

    PostgreSQL takes any number (on any number of hosts): claims lease disjoint rows
    (``SKIP LOCKED``) and cap each endpoint's leases across all of them. SQLite has one
    writer, and the per-endpoint limits of a worker hold within its process, so one
    worker process per database file.

    Args:
        database: The settings' database URL.
        processes: Worker processes asked for.

    Raises:
        ScaleOutRefusedError: More than one on SQLite.
    """
    if processes > 1 and sqlite_path(database) is not None:
        raise ScaleOutRefusedError(
            f"{processes} worker processes on SQLite ({database}): SQLite has one writer "
            "and the per-endpoint limits hold within one process, so it takes one worker "
            "process per database file. Use PostgreSQL to run more (any number of "
            "processes and hosts share its queue)")


@contextlib.contextmanager
def sqlite_worker_lock(database: str) -> Iterator[None]:
    """Hold the SQLite database's worker lock while delivering (no-op on PostgreSQL).

    An exclusive ``flock`` on ``<database>.worker-lock``: a second worker process on the
    same file, from another ``worker`` or ``serve`` command on this host, is refused at
    once. The lock goes with the process, however it ends.

    Args:
        database: The settings' database URL.

    Raises:
        ScaleOutRefusedError: Another process holds it.
    """
    path = sqlite_path(database)
    if path is None or path == ":memory:" or path.startswith("file:"):
        yield
        return
    lock_file = Path(path + ".worker-lock")
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ScaleOutRefusedError(
                f"another worker process delivers from {path} already (it holds "
                f"{lock_file}): SQLite takes one worker process per database file; use "
                "PostgreSQL to run more") from None
        yield
    finally:
        os.close(fd)


def worker_command(config: Union[str, Path], index: int, *,
                   metrics_port: Optional[int] = None,
                   metrics_host: str = "127.0.0.1") -> list[str]:
    """The command of one worker child: ``python -m hookseal_sender._worker_process``.

    Args:
        config: The settings file.
        index: The child's number (1-based), for its log lines.
        metrics_port: With it, child ``index`` serves its own ``/metrics`` on
            ``metrics_port + index - 1`` (one listener per process: each has its own
            counters, and Prometheus sums them).
        metrics_host: The address those listeners bind.

    Returns:
        The argument vector.
    """
    cmd = [sys.executable, "-m", "hookseal_sender._worker_process", "--config",
           str(Path(config).resolve()), "--index", str(index)]
    if metrics_port is not None:
        cmd += ["--metrics-port", str(metrics_port + index - 1), "--metrics-host", metrics_host]
    return cmd


@dataclass
class _Child:
    index: int
    proc: Optional[subprocess.Popen[bytes]] = None
    started: float = 0.0
    crashes: int = 0  # in a row
    restart_at: Optional[float] = None  # monotonic, while waiting to restart
    history: list[int] = field(default_factory=list)  # every pid it had


class Supervisor:
    """Runs ``processes`` children, restarts any that exits unasked, stops all on request.

    Args:
        command: A child's argument vector, given its 1-based index.
        processes: How many children.
        stop_timeout: Seconds a graceful stop waits for the children before killing them.
        backoff: Seconds before the first restart of a crashed child (doubled per crash
            in a row, up to ``backoff_max``).
        backoff_max: The longest wait before a restart.
        stable_after: Seconds a child must run for its crash count to start over.
        stderr: Where the children's standard error goes (default: the supervisor's).
    """

    def __init__(self, command: Callable[[int], Sequence[str]], processes: int, *,
                 stop_timeout: float = 30.0, backoff: float = RESTART_BACKOFF,
                 backoff_max: float = RESTART_BACKOFF_MAX,
                 stable_after: float = STABLE_AFTER,
                 stderr: Optional[IO[bytes]] = None) -> None:
        if processes < 1:
            raise ValueError(f"processes must be at least 1, not {processes}")
        self._command = command
        self._children = [_Child(i) for i in range(1, processes + 1)]
        self.stop_timeout = stop_timeout
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self._stderr = stderr
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        #: Set when a child refused to start (:data:`EXIT_REFUSED`): the supervisor stops.
        self.refused = False
        #: Restarts made so far.
        self.restarts = 0

    # what the children are ----------------------------------------------------
    def pids(self) -> list[int]:
        """The pids of the children running now."""
        return [c.proc.pid for c in self._children
                if c.proc is not None and c.proc.poll() is None]

    def pid_history(self) -> dict[int, list[int]]:
        """Every pid each child (by index) has had, oldest first."""
        return {c.index: list(c.history) for c in self._children}

    # lifecycle -------------------------------------------------------------------
    def start(self) -> Supervisor:
        """Start every child.

        Returns:
            Itself.
        """
        for child in self._children:
            self._launch(child)
        return self

    def stop(self) -> None:
        """Ask the supervisor to stop its children (thread-safe, and safe in a signal
        handler)."""
        self._stop.set()

    def run(self) -> int:
        """Start the children, supervise them until SIGTERM or SIGINT, then stop them.

        Call from the main thread (it installs the signal handlers, and restores the old
        ones when it returns).

        Returns:
            0 if every child stopped gracefully, 1 if one had to be killed, and
            :data:`EXIT_REFUSED` if a child refused to start.
        """
        def on_signal(signum: int, frame: Optional[FrameType]) -> None:
            logger.info("%s: stopping the worker processes", signal.Signals(signum).name)
            self.stop()

        old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            return self.supervise()
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)

    def start_background(self) -> Supervisor:
        """Start the children and supervise them on a daemon thread (``serve``); end with
        :meth:`stop` then :meth:`join`.

        Returns:
            Itself.
        """
        self.start()
        self._thread = threading.Thread(target=self.supervise, name="hookseal-supervisor",
                                        daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: Optional[float] = None) -> None:
        """Wait for the background supervision (:meth:`start_background`) to end."""
        if self._thread is not None:
            self._thread.join(timeout)

    def supervise(self) -> int:
        """Watch the children until :meth:`stop`, restarting those that exit, then stop them.

        Returns:
            As :meth:`run`.
        """
        while not self._stop.is_set():
            now = time.monotonic()
            for child in self._children:
                self._check(child, now)
            self._stop.wait(_TICK)
        return self._stop_all()

    # internals ------------------------------------------------------------------
    def _launch(self, child: _Child) -> None:
        child.proc = subprocess.Popen(list(self._command(child.index)), stdin=subprocess.DEVNULL,
                                      stderr=self._stderr)
        child.started = time.monotonic()
        child.restart_at = None
        child.history.append(child.proc.pid)
        logger.info("worker process %d started (pid %d)", child.index, child.proc.pid)

    def _check(self, child: _Child, now: float) -> None:
        if child.restart_at is not None:
            if now >= child.restart_at:
                self.restarts += 1
                self._launch(child)
            return
        proc = child.proc
        if proc is None:
            return
        code = proc.poll()
        if code is None:
            return
        if code == EXIT_REFUSED:
            logger.error("worker process %d (pid %d) refused to start; stopping",
                         child.index, proc.pid)
            self.refused = True
            child.proc = None
            self._stop.set()
            return
        child.crashes = 1 if now - child.started >= self.stable_after else child.crashes + 1
        delay = min(self.backoff_max, self.backoff * 2 ** (child.crashes - 1))
        child.restart_at = now + delay
        logger.warning("worker process %d (pid %d) exited (%s); restarting in %.1f s",
                       child.index, proc.pid, _describe(code), delay)

    def _stop_all(self) -> int:
        running = [c.proc for c in self._children if c.proc is not None and c.proc.poll() is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        killed = False
        for proc in running:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.error("worker process pid %d did not stop within %.0f s; killing it",
                             proc.pid, self.stop_timeout)
                proc.kill()
                proc.wait()
                killed = True
        logger.info("worker processes stopped")
        if self.refused:
            return EXIT_REFUSED
        return 1 if killed else 0


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"status {code}"
