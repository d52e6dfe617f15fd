"""Reading JSON Schema nodes the way the catalog writes them (shared by reference and fields)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_NULL = {"type": "null"}


def unwrap_nullable(schema: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
    """Merge the nullable idiom ``anyOf: [X, {type: null}]`` into X; return (schema, nullable).

    Any other schema comes back as it is, nullable when its ``type`` is or includes ``null``.
    """
    any_of = schema.get("anyOf")
    if isinstance(any_of, list) and _NULL in any_of and len(any_of) == 2:
        inner = next(s for s in any_of if s != _NULL)
        merged = dict(inner)
        merged.update({k: v for k, v in schema.items() if k != "anyOf"})
        return merged, True
    t = schema.get("type")
    return schema, t == "null" or (isinstance(t, list) and "null" in t)
