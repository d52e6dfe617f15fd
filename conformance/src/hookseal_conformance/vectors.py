"""Find and load the shared test vectors (``sdk/vectors/vectors.json``).

The file ships inside the wheel (``hookseal_conformance/_data/vectors.json``); editable
installs fall back to the repository copy. A missing file is an error, never a skip.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .errors import VectorsMissingError

ENV_VAR = "HOOKSEAL_CONFORMANCE_VECTORS"


@dataclass(frozen=True)
class VectorCase:
    """One shared-vectors case: a ready adapter request and the answer it must get."""

    tc_id: int
    profile: str
    comment: str
    flags: tuple[str, ...]
    request: dict[str, Any]
    expected: dict[str, Any] = field(default_factory=dict)

    @property
    def ed25519(self) -> bool:
        """Whether the case exercises ``v1a`` (Ed25519) signatures."""
        return "ed25519" in self.flags


def candidate_paths(explicit: Optional[str] = None) -> list[Path]:
    """Return where the vectors file is looked for, in order."""
    # A path asked for explicitly is the only candidate: never silently use another file.
    if explicit:
        return [Path(explicit)]
    if os.environ.get(ENV_VAR):
        return [Path(os.environ[ENV_VAR])]
    paths: list[Path] = []
    here = Path(__file__).resolve().parent
    paths.append(here / "_data" / "vectors.json")
    # Editable install: src/hookseal_conformance -> repository root.
    paths.append(here.parents[2] / "sdk" / "vectors" / "vectors.json")
    return paths


def find_vectors(explicit: Optional[str] = None) -> Path:
    """Return the path of the vectors file.

    Raises:
        VectorsMissingError: no candidate exists.
    """
    tried = candidate_paths(explicit)
    for path in tried:
        if path.is_file():
            return path
    raise VectorsMissingError(
        "shared vectors file not found; tried: " + ", ".join(str(p) for p in tried)
    )


def load_vectors(explicit: Optional[str] = None) -> list[VectorCase]:
    """Load every case of the vectors file, in file order.

    Raises:
        VectorsMissingError: the file is missing, unreadable or has no cases.
    """
    path = find_vectors(explicit)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        cases = [
            VectorCase(
                tc_id=int(test["tcId"]),
                profile=str(group["profile"]),
                comment=str(test.get("comment", "")),
                flags=tuple(test.get("flags", ())),
                request=dict(test["request"]),
                expected=dict(test["expected"]),
            )
            for group in doc["testGroups"]
            for test in group["tests"]
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VectorsMissingError(f"cannot read vectors file {path}: {exc!r}") from exc
    if not cases:
        raise VectorsMissingError(f"vectors file {path} holds no cases")
    return cases
