"""``hookseal-conformance``: run the suite against a verifier or a sender adapter.

It runs pytest on the packaged test modules (:mod:`hookseal_conformance.suite`) through
the plugin, so every pytest option works after ``--``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from .features import CHECKED, FEATURES
from .plugin import DEFAULT_EXAMPLES, DEFAULT_STARTUP_TIMEOUT, EXIT_ADAPTER_UNUSABLE, PROFILE_CHOICES

SUITE = Path(__file__).resolve().parent / "suite"
VERIFIER_MODULES = (
    "test_verifier_vectors.py",
    "test_verifier_properties.py",
    "test_verifier_ed25519.py",
    "test_verifier_protocol.py",
    "test_verifier_timing.py",
)
SENDER_MODULES = ("test_sender.py", "test_sender_features.py")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hookseal-conformance",
        description="Check a webhook verifier or sender against the Hookseal contract "
        "through a JSON-lines adapter. Exits 0 only when it conforms.",
    )
    sub = parser.add_subparsers(dest="side", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--adapter", required=True, metavar="CMD",
                        help="adapter command line (started once; JSON lines on stdio)")
    common.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES, metavar="N",
                        help=f"Hypothesis examples per property (default {DEFAULT_EXAMPLES})")
    common.add_argument("--seed", type=int, metavar="N",
                        help="fixed Hypothesis seed, for reproducible CI runs")
    common.add_argument("--junit-xml", metavar="PATH", help="also write a JUnit XML report")
    common.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS",
                        help="time bound for each adapter answer (default 5; the first "
                        "answer may also take 120 s of startup, e.g. to compile)")
    common.add_argument("--startup-timeout", type=float, default=DEFAULT_STARTUP_TIMEOUT,
                        metavar="SECONDS",
                        help="extra time the adapter's first answer may take (default "
                        f"{DEFAULT_STARTUP_TIMEOUT:g}); an adapter that exits or stays silent "
                        "that long stops the run at once (exit status 2)")
    common.add_argument("--shrink-seconds", type=int, default=30, metavar="N",
                        help="most seconds spent shrinking one failing property (default 30; "
                        "0: report the first failing example unshrunk)")
    common.add_argument("--require-ed25519", action="store_true",
                        help="fail (instead of skip) when v1a / Ed25519 is not supported")
    common.add_argument("-k", metavar="EXPR", help="only run properties matching EXPR")
    common.add_argument("-v", "--verbose", action="store_true", help="list every property")
    common.add_argument("pytest_args", nargs="*", metavar="-- PYTEST_ARGS",
                        help="further pytest options, after --")
    verifier = sub.add_parser("verifier", parents=[common],
                              help="check a verifier (contract 5.1 adapter)")
    verifier.add_argument("--profile", default="all",
                          choices=PROFILE_CHOICES,
                          help="profile(s) to check (default: all the adapter implements)")
    verifier.add_argument("--vectors", metavar="PATH", help="shared vectors file to use")
    verifier.add_argument("--timing-stats", type=int, default=0, metavar="N",
                          help="also run the dudect-style timing test with N samples per class")
    verifier.add_argument("--no-observe", action="store_true",
                          help="do not inject the constant-time comparison probes")
    verifier.add_argument("--source", action="append", default=[], metavar="PATH",
                          help="verifier source (Go/PHP) for the constant-time source check")
    sender = sub.add_parser("sender", parents=[common],
                            help="check a sender (sender adapter, see the README)")
    sender.add_argument("--require", action="append", default=[], metavar="FEATURE",
                        choices=("all", *FEATURES),
                        help="fail (instead of skip) when the sender's hello does not declare "
                        "FEATURE; repeatable; 'all' for every feature the suite checks "
                        f"({', '.join(CHECKED)})")
    sender.add_argument("--catalog", metavar="DIR",
                        help="your own catalog directory (hookseal-catalog init): send its "
                        "event types and examples, check received bodies against its "
                        "schemas (default: the sample catalog)")
    return parser


def pytest_args(args: argparse.Namespace) -> list[str]:
    """Translate the command line into pytest arguments."""
    modules = VERIFIER_MODULES if args.side == "verifier" else SENDER_MODULES
    out = [str(SUITE / m) for m in modules]
    out += ["-c", str(SUITE / "pytest.ini"), "--rootdir", str(SUITE),
            "-p", "no:cacheprovider", "--tb=native", "-rfEs", "--color=no"]
    out.append("-v" if args.verbose else "-q")
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        out += ["-p", "hookseal_conformance.plugin", "-p", "hypothesis"]
    option = "--hookseal-verifier" if args.side == "verifier" else "--hookseal-sender"
    out += [option, args.adapter, "--hookseal-examples", str(args.examples),
            "--hookseal-timeout", str(args.timeout),
            "--hookseal-startup-timeout", str(args.startup_timeout),
            "--hookseal-shrink-seconds", str(args.shrink_seconds)]
    if args.seed is not None:
        out += ["--hypothesis-seed", str(args.seed)]
    if args.junit_xml:
        out += ["--junit-xml", args.junit_xml, "-o", "junit_family=xunit2"]
    if args.require_ed25519:
        out.append("--hookseal-require-ed25519")
    if args.k:
        out += ["-k", args.k]
    if args.side == "verifier":
        out += ["--hookseal-profile", args.profile]
        if args.vectors:
            out += ["--hookseal-vectors", args.vectors]
        if args.timing_stats:
            out += ["--hookseal-timing-stats", str(args.timing_stats)]
        if args.no_observe:
            out.append("--hookseal-no-observe")
        for source in args.source:
            out += ["--hookseal-source", source]
    else:
        for feature in args.require:
            out += ["--hookseal-require", feature]
        if args.catalog:
            out += ["--hookseal-catalog", args.catalog]
    return out + list(args.pytest_args)


def _catalog_problem(directory: str) -> str:
    """Why the catalog in ``directory`` cannot be used ("" when it loads)."""
    from hookseal_catalog import CatalogError, load_catalog

    try:
        load_catalog(directory)
    except CatalogError as exc:
        return str(exc)
    return ""


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI; return 0 only when the implementation conforms.

    Returns 1 when it does not conform and 2 when the adapter exited or never answered its
    first request, or ``--catalog`` names no catalog that loads (nothing was checked).
    """
    args = _parser().parse_args(argv)
    if args.side == "sender" and args.catalog:
        problem = _catalog_problem(args.catalog)
        if problem:
            print(f"hookseal-conformance: --catalog {args.catalog}: {problem}\n  nothing was "
                  "checked.", file=sys.stderr)
            return 2
    import pytest

    code = pytest.main(pytest_args(args))
    if code == EXIT_ADAPTER_UNUSABLE:
        # pytest has printed the one message saying why; nothing was checked.
        return 2
    if code == 0:
        print(f"hookseal-conformance: the {args.side} conforms.")
        return 0
    print(f"hookseal-conformance: the {args.side} does NOT conform (pytest exit {int(code)}).",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
