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
