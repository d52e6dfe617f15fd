"""Timing-safe comparison: direct observation, source checks and a dudect-style test.

* Direct observation (Python, Node, Ruby): :func:`preload_env` injects a preload that wraps
  the runtime's constant-time primitive; :class:`CompareLog` reads what it recorded.
* Source check (Go, PHP): :func:`source_check` looks for ``hmac.Equal`` /
  ``subtle.ConstantTimeCompare`` or ``hash_equals`` and for signatures compared otherwise.
* Statistics (opt-in): :func:`welch_t` and :func:`dudect_verdict` compare timings of
  early- and late-mismatching signatures, and say honestly how weak a pass is.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

LOG_ENV = "HOOKSEAL_CT_LOG"
PRELOAD_DIR = Path(__file__).resolve().parent / "_preload"
OBSERVED_RUNTIMES = ("python", "node", "ruby")
SOURCE_RUNTIMES = {"go": (".go",), "php": (".php",)}


def preload_env(log_path: str, base: Optional[dict[str, str]] = None) -> dict[str, str]:
    """Return the environment additions that load the comparison probes into an adapter.

    All three are set whatever the command is, so a shell-script wrapper around a Python,
    Node or Ruby verifier is observed too.
    """
    env = dict(os.environ if base is None else base)
    pythonpath = env.get("PYTHONPATH", "")
    node_options = env.get("NODE_OPTIONS", "")
    rubyopt = env.get("RUBYOPT", "")
    js = PRELOAD_DIR / "hookseal_ct.js"
    rb = PRELOAD_DIR / "hookseal_ct.rb"
    return {
        LOG_ENV: log_path,
        "PYTHONPATH": str(PRELOAD_DIR) + (os.pathsep + pythonpath if pythonpath else ""),
        "NODE_OPTIONS": f"--require {shlex.quote(str(js))} {node_options}".strip(),
        "RUBYOPT": f"-r{rb} {rubyopt}".strip(),
    }


@dataclass(frozen=True)
class Call:
    """One recorded constant-time comparison: runtime and operand sizes in bytes."""

    runtime: str
    size_a: int
    size_b: int


class CompareLog:
    """Reads the probe's log file incrementally."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._offset = 0
        self.runtimes: set[str] = set()

    def _read(self) -> list[str]:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        self._offset += end
        return data[:end].decode("utf-8", "replace").splitlines()

    def calls_since_mark(self) -> list[Call]:
        """Return the comparisons recorded since the previous call (or :meth:`mark`)."""
        calls = []
        for line in self._read():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "loaded":
                self.runtimes.add(parts[1])
            elif len(parts) == 4 and parts[0] == "call":
                try:
                    calls.append(Call(parts[1], int(parts[2]), int(parts[3])))
                except ValueError:
                    continue
        return calls

    def mark(self) -> None:
        """Forget everything recorded so far (runtimes loaded are kept)."""
        self.calls_since_mark()


def runtime_of(command: str) -> Optional[str]:
    """Guess the language runtime an adapter command runs (from argv[0] or a shebang)."""
    try:
        argv = shlex.split(command)
    except ValueError:
        return None
    if not argv:
        return None
    names = [os.path.basename(argv[0])]
    if os.path.isfile(argv[0]):
        try:
            with open(argv[0], "rb") as fh:
                first = fh.readline(200).decode("utf-8", "replace")
            if first.startswith("#!"):
                names.extend(os.path.basename(p) for p in first[2:].split())
        except OSError:
            pass
    for name in names:
        if re.fullmatch(r"python(\d+(\.\d+)*)?|pypy3?", name):
            return "python"
        if name in ("node", "nodejs", "tsx", "ts-node", "deno", "bun"):
            return "node"
        if name in ("ruby", "bundle"):
            return "ruby"
        if name == "go":
            return "go"
        if re.fullmatch(r"php(\d+(\.\d+)*)?", name):
            return "php"
    return None


def _scan_dir(directory: Path, suffixes: tuple[str, ...], depth: int = 2) -> list[Path]:
    found: list[Path] = []
    if depth < 0 or directory.name in ("vendor", "node_modules", ".git"):
        return found
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return found
    for entry in entries:
        if entry.is_file() and entry.suffix in suffixes and not entry.name.endswith("_test.go"):
            found.append(entry)
        elif entry.is_dir():
            found.extend(_scan_dir(entry, suffixes, depth - 1))
    return found


def source_files(command: str, extra: Iterable[str] = (), cwd: Optional[str] = None) -> list[Path]:
    """Return Go and PHP source files the adapter command points at (plus ``extra`` paths).

    A path token that is a source file counts itself; a directory counts the sources
    inside it; an extension-less script counts the sources beside it and one level up
    (the snippet it wraps).
    """
    suffixes = tuple(s for group in SOURCE_RUNTIMES.values() for s in group)
    base = Path(cwd or os.getcwd())
    try:
        tokens = shlex.split(command)
    except ValueError:
        tokens = []
    out: list[Path] = []
    for token in [*tokens, *extra]:
        path = Path(token) if os.path.isabs(token) else base / token
        if path.is_file():
            if path.suffix in suffixes:
                out.append(path)
            elif not path.suffix:
                out.extend(_scan_dir(path.parent, suffixes, 0))
                out.extend(_scan_dir(path.parent.parent, suffixes, 0))
        elif path.is_dir() and path != base:
            out.extend(_scan_dir(path, suffixes))
    return sorted(set(out))


