"""The lever benchmark (``bench_levers.py``) still runs, at smoke size, on both backends."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_levers.py"
ROOT = Path(__file__).resolve().parents[2]


def test_the_lever_benchmark_prints_each_tree_the_bare_client_and_the_ratios() -> None:
    # Two trees (this checkout twice: no git history needed), the bare client, and the
    # last tree drained without HTTP requests (--decompose).
    out = subprocess.run([sys.executable, str(BENCH), "--deliveries", "300", "--rounds", "1",
                          "--tree", f"a={ROOT}", "--tree", f"b={ROOT}", "--decompose"],
                         capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr
    for backend in ("sqlite", "postgresql"):
        section = out.stdout.split(f"{backend}: ", 1)[1]
        bare = re.match(r"bare clients: the sender's own ([\d.]+) us CPU per request, [\d,]+/s; "
                        r"aiohttp ([\d.]+) us, [\d,]+/s \(own / aiohttp ([\d.]+)x", section)
        assert bare and all(float(g) > 0 for g in bare.groups()), out.stdout
        for tree in ("a", "b"):
            found = re.search(rf"  {tree} +([\d.]+) us CPU per delivery .*?([\d.]+)x the bare "
                              r"own client .*?([\d.]+)x bare aiohttp", section)
            assert found and all(float(g) > 0 for g in found.groups()), out.stdout
        assert re.search(r"b / a: deliveries per sender CPU second [\d.]+x, deliveries/s "
                         r"[\d.]+x", section), out.stdout
        # --decompose: the last tree drained without HTTP, and the split of its CPU.
        alone = re.search(r"  b without HTTP: ([\d.]+) us CPU per delivery \(event loop "
                          r"([\d.]+), store threads ([\d.]+)\)", section)
        assert alone and float(alone.group(1)) > 0, out.stdout
        split = re.search(r"split: bare own client ([\d.]+) \+ without HTTP ([\d.]+) \+ "
                          r"overlap (-?[\d.]+) us", section)
        assert split and float(split.group(2)) == float(alone.group(1)), out.stdout
