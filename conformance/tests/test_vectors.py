"""The shared vectors are found (packaged or repository copy) and never silently replaced."""

from __future__ import annotations

from pathlib import Path

import pytest
from hookseal_conformance.errors import VectorsMissingError
from hookseal_conformance.vectors import find_vectors, load_vectors


def test_loads_every_case_of_both_profiles() -> None:
    cases = load_vectors()
    assert {c.profile for c in cases} == {"hookseal-v1", "standard-webhooks"}
    assert any(c.ed25519 for c in cases)
    assert all("profile" in c.request and "ok" in c.expected for c in cases)


def test_explicit_missing_path_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    with pytest.raises(VectorsMissingError):
        find_vectors(str(tmp_path / "missing.json"))


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "vectors.json"
    bad.write_text("{not json")
    with pytest.raises(VectorsMissingError, match="cannot read"):
        load_vectors(str(bad))
