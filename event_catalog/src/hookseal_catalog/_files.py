"""Generated files on disk: write the ones that differ, or list them for a ``--check``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def sync_files(files: Mapping[Path, str], *, write: bool = True) -> list[Path]:
    """The files that are missing or differ from ``files`` (path -> text); ``write`` rewrites them."""
    differing: list[Path] = []
    for path, text in files.items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        differing.append(path)
        if write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return differing
