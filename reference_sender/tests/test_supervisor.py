"""The worker supervisor and the ``worker`` command: restarts with backoff, graceful
stops, and SQLite's one worker process per database file."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import hookseal
import pytest
from hookseal_sender import Sender, SenderConfig
from hookseal_sender.catalog import no_validation
from hookseal_sender.cli import load_settings, main
from hookseal_sender.errors import ScaleOutRefusedError
from hookseal_sender.outbox import enqueue
from hookseal_sender.supervisor import (
    EXIT_REFUSED,
    Supervisor,
    check_processes,
    sqlite_worker_lock,
)

from ._pg import PostgresServer
from ._receiver import Receiver
from .conftest import wait_for

GRACEFUL = """
import signal, sys, time
def stop(*_):
    open(sys.argv[1], "a").write("stopped\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
open(sys.argv[1], "a").write("started\\n")
while True:
    time.sleep(0.05)
"""


def test_a_crashing_child_is_restarted_with_growing_backoff(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "hookseal_sender.supervisor")
    sup = Supervisor(lambda i: [sys.executable, "-c", "import sys; sys.exit(5)"], 1,
                     backoff=0.05, backoff_max=0.2).start_background()
    try:
        wait_for(lambda: sup.restarts >= 4, 20, 0.01)
    finally:
        sup.stop()
        sup.join(10)
    delays = [r.getMessage().rsplit(" ", 2)[-2] for r in caplog.records
              if "restarting in" in r.getMessage()]
    assert delays[:4] == ["0.1", "0.1", "0.2", "0.2"]  # 0.05, 0.1, 0.2, then the cap
    assert all("exited (status 5)" in r.getMessage() for r in caplog.records
               if "restarting in" in r.getMessage())
    assert len(sup.pid_history()[1]) == sup.restarts + 1


def test_stop_is_graceful_and_a_stuck_child_is_killed(tmp_path: Path) -> None:
    logs = [tmp_path / f"child{i}" for i in (1, 2)]
    sup = Supervisor(lambda i: [sys.executable, "-c", GRACEFUL, str(logs[i - 1])], 2)
    sup.start_background()
    wait_for(lambda: all(p.exists() for p in logs), 20, 0.01)
    sup.stop()
    sup.join(20)
    assert [p.read_text() for p in logs] == ["started\nstopped\n"] * 2
    assert sup.restarts == 0 and sup.pids() == []

    up = tmp_path / "up"
    stuck = Supervisor(lambda i: [sys.executable, "-c",
                                  "import signal, sys, time; signal.signal(signal.SIGTERM, "
                                  "signal.SIG_IGN); open(sys.argv[1], 'w'); time.sleep(60)",
                                  str(up)],
                       1, stop_timeout=0.5)
    stuck.start()
    wait_for(up.exists, 20, 0.01)
    stuck.stop()
    started = time.monotonic()
    assert stuck.supervise() == 1  # killed after the timeout
    assert time.monotonic() - started < 10


def test_a_refusing_child_stops_the_supervisor() -> None:
    sup = Supervisor(lambda i: [sys.executable, "-c", f"import sys; sys.exit({EXIT_REFUSED})"],
                     2).start()
    assert sup.supervise() == EXIT_REFUSED
    assert sup.refused and sup.restarts == 0


def test_sqlite_takes_one_worker_process(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'sender.db'}"
    check_processes(db, 1)
    check_processes("postgresql://h/db", 64)
    with pytest.raises(ScaleOutRefusedError) as exc:
        check_processes(db, 2)
    assert exc.value.code == "scale_out_refused"
    with sqlite_worker_lock(db), pytest.raises(ScaleOutRefusedError,
                                               match="another worker process"), \
            sqlite_worker_lock(db):
        pass
    with sqlite_worker_lock(db):  # released when its holder ends
        pass


def test_worker_command_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--dir", str(tmp_path), "--allow-local"]) == 0
    cfg = str(tmp_path / "hookseal-sender.json")
    capsys.readouterr()
    assert main(["--config", cfg, "worker", "--processes", "2"]) == 1
    assert "scale_out_refused" in capsys.readouterr().out
    assert main(["--config", cfg, "serve", "--workers", "2"]) == 1
    assert "scale_out_refused" in capsys.readouterr().out
    # A second worker on the same file, from any command, is refused by its child.
    with sqlite_worker_lock(load_settings(cfg)["database"]):
        assert main(["--config", cfg, "worker"]) == 1
    assert "refused to start" in capsys.readouterr().out


def _free_ports(n: int) -> int:
    """The first of ``n`` consecutive free ports on 127.0.0.1."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            first = int(s.getsockname()[1])
        if first + n > 65535:
            continue
        try:
            for p in range(first, first + n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return first
    raise AssertionError("no free ports")


def _delivered_metric(port: int) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("hookseal_attempts_total{")
               and 'outcome="delivered"' in line)


@pytest.mark.postgres
def test_worker_command_delivers_on_postgres_and_stops_on_sigterm(
        tmp_path: Path, pg_server: PostgresServer, receiver: Receiver) -> None:
    db = pg_server.create_db(f"wcmd_{int(time.time() * 1000) % 10**8}")
    assert main(["init", "--dir", str(tmp_path), "--database", db, "--allow-local"]) == 0
    key = (tmp_path / "master.key").read_text().strip()
    sender = Sender(SenderConfig(database=db, master_key=key, allow_local=True))
    url = receiver.route("/w")
    created = sender.create_endpoint("t1", url, allow_local=True)
    ep = created.endpoint.id
    ids = [enqueue(sender.store, "t1", "x.y", {"i": i}, validator=no_validation,
                   endpoint_ids=[ep]).deliveries[0][0] for i in range(40)]
    log = tmp_path / "worker.log"
    port = _free_ports(2)
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "hookseal_sender.cli", "--config",
                                 str(tmp_path / "hookseal-sender.json"), "worker",
                                 "--processes", "2", "--metrics-port", str(port)], stderr=err)
        try:
            wait_for(lambda: all(sender.get_delivery("t1", d).status == "delivered"
                                 for d in ids), 60, 0.1)
            wait_for(lambda: log.read_text().count("started (pid") == 2, 20, 0.05)
            # One /metrics per process; together they count every delivery once.
            wait_for(lambda: log.read_text().count("/metrics") == 2, 20, 0.05)
            # A new endpoint series is shown at 0 by its first scrape, its counts after.
            wait_for(lambda: sum(_delivered_metric(port + i) for i in range(2)) == len(ids),
                     20, 0.1)
            # A rotation made elsewhere (here) reaches every worker process: the endpoint's
            # version comes with each claim, and a changed one is loaded again.
            old = created.secret
            new = sender.rotate_secret("t1", ep, overlap=0).secret
            seen = len(receiver.requests("/w"))
            more = [enqueue(sender.store, "t1", "x.y", {"i": i}, validator=no_validation,
                            endpoint_ids=[ep]).deliveries[0][0] for i in range(20)]
            wait_for(lambda: all(sender.get_delivery("t1", d).status == "delivered"
                                 for d in more), 60, 0.1)
            for rec in receiver.requests("/w")[seen:]:
                hookseal.Webhook(new).verify(rec.body, rec.headers)
                with pytest.raises(hookseal.WebhookVerificationError):
                    hookseal.Webhook(old).verify(rec.body, rec.headers)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
    text = log.read_text()
    assert text.count("] INFO stopped") == 2, text  # each child stopped gracefully
    assert "restarting" not in text
    sender.close()


