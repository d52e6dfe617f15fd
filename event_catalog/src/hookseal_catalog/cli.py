"""The ``hookseal-catalog`` command.

Subcommands (``--catalog DIR`` selects another catalog than the shipped one, for every
subcommand but ``init``)::

    hookseal-catalog init DIR [--name N] [--title T] [--base-uri URI]   a new catalog of your own
    hookseal-catalog list [--json]                      event types, versions, status, criticality
    hookseal-catalog show TYPE [--version N] [--json | --markdown]
    hookseal-catalog example TYPE [--version N] [--envelope]
    hookseal-catalog validate FILE|- [--type TYPE [--version N]]
    hookseal-catalog lint [--json] [--derivations MODULE]
    hookseal-catalog diff [OLD [NEW]] [--json]          directories or git revisions (default:
                                                        the released snapshot -> the catalog)
    hookseal-catalog export --openapi [-o FILE] [--profile P] [--header-prefix P] [--strict]
    hookseal-catalog release [--snapshot DIR]           freeze released versions
    hookseal-catalog check-released [--snapshot DIR] [--json]
    hookseal-catalog generate-models [-o DIR] [--package NAME] [--check]

Exit codes: 0 success; 1 a check failed (lint errors, a blocking diff, invalid payload,
stale models, a broken snapshot); 2 usage errors, unknown events and unreadable catalogs.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from hookseal.profiles import DEFAULT_HEADER_PREFIX, HOOKSEAL_V1, PROFILES

from .catalog import Catalog, load_catalog
from .errors import CatalogError, PayloadValidationError, SnapshotError

__all__ = ["main"]

DEFAULT_MODELS_DIR = "sdk/python/src/hookseal/models"


def _date(text: str) -> _dt.date:
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text!r}") from None


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _catalog(args: argparse.Namespace) -> Catalog:
    return load_catalog(args.catalog)


def _cmd_list(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    rows: list[dict[str, Any]] = [
        {
            "type": ev.type,
            "version": ev.version,
            "status": ev.status,
            "current": ev.version == catalog.events[ev.type].current.version,
            "criticality": ev.criticality,
            "sunset": ev.sunset,
        }
        for ev in catalog.versions()
    ]
    if args.json:
        _print_json(rows)
        return 0
    width = max((len(str(r["type"])) for r in rows), default=4)
    for r in rows:
        marks = " (current)" if r["current"] else ""
        sunset = f", sunset {r['sunset']}" if r["sunset"] else ""
        print(f"{r['type']:<{width}}  v{r['version']}  {r['status']:<10} {r['criticality']:<6}{marks}{sunset}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from .reference import event_reference, to_markdown

    catalog = _catalog(args)
    ref = event_reference(catalog, args.type)
    if args.version is not None:
        catalog.get(args.type, args.version)  # UnknownEventError for a bad version
        ref = dataclasses.replace(ref, versions=tuple(v for v in ref.versions if v.version == args.version))
    if args.json:
        _print_json(dataclasses.asdict(ref))
    elif args.markdown:
        print(to_markdown(ref))
    else:
        print(f"{ref.type}: {ref.description}")
        print(f"  fires when:  {ref.fires_when}")
        print(f"  frequency:   {ref.frequency}")
        print(f"  criticality: {ref.criticality}")
        for version in ref.versions:
            print(f"\nv{version.version} ({version.status}{', current' if version.is_current else ''})")
            for row in version.fields:
                kind = row.type + (" | null" if row.nullable else "")
                req = "required" if row.required else "optional"
                print(f"  {'  ' * row.depth}{row.name}: {kind}, {req}. {row.description}")
    return 0


def _cmd_example(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    if args.envelope:
        _print_json(catalog.example_envelope(args.type, args.version))
    else:
        _print_json(catalog.example(args.type, args.version))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    try:
        value = json.loads(text)
    except ValueError as exc:
        print(f"{args.file}: not JSON: {exc}", file=sys.stderr)
        return 1
    try:
        if args.type:
            catalog.validate(args.type, value, args.version)
            label = f"{args.type} v{catalog.get(args.type, args.version).version} data"
        else:
            ev = catalog.validate_envelope(value)
            label = f"{ev.type} v{ev.version} envelope"
    except PayloadValidationError as exc:
        for issue in exc.issues:
            print(f"{args.file}#{issue.pointer}: {issue.message}", file=sys.stderr)
        print(f"invalid: {exc}", file=sys.stderr)
        return 1
    print(f"valid {label}")
    return 0


def _load_derivations(modules: Sequence[str]) -> None:
    """Import the modules that register the provider's derivation functions (from the
    current directory too, as ``python -m`` would)."""
    import importlib

    if modules and "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise CatalogError(f"--derivations {name}: cannot import it: {exc}") from exc


def _cmd_lint(args: argparse.Namespace) -> int:
    from .derivation import default_registry
    from .lint import lint_catalog

    _load_derivations(args.derivations)
    issues = lint_catalog(args.catalog, today=args.today, registry=default_registry if args.derivations else None)
    errors = [i for i in issues if i.severity == "error"]
    if args.json:
        _print_json({"ok": not errors, "issues": [i.to_dict() for i in issues]})
    else:
        for issue in issues:
            print(issue)
        where = args.catalog or "the shipped catalog"
        print(f"{len(errors)} error(s), {len(issues) - len(errors)} warning(s) in {where}")
    return 1 if errors else 0


def _cmd_diff(args: argparse.Namespace) -> int:
    from .catalog import default_catalog_path
    from .diff import diff_catalogs, load_source
    from .release import SNAPSHOT_DIR, default_snapshot_path

    directory = Path(args.catalog) if args.catalog else default_catalog_path()
    snapshot = default_snapshot_path(args.catalog) / SNAPSHOT_DIR
    if args.old is None and not snapshot.is_dir():
        raise SnapshotError(f"no released snapshot at {snapshot.parent}: run `hookseal-catalog release`, or give OLD")
    old_spec = args.old or str(snapshot)
    new_spec = args.new or str(directory)
    old = load_source(old_spec, repo=args.repo, catalog_dir=directory)
    new = load_source(new_spec, repo=args.repo, catalog_dir=directory)
    old_label = args.old or "released snapshot"
    report = diff_catalogs(old, new, today=args.today, old_label=old_label, new_label=new_spec)
    if args.json:
        _print_json(report.to_dict())
    else:
        print(report.format_text())
    return 0 if report.ok else 1


def _cmd_export(args: argparse.Namespace) -> int:
    from .openapi import export_openapi

    document = export_openapi(
        _catalog(args), profile=args.profile, header_prefix=args.header_prefix, strict=args.strict
    )
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if args.output and args.output != "-":
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output} ({len(document['webhooks'])} webhooks)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _cmd_init(args: argparse.Namespace) -> int:
    from .scaffold import init_catalog

    kwargs: dict[str, Any] = {"name": args.name, "title": args.title, "today": args.today}
    if args.base_uri:
        kwargs["base_uri"] = args.base_uri
    files = init_catalog(args.directory, **kwargs)
    print(f"new catalog in {args.directory}: {len(files)} files")
    print(f"next: hookseal-catalog lint --catalog {args.directory}")
    return 0


def _cmd_release(args: argparse.Namespace) -> int:
    from .release import write_snapshot

    files = write_snapshot(_catalog(args), args.snapshot, today=args.today)
    print(f"released snapshot written: {len(files)} files")
    return 0


def _cmd_check_released(args: argparse.Namespace) -> int:
    from .release import check_snapshot

    report = check_snapshot(_catalog(args), args.snapshot, today=args.today)
    if args.json:
        _print_json(
            {"ok": report.ok, "problems": report.problems, "diff": report.diff.to_dict() if report.diff else None}
        )
    else:
        print(report.format_text())
    return 0 if report.ok else 1


def _cmd_generate_models(args: argparse.Namespace) -> int:
    from .codegen import generate_models

    if args.output is None and (args.catalog or args.package):
        print("hookseal-catalog generate-models: give the output directory (-o OUT)", file=sys.stderr)
        return 2
    output = Path(args.output or DEFAULT_MODELS_DIR)
    if args.package:
        from .package import write_package

        changed = write_package(_catalog(args), args.package, output, check=args.check)
        verb = "is up to date" if args.check else f"written: {len(changed)} file(s) changed"
        print(f"package {args.package} in {output} {verb}")
        return 0
    changed = generate_models(_catalog(args), output, check=args.check)
    if args.check:
        print(f"generated models in {output} are up to date")
    else:
        print(f"generated models in {output}: {len(changed)} file(s) changed")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the docs and tests)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--catalog", metavar="DIR", help="catalog directory (default: the shipped catalog)")
    dated = argparse.ArgumentParser(add_help=False)
    dated.add_argument("--today", type=_date, help="UTC date deciding whether sunsets passed (default: today)")

    parser = argparse.ArgumentParser(
        prog="hookseal-catalog",
        description="Hookseal's event catalog: list, validate, lint, diff, export and generate.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", parents=[dated], help="start a new catalog of your own in DIR")
    p.add_argument("directory", metavar="DIR", help="where to write it (absent or empty)")
    p.add_argument("--name", help="catalog name, lowercase words joined by '-' (default: from DIR)")
    p.add_argument("--title", help="a human title (default: from the name)")
    p.add_argument("--base-uri", help="where the schemas will be published, ending with '/'")
    p.set_defaults(func=_cmd_init)

    p = sub.add_parser("list", parents=[common], help="list event types and versions")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("show", parents=[common], help="show an event's reference (fields, lifecycle)")
    p.add_argument("type", help="event type, e.g. invoice.paid")
    p.add_argument("--version", type=int, help="only this major version")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON output")
    fmt.add_argument("--markdown", action="store_true", help="Markdown output")
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("example", parents=[common], help="print an event's example data")
    p.add_argument("type", help="event type")
    p.add_argument("--version", type=int, help="major version (default: current)")
    p.add_argument("--envelope", action="store_true", help="print a whole webhook body")
    p.set_defaults(func=_cmd_example)

    p = sub.add_parser("validate", parents=[common], help="validate an envelope (or, with --type, data)")
    p.add_argument("file", help="JSON file, or - for standard input")
    p.add_argument("--type", help="validate the file as this event's data instead of an envelope")
    p.add_argument("--version", type=int, help="major version for --type (default: current)")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("lint", parents=[common, dated], help="check layout, naming, docs, refs, examples")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument(
        "--derivations",
        metavar="MODULE",
        action="append",
        default=[],
        help="import MODULE, which registers derivation functions (repeatable); "
        "then an unregistered function is an error",
    )
    p.set_defaults(func=_cmd_lint)

    p = sub.add_parser("diff", parents=[common, dated], help="classify changes between two catalogs")
    p.add_argument(
        "old",
        nargs="?",
        help="old catalog: a directory, or a git revision (REV, or REV:PATH; REV alone means the "
        "--catalog directory at REV); default: the catalog's released snapshot",
    )
    p.add_argument("new", nargs="?", help="new catalog: a directory or a git revision (default: --catalog)")
    p.add_argument("--repo", help="git repository for revisions (default: the current directory)")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=_cmd_diff)

    p = sub.add_parser("export", parents=[common], help="export the catalog as OpenAPI 3.1")
    p.add_argument("--openapi", action="store_true", required=True, help="OpenAPI 3.1 with a webhooks section")
    p.add_argument("-o", "--output", help="output file (default: standard output)")
    p.add_argument("--profile", default=HOOKSEAL_V1, choices=list(PROFILES))
    p.add_argument("--header-prefix", default=DEFAULT_HEADER_PREFIX,
                   help=f"{HOOKSEAL_V1} header prefix (default: %(default)s)")
    p.add_argument("--strict", action="store_true", help="keep additionalProperties: false (sender's view)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("release", parents=[common, dated], help="freeze released versions into the snapshot")
    p.add_argument("--snapshot", help="snapshot directory (default: DIR.released beside the catalog)")
    p.set_defaults(func=_cmd_release)

    p = sub.add_parser("check-released", parents=[common, dated], help="fail on breaking changes to released versions")
    p.add_argument("--snapshot", help="snapshot directory (default: DIR.released beside the catalog)")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=_cmd_check_released)

    p = sub.add_parser(
        "generate-models", parents=[common], help="pydantic models: the SDK's, or a package for your customers"
    )
    p.add_argument(
        "-o",
        "--output",
        help=f"output directory (default, for the shipped catalog only: {DEFAULT_MODELS_DIR})",
    )
    p.add_argument(
        "--package",
        metavar="NAME",
        help="write an installable package NAME (pyproject, models, parse_event) into the output directory",
    )
    p.add_argument("--check", action="store_true", help="fail if the committed models are stale")
    p.set_defaults(func=_cmd_generate_models)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``hookseal-catalog``; returns the exit code (see the module documentation)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except CatalogError as exc:
        print(f"hookseal-catalog: {exc}", file=sys.stderr)
        from .errors import CodegenError

        return 1 if isinstance(exc, (CodegenError, SnapshotError)) else 2
    except (OSError, IndexError) as exc:
        print(f"hookseal-catalog: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
