"""Check that each workspace member installs and imports on its own, from the lock.

In the project venv every package sees every other package's dependencies, so a missing
dependency of one hides behind another's. Here each member is synced alone
(``uv sync --package NAME --locked``) into a throwaway environment, twice:

1. without extras: each console script answers ``--help``, and every module imports,
   except modules that need one of the package's own extras (the import error must name
   a module of that extra);
2. with all its extras: every module and every entry point imports.

Run by ``make check-packages`` (part of ``make test``). Usage::

    python .ci/check_packages.py [--uv PATH] [--python PYTHON] [NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = ["hookseal", "hookseal-catalog", "hookseal-sender", "hookseal-conformance"]

# Run inside the throwaway environment: import the distribution's modules and entry points,
# and report what failed as JSON on stdout.
_PROBE = r'''
import importlib, json, pkgutil, re, sys, traceback
from importlib import metadata

dist = metadata.distribution(sys.argv[1])
with_extras = sys.argv[2] == "1"
top = [dist.metadata["Name"].replace("-", "_")]  # each member's import name

def extra_modules():
    # Top-level module names the extras' requirements provide (dist name, normalised).
    names = set()
    for req in dist.requires or []:
        if "extra ==" not in req:
            continue
        name = re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0].lower()
        names |= {name.replace("-", "_"), name.split("-")[0]}
    return names

optional = extra_modules()
failures, skipped, imported = [], [], 0
modules = []
for name in top:
    try:
        pkg = importlib.import_module(name)
    except Exception:
        failures.append([name, traceback.format_exc(limit=-4)])
        continue
    modules.append(name)
    for info in pkgutil.walk_packages(getattr(pkg, "__path__", []), name + "."):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue
        modules.append(info.name)
for name in modules:
    try:
        importlib.import_module(name)
        imported += 1
    except ImportError as exc:
        # A package may re-raise the missing module with a hint (hookseal.models does).
        cause = exc if isinstance(exc, ModuleNotFoundError) else exc.__cause__
        missing = (getattr(cause, "name", None) or "").split(".")[0]
        if not with_extras and isinstance(cause, ModuleNotFoundError) and missing in optional:
            skipped.append([name, missing])
        else:
            failures.append([name, traceback.format_exc(limit=-4)])
    except Exception:
        failures.append([name, traceback.format_exc(limit=-4)])
scripts = []
for ep in dist.entry_points:
    if ep.group == "console_scripts":
        scripts.append(ep.name)
    if with_extras or ep.group == "console_scripts":
        try:
            ep.load()
        except Exception:
            failures.append([f"entry point {ep.group}:{ep.name}", traceback.format_exc(limit=-4)])
print(json.dumps({"imported": imported, "skipped": skipped, "failures": failures, "scripts": scripts}))
'''


def _sync(uv: str, python: str, name: str, venv: Path, extras: bool) -> None:
    env = dict(os.environ, UV_PROJECT_ENVIRONMENT=str(venv), UV_PYTHON=python, UV_PYTHON_DOWNLOADS="never")
    cmd = [uv, "sync", "--package", name, "--locked", "--no-default-groups", "--quiet"]
    cmd += ["--all-extras"] if extras else []
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)


def check(uv: str, python: str, name: str, tmp: Path) -> tuple[list[str], list[str]]:
    """Sync ``name`` alone twice (bare, all extras) and probe it; return (summary lines, problems)."""
    lines: list[str] = []
    problems: list[str] = []
    for extras in (False, True):
        kind = "all extras" if extras else "no extras"
        venv = tmp / f"{name}-{'extras' if extras else 'bare'}"
        started = time.monotonic()
        try:
            _sync(uv, python, name, venv, extras)
        except subprocess.CalledProcessError as exc:
            problems.append(f"{name} ({kind}): `uv sync --package {name} --locked` failed ({exc.returncode})")
            continue
        probe = subprocess.run([str(venv / "bin" / "python"), "-c", _PROBE, name, "1" if extras else "0"],
                               cwd=tmp, capture_output=True, text=True, timeout=300, check=False)
        if probe.returncode != 0:
            problems.append(f"{name} ({kind}): the import probe crashed:\n{probe.stderr}")
            continue
        report = json.loads(probe.stdout)
        for module, trace in report["failures"]:
            problems.append(f"{name} ({kind}): {module} does not import:\n{trace}")
        for script in report["scripts"]:
            run = subprocess.run([str(venv / "bin" / script), "--help"], cwd=tmp, capture_output=True, text=True,
                                 timeout=120, check=False)
            if run.returncode != 0:
                problems.append(f"{name} ({kind}): `{script} --help` exited {run.returncode}:\n{run.stderr[-2000:]}")
        skipped = ", ".join(sorted({m for _, m in report["skipped"]}))
        lines.append(f"  {name:22} {kind:10} {report['imported']:3} modules import"
                     + (f" ({len(report['skipped'])} need extras: {skipped})" if skipped else "")
                     + f", {len(report['scripts'])} command(s) answer --help  [{time.monotonic() - started:.1f} s]")
    return lines, problems


def main(argv: list[str] | None = None) -> int:
    """Check each named member (default: all); exit 1 with the problems if any."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", default=MEMBERS, help="workspace members (default: all)")
    parser.add_argument("--uv", default=str(ROOT / ".tools" / "uv" / "bin" / "uv"), help="the uv to use")
    parser.add_argument("--python", default="python3", help="the interpreter for the environments")
    parser.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1), help="members checked at once")
    args = parser.parse_args(argv)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hookseal-packages-") as tmp, \
            ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for lines, found in pool.map(lambda name: check(args.uv, args.python, name, Path(tmp)), args.names):
            print("\n".join(lines), flush=True)
            problems += found
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
