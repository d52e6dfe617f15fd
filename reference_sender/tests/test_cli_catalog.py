"""``hookseal-sender`` with the ``catalog`` setting: ``event-types`` lists that catalog's
types, ``endpoints add/update --pin`` pins against it, a missing catalog is refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hookseal_sender.cli import main

from ._own_catalog import SUNSET, make_catalog


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> Path:
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["init", "--dir", str(tmp_path), "--allow-local"]) == 0
    capsys.readouterr()
    return tmp_path / "hookseal-sender.json"


def _set_catalog(settings: Path, catalog: str) -> None:
    s = json.loads(settings.read_text())
    settings.write_text(json.dumps({**s, "catalog": catalog}))


def _run(settings: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["--config", str(settings), "--tenant", "acme", *args])
    return code, capsys.readouterr().out


def test_event_types_come_from_the_sample_without_a_setting(
        settings: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(settings, capsys, "event-types")
    assert code == 0
    row = next(line for line in out.splitlines() if "payment.failed" in line)
    assert "v1, v2" in row and "v1 2027-05-31" in row
    assert "invoice.paid" in out and "test.ping" not in out


def test_pins_against_the_catalog_the_settings_name(
        settings: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_catalog(tmp_path)
    _set_catalog(settings, "acme")  # relative to the settings file
    code, out = _run(settings, capsys, "event-types")
    assert code == 0 and "invoice.paid" not in out
    row = next(line for line in out.splitlines() if "shipment.sent" in line)
    assert "v1, v2" in row and f"v1 {SUNSET.isoformat()}" in row

    code, out = _run(settings, capsys, "endpoints", "add", "http://127.0.0.1:9/h",
                     "--allow-local", "--pin", "shipment.sent=1")
    assert code == 0, out
    assert "(pinned: shipment.sent v1)" in out
    eid = re.search(r"ep_[0-9a-f]+", out).group(0)  # type: ignore[union-attr]
    code, out = _run(settings, capsys, "endpoints", "update", eid, "--pin", "shipment.sent=3")
    assert code == 1 and "invalid_version" in out and "versions served are 1, 2" in out
    code, out = _run(settings, capsys, "endpoints", "update", eid, "--pin",
                     "order.created=1")
    assert "(pinned: order.created v1, shipment.sent v1)" in out
    code, out = _run(settings, capsys, "endpoints", "update", eid, "--unpin", "shipment.sent",
                     "--unpin", "order.created")
    assert code == 0 and "pinned" not in out
    with pytest.raises(SystemExit):
        main(["--config", str(settings), "endpoints", "add", "http://x", "--pin", "v1"])


def test_a_missing_catalog_is_refused(settings: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _set_catalog(settings, "no-such-dir")
    code, out = _run(settings, capsys, "endpoints", "list")
    assert code == 1
    assert "invalid_configuration" in out and "no-such-dir" in out
