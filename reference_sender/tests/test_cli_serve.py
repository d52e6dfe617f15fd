"""What an operator sees: the real ``hookseal-sender serve`` in a subprocess (loopback,
a temporary SQLite database), its start output and delivery log lines, and the CLI's
``deliveries list`` at 80 columns and with ``--json`` against the same database."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
from hookseal_sender import Sender, SenderConfig
from hookseal_sender._cli_serve import mask_database
from hookseal_sender.catalog import event_catalog
from hookseal_sender.cli import load_settings, main

from ._receiver import Receiver
from .conftest import wait_for

CLI = [sys.executable, "-m", "hookseal_sender.cli"]


class Served:
    """A running ``serve`` and the lines of its stderr, read as they come."""

    def __init__(self, settings: Path, *extra: str) -> None:
        self.settings = settings
        self.proc = subprocess.Popen([*CLI, "--config", str(settings), "serve", "--port", "0",
                                      *extra], stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env={**os.environ, "COLUMNS": "200"})
        self.lines: list[str] = []
        self._new: queue.SimpleQueue[str] = queue.SimpleQueue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._new.put(line.rstrip("\n"))

    def line(self, match: Callable[[str], bool], timeout: float = 20.0) -> str:
        """The first line (seen or to come) that ``match`` accepts, within ``timeout``."""
        for seen in self.lines:
            if match(seen):
                return seen

        def arrived() -> Any:
            while True:
                try:
                    got = self._new.get_nowait()
                except queue.Empty:
                    return None
                self.lines.append(got)
                if match(got):
                    return got

        found: str = wait_for(arrived, timeout, 0.02)
        return found

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        return self.proc.wait(20)


@pytest.fixture
def settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["init", "--dir", str(tmp_path), "--allow-local"]) == 0
    capsys.readouterr()
    return tmp_path / "hookseal-sender.json"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    recv = Receiver().start()
    yield recv
    recv.stop()


def _endpoint(settings: Path, url: str, tenant: str = "acme") -> str:
    """Register a local endpoint through the library, as a provider's app would."""
    st = load_settings(str(settings))
    lib = Sender(SenderConfig(database=st["database"], master_key_file=st["master_key_file"],
                              allow_local=True))
    try:
        return lib.create_endpoint(tenant, url, allow_local=True,
                                   description="billing system of the customer").endpoint.id
    finally:
        lib.close()


def _cli(settings: Path, *args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "--config", str(settings), "--tenant", "acme", *args],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "COLUMNS": str(columns)})


def test_serve_start_output_delivery_lines_and_what_the_cli_shows(
        settings: Path, receiver: Receiver) -> None:
    ep = _endpoint(settings, receiver.route("/hook"))
    served = Served(settings)
    try:
        first = served.line(lambda s: "serving on" in s)
        base = re.search(r"serving on (http://127\.0\.0\.1:\d+)", first).group(1)  # type: ignore[union-attr]
        served.line(lambda s: s.startswith("Press Ctrl-C to stop"))
        start = "\n".join(served.lines)
        db = load_settings(str(settings))["database"]
        # Where everything is, each a URL that answers.
        assert f"Admin API  {base}/v1/" in start
        assert f"Portal     {base}/portal/" in start
        assert f"Metrics    {base}/metrics" in start
        assert f"Database   {db}" in start
        assert "Workers    on: 100 attempts in flight, at most 10 per endpoint" in start
        assert "Logs       info and above, text, on stderr" in start
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.get(f"{base}/metrics").status_code == 401  # there, and guarded

        data = json.dumps(event_catalog().example("invoice.paid"))
        sent = _cli(settings, "send", "invoice.paid", "--data", data)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        did = re.search(r"dlv_[0-9a-f]+", sent.stdout).group(0)  # type: ignore[union-attr]
        line = served.line(lambda s: did in s and "hookseal_sender.delivery" in s)
        assert f"delivery {did} delivered (200, attempt 1," in line
        for field in (f"endpoint_id={ep}", "event_type=invoice.paid", "status=delivered",
                      "http_status=200", "attempt=1", "latency_ms="):
            assert field in line, line
        assert len(receiver.requests("/hook")) == 1

        # The table at 80 columns: both ids whole, copyable into `deliveries show`.
        table = _cli(settings, "deliveries", "list", columns=80)
        assert table.returncode == 0
        assert all(len(row) <= 80 for row in table.stdout.splitlines()), table.stdout
        row = next(r for r in table.stdout.splitlines() if r.startswith("dlv_"))
        shown_id, shown_ep = row.split()[:2]
        assert (shown_id, shown_ep) == (did, ep)
        assert "delivered" in row
        show = _cli(settings, "deliveries", "show", shown_id)
        assert show.returncode == 0 and '"type": "invoice.paid"' in show.stdout

        listed = json.loads(_cli(settings, "deliveries", "list", "--json").stdout)
        assert [(d["id"], d["endpoint_id"], d["status"], d["attempt_count"])
                for d in listed["deliveries"]] == [(did, ep, "delivered", 1)]
        assert listed["next_cursor"] is None
        one = json.loads(_cli(settings, "deliveries", "show", did, "--json").stdout)
        assert json.loads(one["delivery"]["payload"])["data"] == json.loads(data)
        assert one["delivery"]["attempts"][0]["status_code"] == 200
    finally:
        code = served.stop()
    assert code == 0
    assert served.line(lambda s: s.endswith("hookseal_sender.serve stopped event=stopped"))


