"""Old public names kept as deprecated aliases, so users' code keeps working after a rename."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Mapping
from typing import Any


def resolve(module: str, renamed: Mapping[str, str], name: str) -> Any:
    """Return what the old ``module.name`` now is, with a :class:`DeprecationWarning`.

    For a module's ``__getattr__``: ``return resolve(__name__, _RENAMED, name)``, where
    ``_RENAMED`` maps each old name to the new one's full dotted path.

    Raises:
        AttributeError: ``name`` is not an old name of this module.
    """
    new = renamed.get(name)
    if new is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    warnings.warn(f"{module}.{name} is deprecated: use {new}", DeprecationWarning, stacklevel=3)
    where, attr = new.rsplit(".", 1)
    return getattr(importlib.import_module(where), attr)
