"""``make bench``'s ordered-delivery benchmark still runs, at smoke size on SQLite."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_ordering.py"


def test_the_ordering_benchmark_prints_its_ratio() -> None:
    out = subprocess.run([sys.executable, str(BENCH), "--no-postgres", "--events", "1200",
                          "--rounds", "1"], capture_output=True, text=True, timeout=300,
                         check=False)
    assert out.returncode == 0, out.stderr
    found = re.search(r"\[sqlite\] ordered ([\d,]+)/s, unordered ([\d,]+)/s: ([\d.]+)x "
                      r"\(target >= 0.7x\)", out.stdout)
    assert found and float(found.group(3)) > 0, out.stdout
