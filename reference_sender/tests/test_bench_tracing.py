"""``make bench``'s tracing and authentication benchmark still runs, at smoke size."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_tracing.py"


def test_the_tracing_benchmark_prints_each_variant_and_its_ratio() -> None:
    out = subprocess.run([sys.executable, str(BENCH), "--deliveries", "300", "--rounds", "1"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    for variant in ("tracing off", "no traceparent", "tracing on", "static Authorization"):
        found = re.search(rf"  {variant} +([\d.]+) us/delivery  ([\d.]+)x tracing off", out.stdout)
        assert found and float(found.group(1)) > 0, out.stdout
