"""hookseal_catalog.mkdocs_plugin: a provider's own mkdocs site gets the event reference of
its own catalog from the plugin (a real, strict mkdocs build)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from hookseal_catalog.scaffold import init_catalog


def _build(site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(site / "mkdocs.yml"), "-d", str(site / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_provider_site_renders_its_own_catalog(tmp_path: Path) -> None:
    init_catalog(tmp_path / "webhooks", name="acme", today=dt.date(2026, 12, 1))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Acme\n\nSee [our events](events/index.md).\n", encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: Acme\nplugins:\n  - hookseal-catalog:\n      catalog: webhooks\n", encoding="utf-8"
    )
    result = _build(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "out" / "events"
    assert json.loads((out / "events.json").read_text(encoding="utf-8")) == ["order.created", "test.ping"]
    page = (out / "order.created" / "index.html").read_text(encoding="utf-8")
    assert "order.<wbr>total.<wbr>amount" in page and "ord_3Kq8Zt2Lm9" in page and "/order/id" in page
    about = (out / "about-the-catalog" / "index.html").read_text(encoding="utf-8")
    assert "Versioning" in about and "Sunsets" in about  # the catalog's own README
    assert not (out / "SUMMARY").exists()  # navigation for literate-nav, not a page


def test_a_catalog_that_does_not_load_fails_the_build(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Acme\n", encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: Acme\nplugins:\n  - hookseal-catalog:\n      catalog: missing\n", encoding="utf-8"
    )
    result = _build(tmp_path)
    assert result.returncode != 0 and "hookseal-catalog: cannot load the event catalog" in result.stderr
