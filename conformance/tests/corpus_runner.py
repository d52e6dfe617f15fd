"""Run the hookseal-conformance CLI against corpus adapters, concurrently, once each.

Each run is a subprocess writing JUnit XML; tests assert on which properties failed. The
runs start together on first use (a small thread pool), so the corpus costs about the
time of its slowest runs, not their sum.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CORPUS = HERE / "corpus"
PY = sys.executable
CLI = [PY, "-m", "hookseal_conformance.cli"]
# Small budgets keep the corpus fast; a fixed seed keeps it deterministic.
VERIFIER_ARGS = ["--examples", "5", "--seed", "1", "--shrink-seconds", "0", "--timeout", "3"]
SENDER_ARGS = ["--examples", "10", "--seed", "1", "--shrink-seconds", "0"]


@dataclass
class Run:
    """One CLI run: exit code, failed test ids, full output."""

    code: int
    failed: set[str]
    output: str

    @property
    def failed_properties(self) -> set[str]:
        """Failed test function names, without parameters."""
        return {f.split("[")[0] for f in self.failed}


def run_cli(args: list[str], timeout: float = 600, nice: int = 0) -> Run:
    """Run ``hookseal-conformance ARGS`` and collect its JUnit report. ``nice``: run it
    (and the adapter it starts) that much below the normal CPU priority."""
    with tempfile.TemporaryDirectory() as tmp:
        junit = os.path.join(tmp, "junit.xml")
        proc = subprocess.run(
            [*(["nice", "-n", str(nice)] if nice else []), *CLI, *args, "--junit-xml", junit],
            check=False, capture_output=True, text=True, timeout=timeout, cwd=REPO,
            env={**os.environ, "CI": ""},
        )
        failed: set[str] = set()
        if os.path.exists(junit):
            for case in ET.parse(junit).iter("testcase"):
                if case.find("failure") is not None or case.find("error") is not None:
                    failed.add(case.get("name", "?"))
    return Run(proc.returncode, failed, proc.stdout + proc.stderr)


class Runs:
    """Lazily started, concurrently running CLI invocations keyed by name."""

    def __init__(self) -> None:
        self.jobs: dict[str, list[list[str]]] = {}
        # Sender runs mostly wait on the suite's timers (a broken toy's full run: about 3 s
        # of CPU in 65 s), so 16 share the 2 cores. They time what arrives (0.7 s of
        # lateness allowed), so the verifier runs, CPU-bound but timing nothing, yield the
        # CPU to them (nice 10); 4 at a time take up what the sender runs leave (2 were still
        # running 60 s after the last sender run, 4 about 35 s, at a load average of 8 to 12).
        # The whole corpus took 177 s, against 320 s with 8 sender runs and 2 verifier runs
        # at a time, no split runs and the suite's waits as they were (8 December 2026, back
        # to back, load average 1.5 at the start of each).
        self.cpu_pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)
        self.wait_pool = concurrent.futures.ThreadPoolExecutor(max_workers=16)
        self.futures: dict[str, list[concurrent.futures.Future[Run]]] = {}

    def shutdown(self) -> None:
        for pool in (self.cpu_pool, self.wait_pool):
            pool.shutdown(wait=True, cancel_futures=True)

    def add(self, key: str, args: list[str], shards: Sequence[str] = ()) -> None:
        """Queue a run. ``shards``: ``-k`` expressions that together select every property
        once; each is a run of its own (its own adapter), all at the same time, and
        :meth:`get` merges them, so a long run costs the time of its longest shard."""
        assert not shards or "-k" not in args, "a sharded run takes its -k from its shards"
        self.jobs[key] = [[*args, "-k", shard] for shard in shards] or [args]

    def get(self, key: str) -> Run:
        if not self.futures:
            for k, runs in self.jobs.items():
                pool = self.wait_pool if k.startswith("sender:") else self.cpu_pool
                nice = 0 if pool is self.wait_pool else 10
                self.futures[k] = [pool.submit(run_cli, args, nice=nice) for args in runs]
        done = [future.result() for future in self.futures[key]]
        return Run(max(r.code for r in done), set().union(*(r.failed for r in done)),
                   "\n".join(r.output for r in done))


def toy_verifier(bug: str) -> str:
    return f"{PY} {CORPUS / 'toy_verifier.py'} {bug}"


def toy_sender(bug: str, catalog: Optional[Path] = None) -> str:
    return f"{PY} {CORPUS / 'toy_sender.py'} {bug}" + (f" {catalog}" if catalog else "")


#: The id pattern of :func:`init_catalogs`' second catalog: no sender's ``evt_`` ids match.
OTHER_ID_PATTERN = "^event-[0-9a-f]{32}$"


def init_catalogs(parent: Path) -> tuple[Path, Path]:
    """A catalog made by ``hookseal-catalog init`` in ``parent/own``, and a copy of it in
    ``parent/other`` whose envelope wants ids of another form (:data:`OTHER_ID_PATTERN`)."""
    own, other = parent / "own", parent / "other"
    subprocess.run([PY, "-m", "hookseal_catalog.cli", "init", str(own)], check=True,
                   capture_output=True, timeout=120)
    shutil.copytree(own, other)
    envelope = json.loads((other / "envelope.json").read_text())
    envelope["properties"]["id"]["pattern"] = OTHER_ID_PATTERN
    (other / "envelope.json").write_text(json.dumps(envelope, indent=2))
    return own, other


