"""Fixtures shared by the receiver-side tests (integrations, idempotency, listen/trigger).

Import the fixtures a test module needs from here (``from receiving_fixtures import
redis_url``); pytest registers fixtures found in a test module's namespace.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    """Return a TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: object, timeout: float = 10.0, interval: float = 0.02) -> None:
    """Poll ``condition()`` until it is truthy, failing the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s: {condition}")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start a throw-away redis-server on a free loopback port; yield its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    redis = pytest.importorskip("redis", reason="redis-py missing: pip install 'hookseal[redis]'")
    workdir: Path = tmp_path_factory.mktemp("redis")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)

    def ready() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"redis-server exited with {proc.returncode}")
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        wait_for(ready, timeout=10)
        yield url
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


SECRET = "whsec_dGVzdC1zZWNyZXQtZm9yLXJlY2VpdmluZy10ZXN0cy0zMmI="


def event_body(event_id: str = "evt_1", event_type: str = "test.ping") -> bytes:
    """Return a small envelope as the raw JSON bytes a sender would post."""
    import json

    return json.dumps(
        {"id": event_id, "type": event_type, "created_at": "2026-11-23T12:00:00Z",
         "data": {"message": "hello"}},
        separators=(",", ":"),
    ).encode()


def signed(
    body: bytes, *, secret: str = SECRET, profile: str = "hookseal-v1",
    msg_id: str = "evt_1", timestamp: int | None = None,
) -> dict[str, str]:
    """Return the headers ``hookseal.sign`` produces for ``body``."""
    import hookseal

    headers = hookseal.sign(
        body, secret, profile=profile, msg_id=msg_id, timestamp=timestamp, event_type="test.ping"
    )
    headers["Content-Type"] = "application/json"
    return headers


def rejection_cases() -> list[tuple[str, bytes, dict[str, str], int, str]]:
    """Return ``(name, body, headers, status, code)`` for each way a delivery is refused."""
    import time

    body = event_body()
    good = signed(body)
    old = signed(body, timestamp=int(time.time()) - 3600)
    return [
        ("missing", body, {"Content-Type": "application/json"}, 400, "missing_header"),
        ("malformed", body, {**good, "Hookseal-Signature": "v1=abc"}, 400, "malformed_header"),
        ("tampered", body.replace(b"hello", b"HELLO"), good, 401, "signature_mismatch"),
        ("old", body, old, 401, "timestamp_too_old"),
        ("not_object", b"[1,2]", signed(b"[1,2]"), 400, "invalid_payload"),
    ]


def assert_problem(status: int, content_type: str, payload: dict[str, object],
                   expected_status: int, code: str) -> None:
    """Check an RFC 9457 problem answer carrying ``code``."""
    assert status == expected_status, payload
    assert content_type.startswith("application/problem+json")
    assert payload["code"] == code
    assert payload["status"] == expected_status
    assert payload["type"] == f"urn:hookseal:problem:{code}"
    assert isinstance(payload["title"], str) and payload["title"]
    assert isinstance(payload["detail"], str)


class CaptureServer:
    """A loopback HTTP server in a thread that records POSTs and answers a fixed reply.

    Use as a context manager; ``url`` is ``http://127.0.0.1:PORT/hook``, ``requests``
    holds ``(path, headers, body)`` tuples.
    """

    def __init__(self, status: int = 200, body: bytes = b'{"ok":true}') -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.received = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append((self.path, dict(self.headers.items()), data))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                outer.received.set()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> CaptureServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class Process:
    """A subprocess whose merged stdout/stderr is collected line by line in a thread."""

    def __init__(self, argv: list[str]) -> None:
        import os
        import threading

        env = dict(os.environ, PYTHONUNBUFFERED="1", NO_COLOR="1", TERM="dumb", COLUMNS="200")
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
            encoding="utf-8",
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_output(self, needle: str, timeout: float = 15.0) -> str:
        """Wait until ``needle`` appears in the output; return the output."""
        def seen() -> bool:
            if self.proc.poll() is not None and needle not in self.output:
                self._reader.join(timeout=5)
                if needle not in self.output:
                    pytest.fail(f"process exited ({self.proc.returncode}) before printing "
                                f"{needle!r}:\n{self.output}")
            return needle in self.output

        wait_for(seen, timeout=timeout)
        return self.output

    def stop(self, sig: int | None = None, timeout: float = 15.0) -> int:
        """Send ``sig`` (default SIGTERM), wait for the exit and return its code."""
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM if sig is None else sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"process did not stop within {timeout} s:\n{self.output}")
        self._reader.join(timeout=5)
        return code


def hookseal_command() -> list[str]:
    """The ``hookseal`` console script next to this interpreter (as installed by the extra)."""
    import sys

    script = Path(sys.executable).with_name("hookseal")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "hookseal.cli"]

