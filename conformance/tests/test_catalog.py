"""The catalog the suite uses: the sample's, or the one given with --catalog."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from corpus_runner import OTHER_ID_PATTERN, init_catalogs
from hookseal_catalog import CatalogLoadError
from hookseal_conformance import _catalog


@pytest.fixture
def catalogs(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    yield init_catalogs(tmp_path)
    _catalog.use_catalog(None)


def test_use_catalog_switches_types_examples_and_schemas(catalogs: tuple[Path, Path]) -> None:
    own, other = catalogs
    sample_body = _catalog.catalog().example_envelope("invoice.paid")
    _catalog.use_catalog(own)
    assert not _catalog.is_sample() and _catalog.event_types() == ["order.created", "test.ping"]
    body = _catalog.catalog().example_envelope("order.created")
    assert _catalog.envelope_problems(body) == ""
    assert _catalog.envelope_problems(sample_body) != ""  # not one of this catalog's types
    _catalog.use_catalog(other)
    assert OTHER_ID_PATTERN in _catalog.envelope_problems(body)
    _catalog.use_catalog(None)
    assert _catalog.is_sample() and "invoice.paid" in _catalog.event_types()


def test_a_catalog_that_does_not_load_changes_nothing(catalogs: tuple[Path, Path],
                                                     tmp_path: Path) -> None:
    own, _ = catalogs
    _catalog.use_catalog(own)
    with pytest.raises(CatalogLoadError, match="not a directory"):
        _catalog.use_catalog(tmp_path / "missing")
    assert _catalog.event_types() == ["order.created", "test.ping"]
