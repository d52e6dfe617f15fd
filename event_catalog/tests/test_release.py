"""hookseal_catalog.release: released versions are frozen against the committed snapshot."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hookseal_catalog import Catalog, load_catalog
from hookseal_catalog.errors import SnapshotError
from hookseal_catalog.release import check_snapshot, default_snapshot_path, write_snapshot

TODAY = dt.date(2026, 11, 23)


def test_the_catalog_keeps_the_promises_of_the_committed_snapshot(catalog: Catalog) -> None:
    """The CI gate: a breaking change to a released version fails `make test` here."""
    snapshot = default_snapshot_path()
    assert (snapshot / "lock.json").is_file(), "run `hookseal-catalog release` and commit event_catalog/released"
    report = check_snapshot(catalog, snapshot)
    assert report.ok, report.format_text()


@pytest.fixture
def snapshot(tmp_path: Path, catalog_dir: Path) -> Path:
    path = tmp_path / "released"
    write_snapshot(load_catalog(catalog_dir), path, today=TODAY)
    return path


def test_release_writes_only_frozen_versions(tmp_path: Path, catalog_dir: Path, edit: Any) -> None:
    edit("events/test.ping/v1.json", lambda d: d["x-hookseal"].update(status="draft"))
    path = tmp_path / "released"
    files = write_snapshot(load_catalog(catalog_dir), path, today=TODAY)
    assert "events/test.ping/v1.json" not in files
    assert "events/invoice.paid/v1.json" in files and "envelope.json" in files and "components/money.json" in files
    lock = json.loads((path / "lock.json").read_text(encoding="utf-8"))
    assert sorted(lock["files"]) == files
    assert check_snapshot(load_catalog(catalog_dir), path, today=TODAY).ok


def test_a_breaking_change_to_a_released_version_fails(snapshot: Path, catalog_dir: Path, edit: Any) -> None:
    def drop_number(doc: dict[str, Any]) -> None:
        doc["properties"].pop("number")
        doc["required"].remove("number")

    edit("components/invoice.json", drop_number)
    report = check_snapshot(load_catalog(catalog_dir), snapshot, today=TODAY)
    assert not report.ok and not report.problems
    assert report.diff is not None
    assert {(c.event, c.kind) for c in report.diff.blocking} >= {("invoice.paid", "field_removed")}
    assert "released snapshot: FAILED" in report.format_text()
    with pytest.raises(SnapshotError, match="refusing to release"):
        write_snapshot(load_catalog(catalog_dir), snapshot, today=TODAY)


def test_an_additive_change_passes_and_is_recorded_by_the_next_release(
    snapshot: Path, catalog_dir: Path, edit: Any
) -> None:
    edit(
        "components/money.json",
        lambda d: d["properties"].update(display={"type": "string", "description": "19.99 EUR"}),
    )
    catalog = load_catalog(catalog_dir)
    report = check_snapshot(catalog, snapshot, today=TODAY)
    assert report.ok and report.diff is not None and report.diff.changes
    write_snapshot(catalog, snapshot, today=TODAY)
    assert check_snapshot(catalog, snapshot, today=TODAY).diff.changes == []  # type: ignore[union-attr]


def test_a_released_version_missing_from_the_snapshot_fails(snapshot: Path, catalog_dir: Path) -> None:
    v3 = catalog_dir / "events" / "payment.failed" / "v3.json"
    doc = json.loads((catalog_dir / "events" / "payment.failed" / "v2.json").read_text(encoding="utf-8"))
    doc["$id"] = doc["$id"].replace("v2", "v3")
    doc["x-hookseal"]["version"] = 3
    v3.write_text(json.dumps(doc), encoding="utf-8")
    report = check_snapshot(load_catalog(catalog_dir), snapshot, today=TODAY)
    assert not report.ok
    assert report.problems == [
        "payment.failed v3 is released but not in the released snapshot: run `hookseal-catalog release` to freeze it"
    ]


def test_hand_edits_to_the_snapshot_are_detected(snapshot: Path, catalog_dir: Path) -> None:
    money = snapshot / "catalog" / "components" / "money.json"
    money.write_text(money.read_text(encoding="utf-8").replace("minor unit", "minor units"), encoding="utf-8")
    (snapshot / "catalog" / "components" / "extra.json").write_text("{}", encoding="utf-8")
    report = check_snapshot(load_catalog(catalog_dir), snapshot, today=TODAY)
    assert not report.ok
    assert any("money.json does not match its hash" in p for p in report.problems)
    assert any("extra.json is not in lock.json" in p for p in report.problems)
    with pytest.raises(SnapshotError, match="refusing"):
        write_snapshot(load_catalog(catalog_dir), snapshot, today=TODAY)


def test_sunset_versions_leave_the_snapshot(snapshot: Path, catalog_dir: Path) -> None:
    (catalog_dir / "events" / "payment.failed" / "v1.json").unlink()
    catalog = load_catalog(catalog_dir)
    assert not check_snapshot(catalog, snapshot, today=TODAY).ok  # before the sunset: blocked
    after = dt.date(2027, 6, 1)
    assert check_snapshot(catalog, snapshot, today=after).ok
    files = write_snapshot(catalog, snapshot, today=after)
    assert "events/payment.failed/v1.json" not in files


def test_missing_snapshot(tmp_path: Path, catalog: Catalog) -> None:
    with pytest.raises(SnapshotError, match="no released snapshot"):
        check_snapshot(catalog, tmp_path / "nowhere")
