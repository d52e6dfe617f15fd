"""hookseal.__version__: stated once (pyproject.toml), read from the installed metadata."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import hookseal
from sdk_vectors import REPO


def test_version_is_the_distributions() -> None:
    assert hookseal.__version__ == metadata.version("hookseal")
    pyproject = (REPO / "sdk" / "python" / "pyproject.toml").read_text(encoding="utf-8")
    assert f'\nversion = "{hookseal.__version__}"\n' in pyproject


def test_cli_version_is_the_distributions() -> None:
    out = subprocess.run([sys.executable, "-m", "hookseal.cli", "--version"], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    assert out.strip() == f"hookseal {metadata.version('hookseal')}"


def test_import_does_not_load_importlib_metadata() -> None:
    code = "import sys, hookseal; print('importlib.metadata' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"
