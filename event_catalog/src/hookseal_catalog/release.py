"""The released snapshot: what customers were promised, frozen.

``hookseal-catalog release`` copies every frozen (``released`` or ``deprecated``) event
version, with the envelope, the components and the manifest, into a snapshot directory
kept beside the catalog (:func:`default_snapshot_path`: ``<catalog dir>.released/``, and
``event_catalog/released/`` for the sample catalog in this repository)::

    released/
      lock.json          sha256 of every snapshot file, and the catalog version
      catalog/...        the snapshot: an ordinary catalog directory

``hookseal-catalog check-released`` (and the test suite, so ``make test``) then compares
the working catalog with the snapshot (:func:`check_snapshot`) and fails when:

- a frozen version changed incompatibly (a blocking change, see :mod:`hookseal_catalog.diff`),
  or was removed before its sunset;
- a version is marked released or deprecated in the catalog but is not in the snapshot
  (run ``hookseal-catalog release`` to freeze it);
- a snapshot file was edited by hand (its hash no longer matches ``lock.json``).

Additive changes to a frozen version pass; the next ``release`` records them.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from .catalog import ENVELOPE, MANIFEST, Catalog, default_catalog_path, load_catalog
from .diff import DiffReport, diff_catalogs
from .errors import CatalogError, SnapshotError

__all__ = ["SnapshotReport", "check_snapshot", "default_snapshot_path", "write_snapshot"]

LOCK = "lock.json"
SNAPSHOT_DIR = "catalog"


def default_snapshot_path(catalog_dir: Union[str, Path, None] = None) -> Path:
    """Where a catalog's released snapshot lives by default: beside the catalog directory,
    named after it with ``.released`` (``webhooks/catalog`` -> ``webhooks/catalog.released``).

    The sample catalog shipped in this package (``catalog_dir=None``) keeps its snapshot in
    ``event_catalog/released``, beside the package's source, so that it is never shipped
    inside the package.
    """
    sample = default_catalog_path()
    if catalog_dir is None or Path(catalog_dir).resolve() == sample:
        return sample.parents[2] / "released"
    path = Path(catalog_dir)
    return path.parent / f"{path.resolve().name}.released"


def _snapshot_for(catalog: Catalog, snapshot: Union[str, Path, None]) -> Path:
    if snapshot is not None:
        return Path(snapshot)
    if catalog.root is None:
        raise SnapshotError("this catalog was not loaded from a directory: give the snapshot directory")
    return default_snapshot_path(catalog.root)


@dataclass
class SnapshotReport:
    """The outcome of :func:`check_snapshot`.

    Attributes:
        problems: Reasons the check fails besides the diff (tampering, unsnapshotted releases).
        diff: The classified changes from the snapshot to the catalog.
    """

    problems: list[str] = field(default_factory=list)
    diff: Optional[DiffReport] = None

    @property
    def ok(self) -> bool:
        """True when the catalog keeps every promise of the snapshot."""
        return not self.problems and (self.diff is None or self.diff.ok)

    def format_text(self) -> str:
        """A human-readable report."""
        lines: list[str] = [f"problem: {p}" for p in self.problems]
        if self.diff is not None:
            lines.append(self.diff.format_text())
        lines.append("released snapshot: OK" if self.ok else "released snapshot: FAILED")
        return "\n".join(lines)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _snapshot_files(catalog: Catalog) -> dict[str, Any]:
    files: dict[str, Any] = {MANIFEST: catalog.manifest, ENVELOPE: catalog.envelope_schema}
    for name, doc in catalog.components.items():
        files[f"components/{name}.json"] = doc
    for ev in catalog.versions():
        if ev.is_frozen:
            files[ev.file] = ev.schema
    return files


def _read_lock(snapshot: Path) -> dict[str, Any]:
    lock_path = snapshot / LOCK
    try:
        lock = json.loads(lock_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SnapshotError(f"no released snapshot at {snapshot} (run `hookseal-catalog release`)") from None
    except ValueError as exc:
        raise SnapshotError(f"{lock_path} is not valid JSON: {exc}") from None
    if not isinstance(lock, dict) or not isinstance(lock.get("files"), dict):
        raise SnapshotError(f'{lock_path} has no "files" table')
    return lock


def _verify_hashes(snapshot: Path, lock: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    root = snapshot / SNAPSHOT_DIR
    listed = dict(lock["files"])
    present = {p.relative_to(root).as_posix() for p in root.rglob("*.json")} if root.is_dir() else set()
    for rel in sorted(set(listed) | present):
        if rel not in listed:
            problems.append(f"{SNAPSHOT_DIR}/{rel} is not in {LOCK}: the snapshot was edited by hand")
        elif rel not in present:
            problems.append(f"{SNAPSHOT_DIR}/{rel} listed in {LOCK} is missing")
        elif _sha256(root / rel) != listed[rel]:
            problems.append(
                f"{SNAPSHOT_DIR}/{rel} does not match its hash in {LOCK}: released files are only "
                "written by `hookseal-catalog release`"
            )
    return problems


def check_snapshot(
    catalog: Optional[Catalog] = None,
    snapshot: Union[str, Path, None] = None,
    *,
    today: Optional[_dt.date] = None,
) -> SnapshotReport:
    """Compare ``catalog`` (default: the shipped one) with its released snapshot
    (``snapshot``, default: :func:`default_snapshot_path` of the catalog's directory).

    Raises:
        SnapshotError: there is no snapshot, or its lock file is unreadable.
    """
    catalog = catalog if catalog is not None else load_catalog()
    snap = _snapshot_for(catalog, snapshot)
    lock = _read_lock(snap)
    report = SnapshotReport(problems=_verify_hashes(snap, lock))
    try:
        released = load_catalog(snap / SNAPSHOT_DIR)
    except CatalogError as exc:
        report.problems.append(f"cannot load the snapshot: {exc}")
        return report
    report.diff = diff_catalogs(released, catalog, today=today, old_label="released snapshot", new_label="catalog")
    for ev in catalog.versions():
        if not ev.is_frozen:
            continue
        if ev.type not in released.events or ev.version not in released.events[ev.type].versions:
            report.problems.append(
                f"{ev.type} v{ev.version} is {ev.status} but not in the released snapshot: "
                "run `hookseal-catalog release` to freeze it"
            )
    return report


def write_snapshot(
    catalog: Optional[Catalog] = None,
    snapshot: Union[str, Path, None] = None,
    *,
    today: Optional[_dt.date] = None,
) -> list[str]:
    """Freeze the catalog's released versions into its snapshot (``snapshot``, default:
    :func:`default_snapshot_path` of the catalog's directory); returns the files written.

    Refuses (``SnapshotError``) when the catalog breaks the existing snapshot: a release
    cannot launder a breaking change. Versions removed after their sunset leave the snapshot.
    """
    catalog = catalog if catalog is not None else load_catalog()
    snap = _snapshot_for(catalog, snapshot)
    if (snap / LOCK).exists():
        report = check_snapshot(catalog, snap, today=today)
        blocking = report.diff.blocking if report.diff is not None else []
        tampered = [p for p in report.problems if "hash" in p or "by hand" in p or "missing" in p]
        if blocking or tampered:
            details = "\n".join([*tampered, *(f"{c.target} {c.path}: {c.message}" for c in blocking)])
            raise SnapshotError(f"refusing to release over the existing snapshot:\n{details}")
    files = _snapshot_files(catalog)
    root = snap / SNAPSHOT_DIR
    if root.exists():
        shutil.rmtree(root)
    hashes: dict[str, str] = {}
    for rel, doc in sorted(files.items()):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        hashes[rel] = _sha256(path)
    lock = {
        "catalog": catalog.name,
        "version": catalog.version,
        "note": "Written by `hookseal-catalog release`; checked by `hookseal-catalog check-released`. Do not edit.",
        "files": hashes,
    }
    (snap / LOCK).write_text(json.dumps(lock, indent=2) + "\n", encoding="utf-8")
    return sorted(files)
