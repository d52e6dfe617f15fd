"""hookseal_catalog.__version__: stated once (pyproject.toml), read from the installed metadata."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import hookseal_catalog


def test_version_is_the_distributions() -> None:
    assert hookseal_catalog.__version__ == metadata.version("hookseal-catalog")
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert f'\nversion = "{hookseal_catalog.__version__}"\n' in pyproject
