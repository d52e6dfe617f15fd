"""The sender suite, end to end through the CLI: it passes the reference sender and a
correct toy sender, and fails each broken toy sender for the right reason."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from corpus_expectations import FEATURE_SENDER_BUGS, SENDER_BUGS, SENDER_BUGS_ALSO
from corpus_runner import OTHER_ID_PATTERN, PY, Runs, run_cli
from hookseal_conformance.features import CHECKED

# The corpus runs share a pool: a test may wait for runs queued before its own.
pytestmark = pytest.mark.timeout(900)


def test_reference_sender_conforms(corpus_runs: Runs) -> None:
    run = corpus_runs.get("sender:reference")
    assert run.code == 0, run.output[-4000:]
    # The optional features it does not declare are skipped inside the suite's run, each
    # with its reason in the report (never an outer skip of this test); those it declares
    # are checked.
    declared = _reference_hello().get("features", [])
    for feature in CHECKED:
        reason = f"the sender does not declare {feature!r} in hello's features"
        assert (reason in run.output) == (feature not in declared), (feature, declared)
    assert not run.failed


def _reference_hello() -> dict[str, Any]:
    """The reference adapter's answer to ``hello``."""
    proc = subprocess.run([PY, "-m", "hookseal_sender.adapter"], input='{"op":"hello"}\n',
                          capture_output=True, text=True, timeout=120, check=True)
    answer: dict[str, Any] = json.loads(proc.stdout.splitlines()[0])
    return answer


def test_require_turns_an_undeclared_feature_into_a_failure(corpus_runs: Runs) -> None:
    run = corpus_runs.get("sender:undeclared-require")
    assert run.code == 1, run.output[-4000:]
    assert run.failed_properties == {"test_filters_invalid_refused_at_registration",
                                     "test_batches_limits_refused"}, run.output[-4000:]
    assert "(and --require filters was given)" in run.output


def test_toy_sender_without_bugs_conforms(corpus_runs: Runs) -> None:
    run = corpus_runs.get("sender:none")
    assert run.code == 0, run.output[-4000:]


@pytest.mark.parametrize("bug", sorted([*SENDER_BUGS, *FEATURE_SENDER_BUGS]))
def test_broken_sender_fails_for_the_right_reason(corpus_runs: Runs, bug: str) -> None:
    run = corpus_runs.get(f"sender:{bug}")
    assert run.code == 1, f"the suite passed a sender that {bug}:\n{run.output[-3000:]}"
    expected = {**SENDER_BUGS, **FEATURE_SENDER_BUGS}[bug]
    assert run.failed_properties & expected, (
        f"{bug}: expected one of {sorted(expected)} to fail; failed: {sorted(run.failed)}"
    )
    # It breaks its rule and no other: any other property failing is a false alarm.
    allowed = expected | SENDER_BUGS_ALSO.get(bug, set())
    others = run.failed_properties - allowed
    assert not others, (
        f"{bug}: only {sorted(allowed)} may fail; failed: {sorted(run.failed)}\n"
        + "\n".join(_report_of(run.output, name) for name in sorted(others))
    )


def _report_of(output: str, prop: str) -> str:
    """The failure report pytest printed for ``prop`` (its section of the output)."""
    start = output.find(f" {prop}")
    start = output.rfind("\n", 0, start) if start >= 0 else -1
    end = output.find("\n___", start + 1)
    return output[max(start, 0):end if end > 0 else start + 4000][:4000]


def test_own_catalog_is_sent_and_checked(corpus_runs: Runs) -> None:
    """``--catalog DIR``: the suite sends the events of a catalog made by
    ``hookseal-catalog init`` to a sender serving that catalog, and it conforms; the
    properties written for the sample's invoice.paid are skipped and say why."""
    run = corpus_runs.get("sender:catalog")
    assert run.code == 0, run.output[-4000:]
    assert "written for the sample catalog's invoice.paid" in run.output


def test_own_catalog_schemas_check_the_bodies(corpus_runs: Runs) -> None:
    """The bodies are checked against the given catalog's schemas: with a catalog whose
    envelope wants other ids, the same sender's bodies fail."""
    run = corpus_runs.get("sender:catalog-other-envelope")
    assert run.code == 1, run.output[-4000:]
    assert run.failed_properties == {"test_delivers_signed_catalog_events"}, run.output[-4000:]
    assert OTHER_ID_PATTERN in run.output


def test_a_catalog_that_does_not_load_stops_the_run(tmp_path: object) -> None:
    run = run_cli(["sender", "--adapter", f"{PY} -m hookseal_sender.adapter", "--catalog",
                   f"{tmp_path}/missing"], timeout=120)
    assert run.code == 2, run.output[-3000:]
    assert "--catalog" in run.output and "not a directory" in run.output
    assert "nothing was checked" in run.output and run.failed == set()
