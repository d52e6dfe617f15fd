"""``make demo`` runs the whole story and exits by itself, quickly."""

from __future__ import annotations

import time
from pathlib import Path

from hookseal_sender.demo import run


def test_demo_runs_green(tmp_path: Path, capsys: object) -> None:
    start = time.monotonic()
    assert run(str(tmp_path)) == 0
    assert time.monotonic() - start < 30