_SAFE = {
    "go": re.compile(r"\b(hmac\.Equal|subtle\.ConstantTimeCompare)\s*\("),
    "php": re.compile(r"\bhash_equals\s*\("),
}
_UNSAFE = {
    "go": re.compile(
        r"\b(bytes\.Equal|reflect\.DeepEqual|strings\.EqualFold|strings\.Compare)\s*\(.*(sig|mac)"
        r"|\w*(sig|mac)\w*(\[[^\]]*\])?\s*[!=]=\s*\w*(sig|mac|expected|want)",
        re.IGNORECASE,
    ),
    "php": re.compile(
        r"\b(strcmp|strcasecmp|strncmp|substr_compare)\s*\(.*(sig|mac)"
        r"|\$\w*(sig|mac)\w*\s*[!=]==?\s*\$\w*(sig|mac|expected|want)",
        re.IGNORECASE,
    ),
}


@dataclass(frozen=True)
class SourceVerdict:
    """Result of a source check: ``ok`` plus the evidence lines behind it."""

    ok: bool
    language: str
    evidence: tuple[str, ...]


def source_check(files: Sequence[Path]) -> Optional[SourceVerdict]:
    """Check Go/PHP sources for a constant-time primitive and for plain comparisons.

    Returns None when ``files`` holds no Go or PHP source.
    """
    by_lang: dict[str, list[Path]] = {}
    for f in files:
        for lang, suffixes in SOURCE_RUNTIMES.items():
            if f.suffix in suffixes:
                by_lang.setdefault(lang, []).append(f)
    if not by_lang:
        return None
    lang, paths = max(by_lang.items(), key=lambda kv: len(kv[1]))
    safe: list[str] = []
    unsafe: list[str] = []
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, 1):
            code = line.split("//", 1)[0]
            where = f"{path}:{number}: {line.strip()}"
            if _SAFE[lang].search(code):
                safe.append(where)
            if _UNSAFE[lang].search(code):
                unsafe.append(where)
    if unsafe:
        return SourceVerdict(False, lang, tuple(f"plain comparison: {u}" for u in unsafe))
    if not safe:
        names = "hmac.Equal / subtle.ConstantTimeCompare" if lang == "go" else "hash_equals"
        listed = ", ".join(str(p) for p in paths)
        return SourceVerdict(False, lang, (f"no call of {names} in {listed}",))
    return SourceVerdict(True, lang, tuple(safe))


# -- dudect-style statistics ---------------------------------------------------------------


def welch_t(a: Sequence[float], b: Sequence[float]) -> float:
    """Welch's t statistic of two samples (0.0 when undefined)."""
    n1, n2 = len(a), len(b)
    if n1 < 2 or n2 < 2:
        return 0.0
    m1, m2 = sum(a) / n1, sum(b) / n2
    v1 = sum((x - m1) ** 2 for x in a) / (n1 - 1)
    v2 = sum((x - m2) ** 2 for x in b) / (n2 - 1)
    denom = math.sqrt(v1 / n1 + v2 / n2)
    return 0.0 if denom == 0 else (m1 - m2) / denom


@dataclass(frozen=True)
class DudectResult:
    """Evidence from a timing test: the largest |t| over the crops, and a verdict."""

    max_abs_t: float
    per_crop: tuple[tuple[str, float], ...]
    samples: int
    median_early_us: float
    median_late_us: float
    leak: bool

    def describe(self) -> str:
        """Return an honest one-paragraph description of the evidence."""
        crops = ", ".join(f"{name}: t={t:+.2f}" for name, t in self.per_crop)
        head = (
            f"Welch's t-test over {self.samples} timings per class (early- vs late-mismatching "
            f"signature; medians {self.median_early_us:.1f} us vs {self.median_late_us:.1f} us). "
            f"max |t| = {self.max_abs_t:.2f} ({crops}). "
        )
        if self.leak:
            return head + "|t| > 4.5: timing depends on where the signature differs (a leak)."
        return head + (
            "No evidence of a leak at this sample size. That is not proof of constant time: "
            "round trips through a pipe add noise far above a few nanoseconds of memcmp."
        )


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else 0.0


def dudect_verdict(
    early: Sequence[float], late: Sequence[float], threshold: float = 4.5
) -> DudectResult:
    """Apply Welch's t-test to raw and percentile-cropped timings (in seconds), as dudect does."""
    both = sorted([*early, *late])
    per_crop: list[tuple[str, float]] = [("all", welch_t(early, late))]
    for pct in (50, 75, 90):
        if not both:
            break
        cut = both[min(len(both) - 1, len(both) * pct // 100)]
        per_crop.append(
            (f"<p{pct}", welch_t([x for x in early if x <= cut], [x for x in late if x <= cut]))
        )
    max_t = max(abs(t) for _, t in per_crop)
    return DudectResult(
        max_abs_t=max_t,
        per_crop=tuple(per_crop),
        samples=min(len(early), len(late)),
        median_early_us=_median(early) * 1e6,
        median_late_us=_median(late) * 1e6,
        leak=max_t > threshold,
    )
