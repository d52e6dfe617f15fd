"""``make demo`` runs the whole story and exits by itself, quickly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hookseal_sender.demo import run


def test_demo_runs_green(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    start = time.monotonic()
    assert run(str(tmp_path)) == 0
    assert time.monotonic() - start < 30
    out = " ".join(capsys.readouterr().out.split())
    # One payment.failed event: the pinned endpoint got v1, the other v2, each valid.
    assert "legacy-app got v1 of" in out and "valid for payment.failed v1" in out
    assert "modern-app got v2 of" in out and "valid for payment.failed v2" in out
