"""Helpers for the docs tests: reading the built HTML and loading the build modules."""

from __future__ import annotations

import html
import re
from pathlib import Path

_TAG = re.compile(r"<[^>]+>")


def page_html(site: Path, page: str) -> str:
    """The HTML of a page by its URL path (``signing/`` -> ``signing/index.html``)."""
    path = site / page / "index.html" if not page.endswith(".html") else site / page
    return path.read_text(encoding="utf-8")


def text_of(markup: str) -> str:
    """Visible text: tags dropped, entities unescaped (code highlighting splits tokens)."""
    return html.unescape(_TAG.sub("", markup))


BUILD_DIR = Path(__file__).resolve().parents[1] / "_build"


def load_build_module(name: str) -> object:
    """Import one of docs/_build's modules (they are MkDocs hooks, not a package)."""
    import importlib.util
    import sys

    if str(BUILD_DIR) not in sys.path:
        sys.path.insert(0, str(BUILD_DIR))  # build modules may import each other by name
    spec = importlib.util.spec_from_file_location(f"hookseal_docs_{name}", BUILD_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module
