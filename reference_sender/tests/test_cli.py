"""The hookseal-sender command line, against a settings file written by ``init``."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

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
        # SIGTERM stops the worker gracefully and exits 0 (uvicorn raised the signal again
        # once it had stopped, and the process died of it before the worker was stopped).
        proc.terminate()
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
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
    assert code == 0 and "Queued 2 events (2 deliveries)" in out
    assert "2/2" not in out  # no progress bar off a terminal: the summary line says it
    assert len(_ids(cli("deliveries", "list")[1])) == 2 + 1 + 1 + 2
    assert cli("send", "--file", str(tmp_path / "missing.jsonl"))[0] == 1
    assert cli("send")[0] == 2
    assert cli("send", "invoice.paid", "--file", str(lines))[0] == 2


def test_progress_bar_on_a_terminal_shows_the_time_left(
        cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from hookseal_sender._cli_output import console

    cli("endpoints", "add", "http://127.0.0.1:9/hook", "--allow-local")
    data = json.dumps(_catalog().example("invoice.paid"))
    for _ in range(3):
        cli("send", "invoice.paid", "--data", data)
    cli("deliveries", "cancel", *_ids(cli("deliveries", "list")[1]))
    monkeypatch.setattr(console, "_force_terminal", True)
    code, out = cli("purge", "--older-than-days", "-1", "--batch-size", "2")
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)
    assert code == 0 and "Purged 3 finished deliveries." in plain
    assert re.search(r"Purging finished deliveries .*3/3 .*100% .*left 0:00:00", plain), plain


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
    assert "Purged 3 finished deliveries." in out and "3/3" not in out and "\x1b" not in out
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
        assert "Finished: delivered 2, failed 2, dead-lettered 0." in out and "4/4" not in out
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


def _secret_of(out: str) -> str:
    return re.search(r"whsec_\S+", out).group(0)  # type: ignore[union-attr]


def test_init_force_never_replaces_the_master_key(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Regression: ``init --force`` beside a database replaced master.key, so no stored
    secret decrypted any more. The key is kept (and said so); the stored secrets still
    sign deliveries."""
    from hookseal_sender import Sender, SenderConfig
    from hookseal_sender.cli import load_settings

    eid = _ids(cli("endpoints", "add", "http://127.0.0.1:9/h", "--allow-local")[1], "ep")[0]
    key_before = (tmp_path / "master.key").read_text()
    old_settings = json.loads((tmp_path / "hookseal-sender.json").read_text())
    assert main(["init", "--dir", str(tmp_path), "--force", "--allow-local"]) == 0
    assert (tmp_path / "master.key").read_text() == key_before
    new_settings = json.loads((tmp_path / "hookseal-sender.json").read_text())
    assert new_settings["api_keys"] != old_settings["api_keys"]  # what --force is for
    assert new_settings["database"] == old_settings["database"]
    st = load_settings(str(tmp_path / "hookseal-sender.json"))
    s = Sender(SenderConfig(database=st["database"], master_key_file=st["master_key_file"],
                            allow_local=True))
    try:
        kinds = {k.kind: k.secret for k in s.store.keys(eid)}  # still decrypt
        assert kinds["hmac"].startswith("whsec_") and kinds["ed25519"].startswith("whsk_")
    finally:
        s.close()
    code, out = cli("endpoints", "list")
    assert code == 0 and eid in out


