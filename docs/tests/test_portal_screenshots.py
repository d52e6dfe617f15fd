"""docs/_build/portal_screenshots.py (``make screenshots``): it runs, and the docs use what it makes.

The script is run as ``make screenshots`` runs it, into a temporary folder: a sender, a
customer's history, the portal in headless chromium. Every image it makes must be one the
portal page shows, each committed copy must exist at the width the script makes it, and
a PNG must be cropped to its page (no blank band, checked in test_browser.py).
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from docs_support import load_build_module

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "_build" / "portal_screenshots.py"
PORTAL_DOC = ROOT / "reference_sender" / "PORTAL.md"
shots = load_build_module("portal_screenshots")


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_every_screenshot_is_on_the_portal_page_and_committed() -> None:
    shown = set(re.findall(r"assets/portal/([\w-]+)\.png", PORTAL_DOC.read_text(encoding="utf-8")))
    assert shown == set(shots.SHOTS)  # type: ignore[attr-defined]
    for name in shots.SHOTS:  # type: ignore[attr-defined]
        width, height = _png_size(shots.OUT / f"{name}.png")  # type: ignore[attr-defined]
        expected = shots.PHONE if name.startswith("phone-") else shots.DESKTOP  # type: ignore[attr-defined]
        assert width == expected["width"], f"{name}.png is {width} px wide: run make screenshots"
        assert height <= shots.MAX_HEIGHT, name  # type: ignore[attr-defined]


def test_make_screenshots_regenerates_them_from_a_running_portal(tmp_path: Path) -> None:
    if not Path(shots.CHROMIUM).exists():  # type: ignore[attr-defined]
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=240, check=False,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    made = sorted(p.stem for p in tmp_path.glob("*.png"))
    assert made == sorted(shots.SHOTS)  # type: ignore[attr-defined]
    for path in tmp_path.glob("*.png"):
        width, height = _png_size(path)
        expected = shots.PHONE if path.stem.startswith("phone-") else shots.DESKTOP  # type: ignore[attr-defined]
        assert width == expected["width"] and 200 <= height <= shots.MAX_HEIGHT, (path.name, width, height)  # type: ignore[attr-defined]
        assert path.stat().st_size < 400_000, f"{path.name}: {path.stat().st_size} bytes"