@pytest.mark.postgres
def test_serve_with_worker_processes(tmp_path: Path, pg_server: PostgresServer,
                                     receiver: Receiver) -> None:
    """``serve --workers 2``: the API in this process, two supervised worker processes
    that deliver, all stopped gracefully by one SIGTERM."""
    db = pg_server.create_db(f"wserve_{int(time.time() * 1000) % 10**8}")
    assert main(["init", "--dir", str(tmp_path), "--database", db, "--allow-local"]) == 0
    key = (tmp_path / "master.key").read_text().strip()
    sender = Sender(SenderConfig(database=db, master_key=key, allow_local=True))
    ep = sender.create_endpoint("t1", receiver.route("/s"), allow_local=True).endpoint.id
    ids = [enqueue(sender.store, "t1", "x.y", {"i": i}, validator=no_validation,
                   endpoint_ids=[ep]).deliveries[0][0] for i in range(20)]
    log = tmp_path / "serve.log"
    port = _free_ports(1)
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "hookseal_sender.cli", "--config",
                                 str(tmp_path / "hookseal-sender.json"), "serve", "--workers",
                                 "2", "--port", str(port)], stderr=err)
        try:
            wait_for(lambda: all(sender.get_delivery("t1", d).status == "delivered"
                                 for d in ids), 60, 0.1)
            wait_for(lambda: log.read_text().count("] INFO delivering") == 2, 20, 0.05)
            health = urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=10)
            assert health.status == 200  # the API answers beside them
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(40) == 0
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
    text = log.read_text()
    assert text.count("] INFO stopped") == 2, text
    sender.close()
