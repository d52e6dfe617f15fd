"""conformance/README.md states the corpus as it is: its counts of broken senders and
verifiers, and a real broken sender in every row of the sender tables."""

from __future__ import annotations

import ast
import re

from corpus_expectations import FEATURE_SENDER_BUGS, REPO, SENDER_BUGS, VERIFIER_BUGS
from corpus_runner import CORPUS

README = (REPO / "conformance" / "README.md").read_text()


def _toy_bugs(name: str) -> set[str]:
    """The keys of a toy's ``BUGS`` dict, read without running the toy."""
    tree = ast.parse((CORPUS / name).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "BUGS" for t in node.targets):
            assert isinstance(node.value, ast.Dict)
            return {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    raise AssertionError(f"no BUGS in {name}")


def _sender_table_rows() -> list[list[str]]:
    """The rows of the README's two sender tables (rule, property, broken sender)."""
    rows = []
    for line in README.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and ("`test_" in cells[1] or "feature()" in cells[1]):
            rows.append(cells)
    return rows


def test_counts_match_the_corpus() -> None:
    assert f"a stdlib sender with {len(SENDER_BUGS)} bugs" in README
    assert f"And {len(FEATURE_SENDER_BUGS)} broken optional features" in README
    assert f"with the {len(FEATURE_SENDER_BUGS)} broken optional-feature runs" in README
    verifier = _toy_bugs("toy_verifier.py") & set(VERIFIER_BUGS)
    assert f"a stdlib verifier with {len(verifier)} switchable bugs" in README


def test_every_sender_row_names_a_real_broken_sender() -> None:
    rows = _sender_table_rows()
    assert len(rows) > 30, rows
    toy = _toy_bugs("toy_sender.py")
    named: set[str] = set()
    for rule, prop, broken in rows:
        assert "none yet" not in broken, rule
        bugs = set(re.findall(r"`([a-z0-9_]+)`", broken)) & toy
        assert bugs or "tests/test_cli.py" in prop, f"no broken sender for: {rule}"
        named |= bugs
    # Every bug the corpus runs is in a table, and every bug a table names is run.
    corpus = set(SENDER_BUGS) | set(FEATURE_SENDER_BUGS)
    assert corpus - named == set(), corpus - named
    assert named - corpus - {"declares_no_features"} == set()
