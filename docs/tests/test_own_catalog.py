"""docs/own-catalog.md: a provider follows the guide from an empty directory, and every
command in it runs, in order, with the output the page shows.

The page's blocks are read in order: a ```` ```console ```` block's ``$`` lines are run
with bash in a fresh directory (the project venv first on PATH) and every other line must
appear in that command's output; a block with ``title="PATH"`` is written to PATH first,
and ``title="FILE#/json/pointer"`` sets that member of the JSON file. A command must exit
0 unless the block follows ``<!-- guide: exit N -->``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

GUIDE = Path(__file__).resolve().parents[1] / "own-catalog.md"
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<code>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
EXIT = re.compile(r"<!-- guide: exit (\d+) -->\s*$")
TITLE = re.compile(r'title="([^"]+)"')


def _steps() -> list[tuple[str, str, str, int]]:
    """``(kind, target, code, expected exit)`` per block: kind ``run`` or ``file``."""
    text = GUIDE.read_text(encoding="utf-8")
    steps = []
    for match in FENCE.finditer(text):
        info, code = match.group("info").strip(), match.group("code")
        before = EXIT.search(text[: match.start()].rstrip() + "\n")
        expected = int(before.group(1)) if before and text[: match.start()].rstrip().endswith("-->") else 0
        title = TITLE.search(info)
        if info == "console":
            steps.append(("run", "", code, expected))
        elif title:
            steps.append(("file", title.group(1), code, 0))
    return steps


def _set_pointer(path: Path, pointer: str, value: Any) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    parts = pointer.lstrip("/").split("/")
    node = doc
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def _commands(block: str) -> list[tuple[str, list[str]]]:
    commands: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif line.strip():
            assert commands, f"output before any command: {line!r}"
            commands[-1][1].append(line.rstrip())
    return commands


def test_the_guide_has_every_step() -> None:
    steps = _steps()
    commands = [c for kind, _, code, _ in steps if kind == "run" for c, _ in _commands(code)]
    for needed in ("hookseal-catalog init", "lint --catalog", "release --catalog", "check-released",
                   "diff --catalog", "generate-models --catalog catalog --package", "mkdocs build",
                   "--derivations", "hookseal-sender event-types", "--pin order.created=1"):  # fmt: skip
        assert any(needed in c for c in commands), needed
    assert any(kind == "file" and "#/x-hookseal/derivation" in target for kind, target, _, _ in steps)


def test_a_provider_follows_the_guide_from_an_empty_directory(tmp_path: Path) -> None:
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "NO_COLOR": "1",
    }
    if "CI" in os.environ:
        env["CI"] = os.environ["CI"]
    ran = 0
    for kind, target, code, expected in _steps():
        if kind == "file":
            path_text, _, pointer = target.partition("#")
            path = tmp_path / path_text
            if pointer:
                _set_pointer(path, pointer, json.loads(code))
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(code, encoding="utf-8")
            continue
        for command, output in _commands(code):
            proc = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True,
                                  text=True, timeout=180, check=False)  # fmt: skip
            seen = proc.stdout + proc.stderr
            assert proc.returncode == expected, f"$ {command}\n(exit {proc.returncode})\n{seen}"
            for line in output:
                assert line in seen, f"$ {command}\nexpected {line!r} in:\n{seen}"
            ran += 1
    assert ran >= 15
    assert (tmp_path / "site" / "events" / "order.created" / "index.html").is_file()
