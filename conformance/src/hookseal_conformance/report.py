"""Failures that read like bug reports: property, expected, answered, rerunnable request."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping
from typing import Any, Optional


class ConformanceFailure(AssertionError):
    """A conformance property does not hold; the message is the bug report."""


def _answer_text(answer: str) -> str:
    return '{"ok": true}' if answer == "ok" else json.dumps({"ok": False, "error": answer})


def expected_text(expected: Iterable[str]) -> str:
    """Render the set of conforming answers the way an adapter would write them."""
    return " or ".join(_answer_text(a) for a in sorted(expected))


def bug_report(
    *,
    prop: str,
    expected: str,
    answered: str,
    request: Optional[Mapping[str, Any]] = None,
    why: str = "",
    command: Optional[str] = None,
    extra: str = "",
) -> str:
    """Format one failure.

    Args:
        prop: the property that failed, in words.
        expected: what a conforming implementation answers.
        answered: what the adapter answered (or did).
        request: the request that shows it, printed as a JSON line.
        why: why the expected answer is the right one.
        command: the adapter command, for the rerun hint.
        extra: any further evidence.
    """
    lines = [
        "",
        f"PROPERTY  {prop}",
        f"EXPECTED  {expected}",
        f"ANSWERED  {answered}",
    ]
    if why:
        lines.append(f"BECAUSE   {why}")
    if extra:
        lines.extend(["EVIDENCE", *("  " + x for x in extra.splitlines())])
    if request is not None:
        line = json.dumps(request, ensure_ascii=True)
        lines.append("REQUEST   (one JSON line; the shrunk minimal example when Hypothesis ran)")
        lines.append(line)
        if command:
            lines.append(f"RERUN     echo {shlex.quote(line)} | {command}")
    return "\n".join(lines)
