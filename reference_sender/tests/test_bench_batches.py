"""``make bench``'s batches benchmark still runs, at smoke size."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_batches.py"


def test_the_batches_benchmark_prints_both_rates_and_their_ratio() -> None:
    out = subprocess.run([sys.executable, str(BENCH), "--events", "400", "--rounds", "1"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    for variant in ("unbatched", "batches of 100"):
        found = re.search(rf"  {variant} +([\d,]+) events/s", out.stdout)
        assert found and int(found.group(1).replace(",", "")) > 0, out.stdout
    assert re.search(r"batched / unbatched: [\d.]+x", out.stdout), out.stdout
