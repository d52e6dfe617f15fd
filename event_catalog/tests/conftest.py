"""Fixtures for the catalog tests: the shipped catalog, and editable copies of it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hookseal_catalog import Catalog, load_catalog
from hookseal_catalog.catalog import default_catalog_path
from hypothesis import HealthCheck, settings

settings.register_profile(
    "catalog",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The shipped catalog (read-only: never mutate it)."""
    return load_catalog()


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped catalog directory, free to edit."""
    target = tmp_path / "catalog"
    shutil.copytree(default_catalog_path(), target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


Editor = Callable[[str, Callable[[Any], Any]], None]


@pytest.fixture
def edit(catalog_dir: Path) -> Editor:
    """``edit("components/money.json", fn)`` applies ``fn`` to that JSON document in place
    (``fn`` may mutate it and return None, or return a replacement)."""

    def apply(rel: str, fn: Callable[[Any], Any]) -> None:
        path = catalog_dir / rel
        doc = json.loads(path.read_text(encoding="utf-8"))
        result = fn(doc)
        path.write_text(json.dumps(doc if result is None else result, indent=2) + "\n", encoding="utf-8")

    return apply
