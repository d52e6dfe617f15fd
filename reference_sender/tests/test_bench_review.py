"""``make bench``'s health review benchmark still runs, at smoke size on SQLite."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_review.py"


def test_the_review_benchmark_prints_its_time_and_ratio() -> None:
    out = subprocess.run([sys.executable, str(BENCH), "--no-postgres", "--deliveries", "5000",
                          "--rounds", "1"], capture_output=True, text=True, timeout=300,
                         check=False)
    assert out.returncode == 0, out.stderr
    found = re.search(r"\[sqlite\] review of 5,000 deliveries \(90 days\): median ([\d.]+) s of 1 "
                      r"runs \(under the 60 s target\); bare read of its attempt rows [\d.]+ s; "
                      r"review / bare read ([\d.]+)x", out.stdout)
    assert found, out.stdout
    assert float(found.group(2)) > 1  # the review reads those rows and does more
