"""Run an adapter program once and talk JSON lines to it (contract section 5).

One request object per line in, exactly one response object per line out, in order.
Everything that breaks that rule is reported as an :class:`~.errors.AdapterError`.
"""

from __future__ import annotations

import collections
import json
import os
import queue
import shlex
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from typing import IO, Any, Optional

from .errors import (
    AdapterCrashedError,
    AdapterGarbageError,
    AdapterOutOfOrderError,
    AdapterTimeoutError,
)

__all__ = ["Adapter"]

_EOF = object()


def _shorten(data: bytes, limit: int = 300) -> str:
    text = data.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


class Adapter:
    """A running adapter process answering one JSON object per request line.

    The process is started lazily, once; if it crashes or times out it is restarted for
    the next request (and the failure is raised for the current one), so one crash does
    not hide every later property.

    Args:
        command: the adapter command line, split like a POSIX shell would.
        timeout: seconds each request may take before it counts as a hang.
        env: extra environment variables for the adapter process.
        cwd: working directory of the adapter process.
        startup_timeout: seconds the first answer after a start may take (adapters that
            compile on first use, like ``go build`` or ``tsc``, need them).
    """

    def __init__(
        self,
        command: str,
        *,
        timeout: float = 5.0,
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[str] = None,
        startup_timeout: float = 120.0,
    ) -> None:
        self.command = command
        self.startup_timeout = max(timeout, startup_timeout)
        self._fresh = False
        self.argv = shlex.split(command)
        self.timeout = timeout
        self.env = dict(env or {})
        self.cwd = cwd
        self.starts = 0
        self._proc: Optional[subprocess.Popen[bytes]] = None
        self._lines: queue.Queue[object] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._lock = threading.Lock()
        self._stderr_thread: Optional[threading.Thread] = None

    # -- process management -------------------------------------------------------------

    def _start(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env.update(self.env)
        try:
            proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=self.cwd,
            )
        except OSError as exc:
            raise AdapterCrashedError(f"cannot start adapter {self.command!r}: {exc}") from exc
        self.starts += 1
        self._lines = queue.Queue()
        self._stderr.clear()
        assert proc.stdout is not None and proc.stderr is not None
        threading.Thread(target=self._pump, args=(proc.stdout, self._lines), daemon=True).start()
        self._stderr_thread = threading.Thread(target=self._drain, args=(proc.stderr,),
                                               daemon=True)
        self._stderr_thread.start()
        self._proc = proc
        self._fresh = True
        return proc

    @staticmethod
    def _pump(stream: IO[bytes], lines: queue.Queue[object]) -> None:
        for line in iter(stream.readline, b""):
            lines.put(line)
        lines.put(_EOF)

    def _drain(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            self._stderr.append(line.decode("utf-8", "replace").rstrip("\n"))

    def stderr_tail(self) -> str:
        """Return the last lines the adapter wrote to its standard error."""
        return "\n".join(self._stderr)

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.kill()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass

    @property
    def pid(self) -> Optional[int]:
        """The adapter's process id, or None when it is not running."""
        return self._proc.pid if self._proc is not None else None

    def close(self, goodbye: Optional[Mapping[str, Any]] = None) -> None:
        """Stop the adapter: send ``goodbye`` if given, close its input, wait, then kill."""
        with self._lock:
            proc = self._proc
            if proc is None:
                return
            try:
                if goodbye is not None and proc.poll() is None:
                    assert proc.stdin is not None
                    proc.stdin.write(json.dumps(goodbye).encode() + b"\n")
                    proc.stdin.flush()
                    self._lines.get(timeout=self.timeout)
                if proc.stdin is not None:
                    proc.stdin.close()
                proc.wait(timeout=self.timeout)
            except (OSError, queue.Empty, subprocess.TimeoutExpired):
                pass
            self._kill()

    # -- requests -----------------------------------------------------------------------

    def _crashed(self, proc: subprocess.Popen[bytes], what: str) -> AdapterCrashedError:
        try:
            code = proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        self._kill()
        if self._stderr_thread is not None:
            self._stderr_thread.join(timeout=1)  # let the last stderr lines arrive
        tail = self.stderr_tail()
        msg = f"adapter {what} (exit code {code})"
        if tail:
            msg += f"; its stderr ends with:\n{tail}"
        return AdapterCrashedError(msg)

    def _write(self, proc: subprocess.Popen[bytes], data: bytes) -> None:
        assert proc.stdin is not None
        # A hung adapter stops reading; the watchdog turns a blocked write into a timeout.
        watchdog = threading.Timer(self.timeout + max(1.0, len(data) / 1e6), proc.kill)
        watchdog.start()
        try:
            proc.stdin.write(data)
            proc.stdin.flush()
        except OSError as exc:
            raise self._crashed(proc, f"stopped reading its input ({exc})") from None
        finally:
            watchdog.cancel()

    def _read(self, proc: subprocess.Popen[bytes], deadline: float) -> dict[str, Any]:
        try:
            item = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            self._kill()
            raise AdapterTimeoutError(
                f"adapter did not answer within {self.timeout:g} s"
                + (f" (+{self.startup_timeout:g} s to start)" if self._fresh else "")
                + " (killed; restarted for the next request)"
            ) from None
        if item is _EOF:
            raise self._crashed(proc, "exited or closed its output before answering")
        assert isinstance(item, bytes)
        try:
            answer = json.loads(item)
        except ValueError:
            raise AdapterGarbageError(
                f"adapter answered a line that is not JSON: {_shorten(item)!r}"
            ) from None
        if not isinstance(answer, dict):
            raise AdapterGarbageError(f"adapter answered a non-object: {_shorten(item)!r}")
        return answer

    def request_many(self, requests: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Send requests back to back (pipelined) and read one answer per request, in order.

        Raises:
            AdapterError: the adapter crashed, hung, answered unasked or answered garbage.
        """
        with self._lock:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                if proc is not None:
                    self._kill()
                proc = self._start()
            if not self._lines.empty():
                extra = self._lines.get_nowait()
                if extra is _EOF:
                    raise self._crashed(proc, "exited between requests")
                assert isinstance(extra, bytes)
                self._kill()
                raise AdapterOutOfOrderError(
                    "adapter wrote an unrequested line (more than one answer to an earlier "
                    f"request?): {_shorten(extra)!r}"
                )
            data = b"".join(
                json.dumps(r, ensure_ascii=True).encode("ascii") + b"\n" for r in requests
            )
            budget = self.timeout * max(1, len(requests))
            if self._fresh:
                budget += self.startup_timeout
            deadline = time.monotonic() + budget
            self._write(proc, data)
            answers = [self._read(proc, deadline) for _ in requests]
            self._fresh = False
            return answers

    def request(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Send one request and return the adapter's one answer.

        Raises:
            AdapterError: the adapter crashed, hung, answered unasked or answered garbage.
        """
        return self.request_many([request])[0]
