"""Every Python block on the site that is meant to run does run.

A block meant to run is written ```` ```{ .python .run title="name.py" } ````: it must be
self-contained, and it runs here in a fresh interpreter of the project venv. Other Python
blocks are fragments (they need your app, your secret, your framework) and are only
checked to be valid Python syntax.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>[^\n`]*)\n(?P<code>.*?)^(?P=indent)```[ \t]*$",
                   re.MULTILINE | re.DOTALL)


def _blocks() -> list[tuple[str, str, str]]:
    """``(where, info, code)`` for every fenced block of the hand-written pages."""
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        if {"tests", "_build"} & set(page.relative_to(DOCS).parts):
            continue
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            indent = match.group("indent")
            code = "\n".join(line[len(indent):] for line in match.group("code").splitlines())
            line = text[: match.start()].count("\n") + 1
            found.append((f"{page.relative_to(DOCS)}:{line}", match.group("info").strip(), code))
    return found


def _runnable() -> list[tuple[str, str]]:
    return [(where, code) for where, info, code in _blocks()
            if re.match(r"^\{[^}]*\.python\b[^}]*\.run\b", info)]


RUNNABLE = _runnable()


def test_the_site_has_runnable_examples() -> None:
    pages = {where.split(":")[0] for where, _ in RUNNABLE}
    assert {"quickstart.md", "signing.md"} <= pages, pages


@pytest.mark.parametrize(("where", "code"), RUNNABLE, ids=[w for w, _ in RUNNABLE])
def test_runnable_block_runs(where: str, code: str, tmp_path: Path) -> None:
    script = tmp_path / "block.py"
    script.write_text(code, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, f"{where} failed:\n{proc.stdout}\n{proc.stderr}"


def test_every_other_python_block_is_valid_syntax() -> None:
    checked = 0
    for where, info, code in _blocks():
        is_python = info in ("python", "py") or re.match(r"^\{[^}]*\.python\b", info)
        if not is_python or "--8<--" in code:
            continue
        try:
            ast.parse(code)
        except SyntaxError as err:
            raise AssertionError(f"{where}: not valid Python: {err}") from err
        checked += 1
    assert checked


def _conformance_commands(code: str) -> list[str]:
    """Every ``hookseal-conformance ...`` command line in a block (YAML values included)."""
    return [line[line.index("hookseal-conformance "):].strip()
            for line in code.splitlines() if "hookseal-conformance " in line
            and "pip install" not in line]


def test_ci_snippets_are_valid_yaml_with_valid_conformance_commands() -> None:
    """The CI snippets (YAML blocks) parse, and each ``hookseal-conformance`` command in
    them is accepted by the installed command's own argument parser."""
    import shlex

    import yaml
    from hookseal_conformance import cli

    checked = 0
    for where, info, code in _blocks():
        if not re.match(r"^(yaml|yml)\b", info):
            continue
        document = yaml.safe_load(code)
        assert isinstance(document, dict) and document, f"{where}: not a YAML mapping"
        for command in _conformance_commands(code):
            argv = shlex.split(command)[1:]
            try:
                args = cli._parser().parse_args(argv)
            except SystemExit as exc:
                raise AssertionError(f"{where}: {command!r} is refused by the CLI") from exc
            assert args.junit_xml, f"{where}: {command!r} writes no JUnit report"
            checked += 1
    assert checked >= 4, "the conformance page lost its GitHub Actions / GitLab CI snippets"
