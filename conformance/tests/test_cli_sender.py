"""The sender suite, end to end through the CLI: it passes the reference sender and a
correct toy sender, and fails each broken toy sender for the right reason."""

from __future__ import annotations

import pytest
from corpus_expectations import SENDER_BUGS
from corpus_runner import Runs

# The corpus runs share a pool: a test may wait for runs queued before its own.
pytestmark = pytest.mark.timeout(900)


def test_reference_sender_conforms(corpus_runs: Runs) -> None:
    run = corpus_runs.get("sender:reference")
    assert run.code == 0, run.output[-4000:]


def test_toy_sender_without_bugs_conforms(corpus_runs: Runs) -> None:
    run = corpus_runs.get("sender:none")
    assert run.code == 0, run.output[-4000:]


@pytest.mark.parametrize("bug", sorted(SENDER_BUGS))
def test_broken_sender_fails_for_the_right_reason(corpus_runs: Runs, bug: str) -> None:
    run = corpus_runs.get(f"sender:{bug}")
    assert run.code == 1, f"the suite passed a sender that {bug}:\n{run.output[-3000:]}"
    expected = SENDER_BUGS[bug]
    assert run.failed_properties & expected, (
        f"{bug}: expected one of {sorted(expected)} to fail; failed: {sorted(run.failed)}"
    )
