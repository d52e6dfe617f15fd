"""The command line itself: an adapter that cannot run stops the run at once (issue 19 #12)."""

from __future__ import annotations

import sys

import pytest
from corpus_runner import run_cli

# A typo in the module name: the adapter exits at once with "No module named ...".
CRASHING = f"{sys.executable} -m hookseal_no_such_adapter_module"
# Alive but silent: it never reads or answers.
SILENT = f"{sys.executable} -c 'import time; time.sleep(120)'"


@pytest.mark.parametrize("side", ["verifier", "sender"])
def test_adapter_that_exits_at_start_stops_the_run(side: str) -> None:
    run = run_cli([side, "--adapter", CRASHING, "--examples", "2"], timeout=120)
    assert run.code == 2, run.output[-3000:]
    assert "did not answer its first request" in run.output
    assert "No module named hookseal_no_such_adapter_module" in run.output  # the cause, quoted
    # One message, not a report per property (it used to be 3,370 lines and Ed25519 "skips").
    assert len(run.output.splitlines()) < 15, run.output
    assert "not supported" not in run.output
    assert run.failed == set()


@pytest.mark.parametrize("side", ["verifier", "sender"])
def test_adapter_that_never_answers_stops_the_run(side: str) -> None:
    run = run_cli([side, "--adapter", SILENT, "--timeout", "1", "--startup-timeout", "1",
                   "--examples", "2"], timeout=120)
    assert run.code == 2, run.output[-3000:]
    assert "did not answer its first request" in run.output
    assert "adapter_timeout" in run.output
    assert len(run.output.splitlines()) < 15, run.output
