"""Hookseal's conformance suite: checks any webhook verifier or sender through an adapter.

Run it with the ``hookseal-conformance`` command (see the README). The pieces are usable
on their own: :class:`Adapter` (the JSON-lines runner), :class:`VerifierAdapter` (a
verifier adapter with the constant-time probes), :func:`load_vectors` (the shared
vectors) and the error hierarchy rooted at :class:`ConformanceError`.

Importing the package is cheap; the heavy modules load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    AdapterCrashedError,
    AdapterError,
    AdapterGarbageError,
    AdapterOutOfOrderError,
    AdapterTimeoutError,
    ConformanceError,
    VectorsMissingError,
)

if TYPE_CHECKING:
    from .adapter_process import Adapter
    from .vectors import load_vectors
    from .verifier import VerifierAdapter

__all__ = [
    "Adapter",
    "AdapterCrashedError",
    "AdapterError",
    "AdapterGarbageError",
    "AdapterOutOfOrderError",
    "AdapterTimeoutError",
    "ConformanceError",
    "VectorsMissingError",
    "VerifierAdapter",
    "__version__",
    "load_vectors",
]

_LAZY = {
    "Adapter": ".adapter_process",
    "VerifierAdapter": ".verifier",
    "load_vectors": ".vectors",
}


def __getattr__(name: str) -> Any:
    # Lazy: the verifier module imports the SDK and Hypothesis, which the pytest plugin
    # must not pay for when the suite is not asked to run.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    if name == "__version__":  # stated once, in pyproject.toml: read the installed metadata
        from importlib.metadata import version

        value = globals()["__version__"] = version("hookseal-conformance")
        return value
    raise AttributeError(name)
