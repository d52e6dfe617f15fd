"""hookseal_catalog.scaffold: `init` writes a new catalog that is lint-clean and usable."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hookseal_catalog import load_catalog
from hookseal_catalog.errors import ScaffoldError
from hookseal_catalog.lint import lint_catalog
from hookseal_catalog.ordering import ordering_key
from hookseal_catalog.scaffold import init_catalog

TODAY = dt.date(2026, 12, 1)


def test_a_new_catalog_is_lint_clean_and_complete(tmp_path: Path) -> None:
    target = tmp_path / "Acme Webhooks"
    files = init_catalog(target, base_uri="https://schemas.acme.test/hooks/", today=TODAY)
    assert "README.md" in files and "events/test.ping/v1.json" in files
    assert lint_catalog(target, today=TODAY) == []
    catalog = load_catalog(target)
    assert catalog.name == "acme-webhooks" and catalog.base_uri == "https://schemas.acme.test/hooks/"
    assert sorted(catalog.events) == ["order.created", "test.ping"]
    example = catalog.get("order.created")
    assert example.fires_when and example.frequency and example.criticality and example.examples
    assert example.released == "2026-12-01" and ordering_key(catalog, "order.created") == "/order/id"
    assert all(str(doc.get("$id", "")).startswith(catalog.base_uri) for doc in catalog.documents.values()
               if isinstance(doc, dict) and "$id" in doc)  # fmt: skip
    catalog.validate_envelope(catalog.example_envelope("test.ping"))
    readme = (target / "README.md").read_text(encoding="utf-8")
    for topic in ("## Naming", "## Versioning", "## Sunsets", "derivation", "ordering_key"):
        assert topic in readme
    assert "{{" not in readme


def test_the_envelope_and_test_ping_are_the_samples(tmp_path: Path) -> None:
    init_catalog(tmp_path / "c", today=TODAY)
    new, sample = load_catalog(tmp_path / "c"), load_catalog()
    assert new.envelope_schema["properties"] == sample.envelope_schema["properties"]
    assert new.get("test.ping").schema["properties"] == sample.get("test.ping").schema["properties"]


def test_init_refuses_to_overwrite_or_misname(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ScaffoldError, match="not an empty directory") as info:
        init_catalog(tmp_path / "full")
    assert info.value.code == "scaffold_error"
    assert (tmp_path / "full" / "keep.txt").read_text(encoding="utf-8") == "mine"
    with pytest.raises(ScaffoldError, match="catalog name"):
        init_catalog(tmp_path / "x", name="Bad Name")
    with pytest.raises(ScaffoldError, match="base_uri"):
        init_catalog(tmp_path / "y", base_uri="schemas.acme.test")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
