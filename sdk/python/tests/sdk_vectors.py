"""Loading the shared vectors file for the SDK's tests (a missing file fails, never skips)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
VECTORS = REPO / "sdk" / "vectors" / "vectors.json"


def load_vectors() -> dict[str, Any]:
    """The whole shared vectors document."""
    return json.loads(VECTORS.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def load_vector_cases() -> list[dict[str, Any]]:
    """Every case of the shared vectors file, in file order."""
    return [case for group in load_vectors()["testGroups"] for case in group["tests"]]
