"""The hookseal-sender command line, against a settings file written by ``init``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hookseal_sender.catalog import _catalog
from hookseal_sender.cli import main


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["init", "--dir", str(tmp_path), "--allow-local"]) == 0
    out = capsys.readouterr().out
    assert "hsk_" in out
    settings = tmp_path / "hookseal-sender.json"
    assert (tmp_path / "master.key").stat().st_mode & 0o077 == 0

    def run(*args: str, tenant: str = "acme") -> tuple[int, str]:
        code = main(["--config", str(settings), "--tenant", tenant, *args])
        return code, capsys.readouterr().out

    return run


def test_full_journey(cli) -> None:  # type: ignore[no-untyped-def]
    code, out = cli("endpoints", "add", "http://127.0.0.1:9/hook", "--allow-local",
                    "--event-type", "invoice.paid", "--description", "billing")
    assert code == 0 and "whsec_" in out
    eid = re.search(r"ep_[0-9a-f]+", out).group(0)  # type: ignore[union-attr]
    code, out = cli("endpoints", "list")
    assert eid in out and "billing" in out
    assert cli("endpoints", "list", tenant="other")[1].count("ep_") == 0
    data = json.dumps(_catalog().example("invoice.paid"))
    code, out = cli("send", "invoice.paid", "--data", data)
    assert code == 0 and "1 deliveries" in out
    did = re.search(r"dlv_[0-9a-f]+", out).group(0)  # type: ignore[union-attr]
    assert cli("send", "invoice.paid", "--data", "{bad")[0] == 1
    assert cli("send", "invoice.paid", "--data", "{}")[0] == 1
    code, out = cli("deliveries", "list")
    assert did in out and "pending" in out
    code, out = cli("deliveries", "show", did)
    assert code == 0 and '"type":"invoice.paid"' in out.replace(" ", "")
    assert cli("deliveries", "show", did, tenant="other")[0] == 1
    code, out = cli("endpoints", "keys", eid)
    assert code == 0 and "whpk_" in out
    code, out = cli("endpoints", "rotate", eid, "--overlap", "60")
    assert code == 0 and "whsec_" in out
    assert cli("endpoints", "pause", eid)[0] == 0
    assert cli("endpoints", "resume", eid)[0] == 0
    assert cli("endpoints", "update", eid, "--description", "payments")[0] == 0
    assert "payments" in cli("endpoints", "list")[1]
    code, out = cli("endpoints", "ping", eid)
    assert code == 0 and "test.ping" in out
    code, out = cli("deliveries", "cancel", "--endpoint", eid)
    assert code == 0 and "Cancelled 2" in out
    code, out = cli("deliveries", "replay", "--status", "cancelled")
    assert code == 1 and "2 deliveries match" in out  # not confirmed
    code, out = cli("deliveries", "replay", "--status", "cancelled", "--yes")
    assert code == 0 and "Replaying 2" in out
    assert cli("purge")[0] == 0
    assert cli("endpoints", "delete", eid)[0] == 0
    assert eid not in cli("endpoints", "list")[1]


def test_refused_destination_is_an_error(cli) -> None:  # type: ignore[no-untyped-def]
    code, out = cli("endpoints", "add", "https://169.254.169.254/")
    assert code == 1 and "destination_refused" in out


def test_serve_runs_workers_and_admin_api(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    import httpx

    from ._receiver import Receiver
    from .conftest import wait_for

    assert main(["init", "--dir", str(tmp_path), "--allow-local"]) == 0
    settings = tmp_path / "hookseal-sender.json"
    key = next(iter(json.loads(settings.read_text())["api_keys"]))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    recv = Receiver().start()
    proc = subprocess.Popen([sys.executable, "-m", "hookseal_sender.cli", "--config",
                             str(settings), "serve", "--port", str(port)])
    try:
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {key}"}

        def up() -> bool:
            try:
                return httpx.get(f"{base}/healthz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 20, 0.1)
        # Local destinations need allow_local on the endpoint; the API never sets it, so
        # register through the library on the same store (as a provider's app would).
        from hookseal_sender import Sender, SenderConfig
        from hookseal_sender.cli import load_settings

        st = load_settings(str(settings))
        lib = Sender(SenderConfig(database=st["database"], master_key_file=st["master_key_file"],
                                  allow_local=True))
        lib.create_endpoint("acme", recv.route("/srv"), allow_local=True)
        lib.close()
        sent = httpx.post(f"{base}/v1/tenants/acme/events", headers=auth, json={
            "type": "invoice.paid", "data": _catalog().example("invoice.paid")})
        assert sent.status_code == 202, sent.text
        did = sent.json()["deliveries"][0]["delivery_id"]

        def delivered() -> bool:
            r = httpx.get(f"{base}/v1/tenants/acme/deliveries/{did}", headers=auth)
            return bool(r.json()["delivery"]["status"] == "delivered")

        wait_for(delivered, 20, 0.1)
        assert len(recv.requests("/srv")) == 1
    finally:
        proc.terminate()
        proc.wait(15)
        recv.stop()


def _ids(out: str, prefix: str = "dlv") -> list[str]:
    return re.findall(rf"{prefix}_[0-9a-f]+", out)


def test_send_file_stops_at_a_bad_line_and_keeps_the_lines_before(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("endpoints", "add", "http://127.0.0.1:9/hook", "--allow-local")
    good = json.dumps({"type": "invoice.paid", "data": _catalog().example("invoice.paid")})
    lines = tmp_path / "events.jsonl"
    lines.write_text("\n".join([good, "", good, json.dumps({"type": "invoice.paid",
                                                             "data": {}}), good]) + "\n")
    code, out = cli("send", "--file", str(lines))
    assert code == 1
    assert "Queued 2 events (2 deliveries)" in out
    assert "line 4: error (invalid_payload)" in out  # the file's line, blank lines counted
    assert "Stopped at line 4" in out and "\x1b" not in out  # plain text off a terminal
    assert len(_ids(cli("deliveries", "list")[1])) == 2  # line 5 was not sent
    lines.write_text(f"{good}\nnot json\n")
    code, out = cli("send", "--file", str(lines))
    assert code == 1 and "Queued 1 events" in out and "line 2: error (invalid_request)" in out
    lines.write_text(f"{good}\n" + json.dumps({"type": "invoice.paid", "dat": {}}) + "\n")
    assert "line 2: error (invalid_request)" in cli("send", "--file", str(lines))[1]
    lines.write_text(f"{good}\n{good}\n\n")
    code, out = cli("send", "--file", str(lines))
    assert code == 0 and "Queued 2 events (2 deliveries)" in out and "2/2" in out
    assert len(_ids(cli("deliveries", "list")[1])) == 2 + 1 + 1 + 2
    assert cli("send", "--file", str(tmp_path / "missing.jsonl"))[0] == 1
    assert cli("send")[0] == 2
    assert cli("send", "invoice.paid", "--file", str(lines))[0] == 2


def test_purge_shows_progress_and_a_summary(cli) -> None:  # type: ignore[no-untyped-def]
    for tenant in ("acme", "other"):
        cli("endpoints", "add", "http://127.0.0.1:9/hook", "--allow-local", tenant=tenant)
    data = json.dumps(_catalog().example("invoice.paid"))
    for _ in range(3):
        cli("send", "invoice.paid", "--data", data)
    cli("send", "invoice.paid", "--data", data, tenant="other")
    assert "Cancelled 3" in cli("deliveries", "cancel", *_ids(cli("deliveries", "list")[1]))[1]
    code, out = cli("purge", "--older-than-days", "-1", "--batch-size", "2")
    assert code == 0
    assert "Purged 3 finished deliveries." in out and "3/3" in out and "\x1b" not in out
    assert _ids(cli("deliveries", "list")[1]) == []
    assert len(_ids(cli("deliveries", "list", tenant="other")[1])) == 1  # pending: kept
    assert cli("purge", "--batch-size", "0")[0] == 1


@pytest.mark.timeout(60)
def test_replay_wait_follows_the_deliveries_to_the_end(cli, tmp_path: Path, receiver) -> None:  # type: ignore[no-untyped-def]
    from hookseal_sender import BackgroundWorker, Sender, SenderConfig
    from hookseal_sender.cli import load_settings

    ok = _ids(cli("endpoints", "add", receiver.route("/ok"), "--allow-local")[1], "ep")[0]
    receiver.route("/bad", statuses=[400])  # never retried: ends "failed"
    cli("endpoints", "add", receiver.url("/bad"), "--allow-local")
    data = json.dumps(_catalog().example("invoice.paid"))
    for _ in range(2):
        cli("send", "invoice.paid", "--data", data)
    dids = _ids(cli("deliveries", "list")[1])
    assert len(dids) == 4
    cli("deliveries", "cancel", *dids)  # before any worker runs: nothing was sent
    st = load_settings(str(tmp_path / "hookseal-sender.json"))
    lib = Sender(SenderConfig(database=st["database"], master_key_file=st["master_key_file"],
                              allow_local=True, poll_interval=0.02))
    worker = BackgroundWorker(lib).start()
    try:
        code, out = cli("deliveries", "replay", "--status", "cancelled", "--yes", "--wait",
                        "--poll-interval", "0.05")
        assert "Replaying 4" in out and "Waiting for 4 deliveries" in out
        # It returned only once all four were finished, as the store says.
        states = sorted(lib.get_delivery("acme", d).status for d in dids)
        assert states == ["delivered", "delivered", "failed", "failed"]
        assert "Finished: delivered 2, failed 2, dead-lettered 0." in out and "4/4" in out
        assert code == 1  # not everything was delivered
        assert len(receiver.requests("/ok")) == 2 and len(receiver.requests("/bad")) == 2
        one = next(d for d in dids if lib.get_delivery("acme", d).endpoint_id == ok)
        code, out = cli("deliveries", "replay", one, "--wait", "--poll-interval", "0.05")
        assert code == 0 and "Finished: delivered 1, failed 0" in out
        assert lib.get_delivery("acme", one).attempt_count == 2
        assert len(receiver.requests("/ok")) == 3
    finally:
        worker.stop()
        lib.close()


@pytest.mark.timeout(60)
def test_replay_wait_stops_cleanly_on_ctrl_c(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal
    import subprocess
    import sys
    import threading

    from .conftest import wait_for

    cli("endpoints", "add", "http://127.0.0.1:9/hook", "--allow-local")
    data = json.dumps(_catalog().example("invoice.paid"))
    for _ in range(2):
        cli("send", "invoice.paid", "--data", data)
    cli("deliveries", "cancel", *_ids(cli("deliveries", "list")[1]))
    # No worker runs, so the replayed deliveries stay pending until Ctrl-C.
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "hookseal_sender.cli", "--config",
         str(tmp_path / "hookseal-sender.json"), "--tenant", "acme", "deliveries", "replay",
         "--status", "cancelled", "--yes", "--wait", "--poll-interval", "0.05"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "COLUMNS": "250"})
    lines: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        wait_for(lambda: any("Waiting for 2 deliveries" in line for line in lines), 30)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(10)
    out = "".join(lines)
    assert "Stopped waiting (Ctrl-C): 2 of 2 deliveries still pending" in out, out
    assert "Traceback" not in out
