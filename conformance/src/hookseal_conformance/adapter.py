"""Deprecated name of :mod:`hookseal_conformance.adapter_process` (runs an adapter program).

``hookseal_conformance.Adapter`` is the name to use; this module's ``Adapter`` still works
and warns.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__: list[str] = []


def __getattr__(name: str) -> Any:
    if name == "Adapter":
        warnings.warn("hookseal_conformance.adapter.Adapter is deprecated: use hookseal_conformance.Adapter "
                      "(defined in hookseal_conformance.adapter_process)", DeprecationWarning, stacklevel=2)
        from .adapter_process import Adapter

        return Adapter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
