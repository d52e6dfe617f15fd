"""The verifier suite, end to end through the CLI: it passes good verifiers and fails each
broken one in the corpus for the right reason."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from corpus_expectations import RUNTIMES, VERIFIER_BUGS, snippet_adapters
from corpus_runner import CORPUS, REPO, Runs, run_cli

# The corpus runs share a pool: a test may wait for runs queued before its own.
pytestmark = pytest.mark.timeout(900)


def test_sdk_adapter_conforms(corpus_runs: Runs) -> None:
    run = corpus_runs.get("verifier:sdk")
    assert run.code == 0, run.output[-4000:]
    assert "is not supported" not in run.output


def test_toy_verifier_without_bugs_conforms(corpus_runs: Runs) -> None:
    run = corpus_runs.get("verifier:none")
    assert run.code == 0, run.output[-4000:]
    # It has no v1a: the suite says so plainly and skips those cases.
    assert "v1a (Ed25519) is not supported" in run.output


def test_toy_verifier_with_v1a_conforms(corpus_runs: Runs) -> None:
    """The same toy with Ed25519 passes every v1a property, so the v1a_* bugs are the bugs."""
    run = corpus_runs.get("verifier:v1a")
    assert run.code == 0, run.output[-4000:]
    assert "is not supported" not in run.output


@pytest.mark.parametrize("bug", sorted(VERIFIER_BUGS))
def test_broken_verifier_fails_for_the_right_reason(corpus_runs: Runs, bug: str) -> None:
    run = corpus_runs.get(f"verifier:{bug}")
    assert run.code == 1, f"the suite passed a verifier that {bug}:\n{run.output[-3000:]}"
    expected = VERIFIER_BUGS[bug][1]
    assert run.failed_properties & expected, (
        f"{bug}: expected one of {sorted(expected)} to fail; failed: {sorted(run.failed)}"
    )
    assert "PROPERTY" in run.output and "EXPECTED" in run.output and "ANSWERED" in run.output


@pytest.mark.parametrize("name", [n for n, _ in snippet_adapters()] or ["none"])
def test_snippet_adapter_conforms(corpus_runs: Runs, name: str) -> None:
    if name == "none":
        pytest.skip("no sdk/snippets/*/adapter exists yet")
    runtime = RUNTIMES.get(name, name)
    if shutil.which(runtime) is None:
        pytest.skip(f"the {name} snippet needs {runtime}, which is not installed")
    run = corpus_runs.get(f"verifier:snippet:{name}")
    assert run.code == 0, run.output[-4000:]


def test_rerun_line_reproduces_the_failure(corpus_runs: Runs) -> None:
    """The RERUN line of a report, fed to the adapter, shows the bug again."""
    run = corpus_runs.get("verifier:no_tolerance")
    line = next(m.group(1) for m in re.finditer(r"^E?\s*(\{\"profile\".*\})$", run.output,
                                                 re.MULTILINE))
    request = json.loads(line)
    bad = subprocess.run([sys.executable, str(CORPUS / "toy_verifier.py"), "no_tolerance"],
                         check=False, input=line + "\n", capture_output=True, text=True, timeout=30)
    good = subprocess.run([sys.executable, "-m", "hookseal.adapter"], check=False, input=line + "\n",
                          capture_output=True, text=True, timeout=30)
    assert json.loads(bad.stdout) != json.loads(good.stdout), request


def test_missing_vectors_file_is_a_failure(tmp_path: object) -> None:
    run = run_cli(["verifier", "--adapter", f"{sys.executable} -m hookseal.adapter",
                   "--vectors", str(REPO / "no" / "such" / "vectors.json"),
                   "-k", "vector", "--examples", "1"])
    assert run.code == 1
    assert "vectors_missing" in run.output


@pytest.mark.parametrize("runtime", ["node", "ruby", "php"])
def test_constant_time_checks_per_runtime(corpus_runs: Runs, runtime: str) -> None:
    """One verifier per runtime passes with its constant-time primitive and fails, on the
    constant-time property alone, when it compares with == (Node and Ruby: observed by
    the probe; PHP: the source check)."""
    if shutil.which(runtime) is None:
        pytest.skip(f"{runtime} is not installed")
    safe = corpus_runs.get(f"ct:{runtime}:safe")
    assert safe.code == 0, safe.output[-3000:]
    eq = corpus_runs.get(f"ct:{runtime}:eq")
    assert eq.code == 1
    assert eq.failed == {"test_signatures_compared_in_constant_time[hookseal-v1]"}, eq.output
    if runtime == "php":
        assert "plain comparison" in eq.output and "ct_verifier_eq.php" in eq.output
    else:
        assert "0 recorded calls" in eq.output