def test_serve_json_logs_are_one_object_per_line(settings: Path, receiver: Receiver) -> None:
    _endpoint(settings, receiver.route("/gone", statuses=[410]))
    served = Served(settings, "--log-format", "json")
    try:
        first = json.loads(served.line(lambda s: '"serving"' in s))
        assert first["event"] == "serving" and first["level"] == "info"
        assert first["api_url"].endswith("/v1/") and first["workers"] is True
        assert first["portal_url"] == first["api_url"][:-4] + "/portal/"
        assert first["log_format"] == "json" and first["concurrency"] == 100
        data = json.dumps(event_catalog().example("invoice.paid"))
        assert _cli(settings, "send", "invoice.paid", "--data", data).returncode == 0
        attempt = json.loads(served.line(lambda s: '"event": "attempt"' in s))
        assert attempt["status"] == "failed" and attempt["http_status"] == 410
        assert attempt["event_type"] == "invoice.paid" and attempt["attempt"] == 1
        assert attempt["level"] == "info" and attempt["latency_ms"] >= 0
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", attempt["time"])
    finally:
        assert served.stop() == 0
    for line in served.lines:  # nothing but JSON objects on stderr
        assert isinstance(json.loads(line), dict), line


def test_serve_warning_level_drops_the_attempt_lines(settings: Path,
                                                     receiver: Receiver) -> None:
    _endpoint(settings, receiver.route("/hook"))
    served = Served(settings, "--log-level", "warning", "--no-worker")
    try:
        start = served.line(lambda s: s.startswith("Press Ctrl-C"))
        assert start and any("Workers    off (--no-worker)" in s for s in served.lines)
        assert any("Logs       warning and above" in s for s in served.lines)
    finally:
        assert served.stop() == 0
    assert not any("hookseal_sender.delivery" in s or "stopped" in s for s in served.lines)


def test_serve_refuses_a_port_in_use(settings: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([*CLI, "--config", str(settings), "serve", "--port", str(port)],
                             capture_output=True, text=True, timeout=60, check=False,
                             env={**os.environ, "COLUMNS": "200"})
    assert out.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in out.stdout
    assert "pick another --port" in out.stdout


@pytest.mark.parametrize(("url", "shown"), [
    ("sqlite:////var/lib/hs.db", "sqlite:////var/lib/hs.db"),
    ("postgresql://hs:s3cr%40t@db:5432/hs?sslmode=require",
     "postgresql://hs:***@db:5432/hs?sslmode=require"),
    ("postgresql://hs@db/hs", "postgresql://hs@db/hs"),
    ("postgresql:///hs?user=hs&password=zz", "postgresql:///hs?user=hs&password=***"),
    ("postgresql://hs:pw@[::1]:5432/hs", "postgresql://hs:***@[::1]:5432/hs"),
])
def test_database_passwords_are_masked(url: str, shown: str) -> None:
    assert mask_database(url) == shown
