"""``make demo`` runs the whole story and exits by itself, quickly."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hookseal_sender.demo import run
from hookseal_sender.models import new_id


def test_demo_runs_green(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    start = time.monotonic()
    assert run(str(tmp_path)) == 0
    assert time.monotonic() - start < 30
    out = " ".join(capsys.readouterr().out.split())
    # One payment.failed event: the pinned endpoint got v1, the other v2, each valid.
    assert "legacy-app got v1 of" in out and "valid for payment.failed v1" in out
    assert "modern-app got v2 of" in out and "valid for payment.failed v2" in out


def test_demo_delivery_log_shows_whole_ids_at_80_columns(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from hookseal_sender import demo

    monkeypatch.setattr(demo.console, "_width", 80)
    assert run(str(tmp_path)) == 0
    out = capsys.readouterr().out
    log = out[out.index("Delivery log"):]
    ids = re.findall(r"\bdlv_[0-9a-f]+", log)
    assert len(ids) >= 5 and all(len(i) == len(new_id("dlv")) for i in ids), ids
    assert "…" not in log
    assert all(len(line) <= 80 for line in log.splitlines())
    assert re.search(r"event evt_[0-9a-f]{28} ->", out)  # event ids whole too
