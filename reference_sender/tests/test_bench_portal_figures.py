"""``make bench``'s portal figures benchmark still runs, at smoke size on SQLite."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_portal_figures.py"


def test_the_figures_benchmark_prints_its_medians_and_ratio() -> None:
    out = subprocess.run([sys.executable, str(BENCH), "--no-postgres", "--deliveries", "5000",
                          "--rounds", "1"], capture_output=True, text=True, timeout=300,
                         check=False)
    assert out.returncode == 0, out.stderr
    head = re.search(r"sqlite: 5,000 deliveries over 30 days .* busiest customer tenant-\d+: "
                     r"([\d,]+) deliveries this week \(([\d,]+) attempts\)", out.stdout)
    assert head, out.stdout
    deliveries, attempts = (int(g.replace(",", "")) for g in head.groups())
    assert 0 < deliveries <= attempts  # every generated delivery has an attempt
    assert re.search(r"bare read of the week rows \(floor\) +[\d.]+ ms", out.stdout)
    assert re.search(r"log figures \(7 d\) +[\d.]+ ms +[\d.]+x the floor", out.stdout)
    assert re.search(r"endpoint card \(24 h\) +[\d.]+ ms", out.stdout)