def test_init_says_it_kept_the_key_and_refuses_what_would_lose_secrets(
        cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    cli("endpoints", "add", "http://127.0.0.1:9/h", "--allow-local")
    settings_file = tmp_path / "hookseal-sender.json"
    before = settings_file.read_text()
    assert main(["init", "--dir", str(tmp_path), "--force"]) == 0
    assert "Kept the existing master key" in capsys.readouterr().out
    # A key that does not decrypt the stored secrets: refused, nothing written.
    key = (tmp_path / "master.key").read_text()
    from hookseal_sender import generate_master_key

    (tmp_path / "master.key").write_text(generate_master_key() + "\n")
    before = settings_file.read_text()
    assert main(["init", "--dir", str(tmp_path), "--force"]) == 1
    out = capsys.readouterr().out
    assert "does not decrypt" in out and "nothing was written" in out
    assert settings_file.read_text() == before
    # No key at all beside a database that holds secrets: refused, no new key made.
    (tmp_path / "master.key").unlink()
    assert main(["init", "--dir", str(tmp_path), "--force"]) == 1
    out = capsys.readouterr().out
    assert "already holds endpoint secrets" in out and not (tmp_path / "master.key").exists()
    assert settings_file.read_text() == before
    (tmp_path / "master.key").write_text(key)
    assert main(["init", "--dir", str(tmp_path), "--force"]) == 0


def test_serve_refuses_a_master_key_that_does_not_decrypt(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A wrong key is one clear error at start, not a traceback per delivery."""
    from hookseal_sender import generate_master_key

    cli("endpoints", "add", "http://127.0.0.1:9/h", "--allow-local")
    (tmp_path / "master.key").write_text(generate_master_key() + "\n")
    code, out = cli("endpoints", "list")
    assert code == 1 and "error (invalid_configuration)" in out and "does not decrypt" in out


def test_files_are_created_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                   cli) -> None:
    """Regression: the SQLite database was created 0644 (umask 022)."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        cli("endpoints", "add", "http://127.0.0.1:9/h", "--allow-local")
        data = json.dumps(_catalog().example("invoice.paid"))
        cli("send", "invoice.paid", "--data", data)
        names = ["master.key", "hookseal-sender.json", "hookseal-sender.db",
                 "hookseal-sender.db-wal", "hookseal-sender.db-shm"]
        import argparse

        from hookseal_sender.cli import open_sender

        s = open_sender(argparse.Namespace(config=str(tmp_path / "hookseal-sender.json")))
        try:
            s.list_endpoints("acme")  # a connection is open: the -wal and -shm files exist
            modes = {n: stat.S_IMODE((tmp_path / n).stat().st_mode) for n in names}
        finally:
            s.close()
    finally:
        os.umask(old)
    assert modes == dict.fromkeys(names, 0o600)


def test_bulk_replay_honours_limit_and_states_the_count(cli) -> None:  # type: ignore[no-untyped-def]
    """Regression: ``deliveries replay --limit 50 --yes`` replayed all 3,004 matches."""
    cli("endpoints", "add", "http://127.0.0.1:9/h", "--allow-local")
    data = json.dumps(_catalog().example("invoice.paid"))
    for _ in range(7):
        cli("send", "invoice.paid", "--data", data)
    dids = _ids(cli("deliveries", "list")[1])
    cli("deliveries", "cancel", *dids)
    code, out = cli("deliveries", "replay", "--status", "cancelled", "--limit", "3")
    assert code == 1  # not confirmed (no terminal, no --yes): nothing replayed
    assert "7 deliveries match; the oldest 3 will be replayed (--limit 3)." in out
    assert "Nothing replayed" in out
    code, out = cli("deliveries", "replay", "--status", "cancelled", "--limit", "3", "--yes")
    assert code == 0 and "Replaying 3 " in out
    assert _ids(cli("deliveries", "list", "--status", "pending")[1]).__len__() == 3
    code, out = cli("deliveries", "replay", "--status", "cancelled", "--yes")
    assert "4 deliveries match; 4 will be replayed." in out and "Replaying 4 " in out
    for bad in ("0", "-5", "x", "10001"):
        with pytest.raises(SystemExit) as exc:
            cli("deliveries", "replay", "--status", "cancelled", "--limit", bad)
        assert exc.value.code == 2
    # Options a subcommand would ignore are refused, not silently dropped.
    with pytest.raises(SystemExit):
        cli("deliveries", "cancel", "--limit", "3", *dids)


def test_rotate_validates_the_overlap_before_rotating(cli) -> None:  # type: ignore[no-untyped-def]
    """Regression: ``--overlap 1e308`` rotated, printed the secret, then crashed."""
    out = cli("endpoints", "add", "http://127.0.0.1:9/h", "--allow-local")[1]
    eid = _ids(out, "ep")[0]
    for bad in ("1e308", "nan", "inf", "-1", "2592001"):
        with pytest.raises(SystemExit) as exc:
            cli("endpoints", "rotate", eid, "--overlap", bad)
        assert exc.value.code == 2
    code, out = cli("endpoints", "rotate", eid, "--overlap", "2592000")
    assert code == 0 and "whsec_" in out and "keeps signing until" in out


def test_settings_file_errors_name_the_file_and_field(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Regression: a malformed settings file was reported as "--data is not JSON", and
    --config naming a directory raised a bare IsADirectoryError."""
    settings = tmp_path / "hookseal-sender.json"
    good = settings.read_text()
    code = main(["--config", str(tmp_path), "endpoints", "list"])
    assert code == 1
    settings.write_text(good[:-5])
    code, out = cli("endpoints", "list")
    assert code == 1 and "--data" not in out
    assert f"settings file {settings} is not JSON" in out.replace("\n", "")
    for field, value, message in [("allow_local", "yes", "must be true or false"),
                                  ("api_keys", ["k"], "must be a JSON object"),
                                  ("max_body_bytes", 0, "must be a positive integer"),
                                  ("allow-local", True, "unknown field 'allow-local'"),
                                  ("smtp", {"hots": "mail"}, "'smtp'")]:
        settings.write_text(json.dumps({**json.loads(good), field: value}))
        code, out = cli("endpoints", "list")
        assert code == 1 and "invalid_configuration" in out, (field, out)
        assert message in out.replace("\n", ""), (field, out)


def test_config_naming_a_directory_is_a_clear_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["--config", str(tmp_path), "endpoints", "list"]) == 1
    out = capsys.readouterr().out
    assert "is a directory" in out and "Traceback" not in out


def test_allow_local_refusal_says_what_to_change(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Regression: ``endpoints add http://127.0.0.1:4300/ --allow-local`` said only
    "only https:// is allowed" when the settings did not allow local destinations."""
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["init", "--dir", str(tmp_path)]) == 0
    capsys.readouterr()
    code = main(["--config", str(tmp_path / "hookseal-sender.json"), "endpoints", "add",
                 "http://127.0.0.1:4300/", "--allow-local"])
    out = capsys.readouterr().out.replace("\n", " ")
    assert code == 1 and "destination_refused" in out
    assert '"allow_local": true' in out and "init --allow-local" in out


def test_send_file_with_an_impossible_name_is_a_typed_error(cli) -> None:  # type: ignore[no-untyped-def]
    """Found by the property test: a NUL in --file raised a bare ValueError."""
    code, out = cli("send", "--file", "a\x00b")
    assert code == 1 and "error (invalid_request)" in out and "--file" in out


def test_admin_link_and_events_correct(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from hookseal_sender.admin import AdminTokens, admin_key
    from hookseal_sender.config import SenderConfig

    code, out = cli("admin-link", "--operator", "ann", "--json", "--base-url",
                    "https://hooks.example.com")
    assert code == 0
    link = json.loads(out)
    assert link["url"].startswith("https://hooks.example.com/admin/login?token=")
    config = SenderConfig(master_key_file=str(tmp_path / "master.key"))
    assert AdminTokens(admin_key(config)).check_link(link["token"]).user == "ann"
    with pytest.raises(SystemExit):  # longer than an hour: a usage error
        cli("admin-link", "--operator", "ann", "--ttl", "7200")
    # events correct: same event id, original kept, audited with the reason.
    assert cli("endpoints", "add", "http://127.0.0.1:9/hook", "--allow-local")[0] == 0
    data = _catalog().example("invoice.paid")
    code, out = cli("send", "invoice.paid", "--data", json.dumps(data))
    event_id = re.search(r"evt_[0-9a-f]+", out).group(0)  # type: ignore[union-attr]
    did = re.search(r"dlv_[0-9a-f]+", out).group(0)  # type: ignore[union-attr]
    data["invoice"]["customer_name"] = "Fixed Name"
    bad = cli("events", "correct", event_id, "--data", '{"invoice": 1}', "--reason", "x")
    assert bad[0] == 1 and "invalid_payload" in bad[1]
    code, out = cli("events", "correct", event_id, "--data", json.dumps(data),
                    "--reason", "name was wrong")
    assert code == 0 and event_id in out and "rev_" in out
    code, out = cli("deliveries", "show", did)
    assert "Fixed Name" in out
def test_typos_name_what_is_allowed_and_the_closest(cli) -> None:  # type: ignore[no-untyped-def]
    code, out = cli("endpoints", "add", "http://127.0.0.1:9/hook", "--allow-local")
    assert code == 0
    code, out = cli("deliveries", "list", tenant="acmee")
    assert code == 1 and "unknown tenant 'acmee'; did you mean acme? (tenants: acme)" in out
    code, out = cli("deliveries", "list", tenant="bad tenant!")
    assert code == 1 and "unknown tenant 'bad tenant!' (tenants: acme)" in out
    assert cli("endpoints", "list", tenant="acmee")[0] == 1
    data = json.dumps(_catalog().example("invoice.paid"))
    code, out = cli("send", "invoice.payed", "--data", data)
    assert code == 1 and "error (invalid_payload): unknown event type 'invoice.payed'; did " \
        "you mean invoice.paid?" in " ".join(out.split())
    code, out = cli("send", "invoice.paid", "--data", data, tenant="acmee")
    assert code == 0 and "0 deliveries queued" in out  # legitimate, but said:
    assert "note: unknown tenant 'acmee'; did you mean acme?" in " ".join(out.split())
    code, out = cli("endpoints", "add", "http://127.0.0.1:9/hook", "--allow-local",
                    "--profile", "stripe")
    assert code == 1 and "unknown profile 'stripe' (profiles: hookseal-v1, " \
        "standard-webhooks)" in " ".join(out.split())
    code, out = cli("endpoints", "add", "http://127.0.0.1:9/hook", "--allow-local",
                    tenant="new-customer")  # a tenant starts with its first endpoint
    assert code == 0


def test_profile_typo_is_refused_by_the_library_with_the_valid_ones(sender) -> None:  # type: ignore[no-untyped-def]
    from hookseal_sender.errors import InvalidRequestError

    with pytest.raises(InvalidRequestError, match=r"unknown profile 'standard-webhook'; did "
                       r"you mean standard-webhooks\? \(profiles: hookseal-v1, "
                       r"standard-webhooks\)"):
        sender.create_endpoint("acme", "https://hooks.example.com/x",
                               profile="standard-webhook")


def test_json_output_of_the_list_and_show_commands(cli) -> None:  # type: ignore[no-untyped-def]
    cli("endpoints", "add", "http://127.0.0.1:9/hook", "--allow-local", "--signing", "both",
        "--description", "billing [/] system")
    eps = json.loads(cli("endpoints", "list", "--json")[1])
    [ep] = eps["endpoints"]
    assert ep["description"] == "billing [/] system" and ep["signing"] == "both"
    assert "allow_local" not in ep and "secret" not in json.dumps(eps)
    keys = json.loads(cli("endpoints", "keys", ep["id"], "--json")[1])
    assert keys["endpoint_id"] == ep["id"] and keys["public_keys"][0].startswith("whpk_")
    data = _catalog().example("invoice.paid")
    for _ in range(3):
        cli("send", "invoice.paid", "--data", json.dumps(data))
    page = json.loads(cli("deliveries", "list", "--json", "--limit", "2")[1])
    assert len(page["deliveries"]) == 2 and page["next_cursor"] == page["deliveries"][1]["id"]
    assert {d["status"] for d in page["deliveries"]} == {"pending"}
    one = json.loads(cli("deliveries", "show", page["deliveries"][0]["id"], "--json")[1])
    assert one["delivery"]["id"] == page["deliveries"][0]["id"]
    assert json.loads(one["delivery"]["payload"])["data"] == data  # raw, as sent
def test_send_with_an_idempotency_key_queues_once(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("endpoints", "add", "http://127.0.0.1:9/hook", "--allow-local")
    data = json.dumps(_catalog().example("invoice.paid"))
    code, out = cli("send", "invoice.paid", "--data", data, "--idempotency-key", "order-1")
    assert code == 0 and "1 deliveries queued" in out
    event = re.search(r"evt_[0-9a-f]+", out).group(0)  # type: ignore[union-attr]
    code, again = cli("send", "invoice.paid", "--data", data, "--idempotency-key", "order-1")
    assert code == 0 and f"Event {event} was sent before" in again and "nothing queued" in again
    other = dict(_catalog().example("invoice.paid"), paid_out_of_band=True)
    code, out = cli("send", "invoice.paid", "--data", json.dumps(other),
                    "--idempotency-key", "order-1")
    assert code == 1 and "idempotency_conflict" in out
    code, out = cli("send", "invoice.paid", "--data", data, "--idempotency-key", "a\nb")
    assert code == 1 and "invalid_request" in out and "idempotency_key" in out
    # A file whose lines carry keys may be sent again after a stop: nothing twice.
    lines = tmp_path / "events.jsonl"
    lines.write_text("".join(json.dumps({"type": "invoice.paid", "data": json.loads(data),
                                         "idempotency_key": f"line-{i}"}) + "\n"
                             for i in range(3)))
    code, out = cli("send", "--file", str(lines))
    assert code == 0 and "Queued 3 events (3 deliveries)" in out
    code, out = cli("send", "--file", str(lines))
    assert code == 0 and "Queued 0 events" in out and "3 lines repeated" in out
    assert len(_ids(cli("deliveries", "list")[1])) == 4
    code, out = cli("send", "--file", str(lines), "--idempotency-key", "k")
    assert code == 2


@pytest.mark.parametrize(("name", "good", "read", "bads", "message"), [
    ("idempotency_retention", 600, lambda s: s.config.idempotency_retention == 600.0,
     (0, -1, "1h", True), "'idempotency_retention' must be a number of seconds > 0"),
    ("metrics_endpoint_series", 3, lambda s: s.config.metrics_endpoint_series == 3
     and s.metrics.endpoint_series.cap == 3,
     (-1, "10", True, 1.5), "'metrics_endpoint_series' must be an integer >= 0"),
])
def test_a_setting_is_read_and_checked(  # type: ignore[no-untyped-def]
        cli, tmp_path: Path, name: str, good: Any, read: Any, bads: tuple[Any, ...],
        message: str) -> None:
    from hookseal_sender.cli import open_sender

    settings = tmp_path / "hookseal-sender.json"
    base = json.loads(settings.read_text())
    settings.write_text(json.dumps({**base, name: good}))
    sender = open_sender(argparse.Namespace(config=str(settings)))
    assert read(sender)
    sender.close()
    for bad in bads:
        settings.write_text(json.dumps({**base, name: bad}))
        code, out = cli("endpoints", "list")
        assert code == 1 and message in out.replace("\n", ""), (bad, out)


@pytest.mark.timeout(60)
def test_replay_batch_and_show_name_the_batch(cli, tmp_path: Path, receiver) -> None:  # type: ignore[no-untyped-def]
    from hookseal_sender import BackgroundWorker, Sender, SenderConfig
    from hookseal_sender.cli import load_settings

    from .conftest import wait_for

    st = load_settings(str(tmp_path / "hookseal-sender.json"))
    lib = Sender(SenderConfig(database=st["database"], master_key_file=st["master_key_file"],
                              allow_local=True, poll_interval=0.02))
    lib.create_endpoint("acme", receiver.route("/batch"), allow_local=True,
                        batch={"max_events": 2, "max_wait": 30})
    data = json.dumps(_catalog().example("invoice.paid"))
    for _ in range(2):
        cli("send", "invoice.paid", "--data", data)
    dids = _ids(cli("deliveries", "list")[1])
    worker = BackgroundWorker(lib).start()
    try:
        wait_for(lambda: all(lib.get_delivery("acme", d).status == "delivered" for d in dids))
        batch_id = lib.get_delivery("acme", dids[0]).batch_id
        assert f"Batch: {batch_id}" in cli("deliveries", "show", dids[0])[1]
        code, out = cli("deliveries", "replay-batch", dids[1], "--wait", "--poll-interval", "0.05")
        assert code == 0 and f"Replaying batch {batch_id} (2 events)" in out
        assert "Finished: delivered 2, failed 0" in out
        assert [r.headers["Hookseal-Webhook-Id"] for r in receiver.requests("/batch")] == \
            [batch_id, batch_id]
    finally:
        worker.stop()
        lib.close()
