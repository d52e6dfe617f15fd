"""Deprecated name of :mod:`hookseal.verifier_adapter` (the conformance verifier adapter).

``python -m hookseal.adapter`` keeps working, as the same adapter; importing this module
for its functions warns: import them from :mod:`hookseal.verifier_adapter`.
"""

from __future__ import annotations

from typing import Any

from . import verifier_adapter
from ._deprecated import resolve

__all__: list[str] = []

_RENAMED = {name: f"hookseal.verifier_adapter.{name}" for name in ("answer", "main", "serve")}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _RENAMED, name)


if __name__ == "__main__":
    verifier_adapter.main()
