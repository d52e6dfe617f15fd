"""What ``typed=`` means: which parser turns a verified envelope into a typed model.

``construct_event(..., typed=...)`` accepts ``True`` (the SDK's own models of the sample
catalog, ``hookseal.models``), a models package generated for a provider's own catalog by
``hookseal-catalog generate-models --package`` (any object with a ``parse_event``), or a
callable taking the envelope dict. Nothing here is imported unless ``typed`` is used.
"""

from __future__ import annotations

from typing import Any, Callable, Union

Typed = Union[bool, Any]
"""``False``, ``True``, a module (or object) with ``parse_event``, or a callable."""


def parser_for(typed: Typed) -> Callable[[dict[str, Any]], Any]:
    """The parse function ``typed`` names (see the module documentation).

    Raises:
        TypeError: ``typed`` is none of the accepted forms.
    """
    if typed is True:
        from .models import parse_event  # optional extra: imported only when asked

        return parse_event
    parse = getattr(typed, "parse_event", None)
    if callable(parse):
        return parse  # type: ignore[no-any-return]
    if callable(typed) and not isinstance(typed, bool):
        return typed  # type: ignore[no-any-return]
    raise TypeError(
        f"typed must be True, a generated models package (with parse_event) or a callable, not {type(typed).__name__}"
    )
