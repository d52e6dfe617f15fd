"""Redaction (contract 4.3): optional fields of ``data`` an endpoint never receives.

An endpoint's ``redact`` is a list of JSON Pointers into ``data``; a ``*`` token stands
for every item of an array or every value of a map (``/invoice/lines/*/description``).
At registration each pointer must name a field of at least one event type the endpoint
takes, and a field that is optional in every version the catalog holds of every type it
takes; the catalog is the sender's (the option context's, else the sample). When
the body is built for the endpoint (each attempt, before signing) the fields are dropped
and the rest of the envelope is left as it was enqueued.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Optional

import orjson

from .catalog import event_catalog
from .errors import InvalidRedactionError, InvalidRequestError

__all__ = ["MAX_POINTERS", "check_redact", "redact_payload"]

#: Most pointers in one endpoint's ``redact``.
MAX_POINTERS = 50

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _tokens(pointer: str) -> tuple[str, ...]:
    """The tokens of a pointer into ``data`` (never the whole of it)."""
    from hookseal_catalog.fields import parse_pointer

    return tuple(parse_pointer(pointer))


def _catalog_of(context: Any) -> Any:
    """The catalog of an option context: the sender's, or the sample without one."""
    sender_catalog = getattr(context, "catalog", None)
    return sender_catalog.catalog if sender_catalog is not None else event_catalog()


def _event_types(catalog: Any, types: Optional[list[str]]) -> list[Any]:
    """The catalog's event types an endpoint taking ``types`` receives (``None``: all)."""
    names = list(catalog.events) if types is None else [t for t in types if t in catalog]
    return [catalog.event(t) for t in names]


def check_redact(value: Any, context: Any) -> Optional[list[str]]:
    """The ``redact`` option's check (:data:`hookseal_sender._options.OPTION_CHECKS`).

    Args:
        value: A list of JSON Pointers into ``data``, or ``None`` for none.
        context: The endpoint's :class:`~hookseal_sender._options.OptionContext` (the event
            types it takes decide which fields are required).

    Returns:
        The pointers as stored (duplicates dropped, order kept).

    Raises:
        InvalidRequestError: Not a list of strings (``invalid_request``).
        InvalidRedactionError: More than :data:`MAX_POINTERS`, a string that is not a JSON
            Pointer into ``data``, a pointer to a field required in any version of any
            event type the endpoint takes, or one that names no field of any of them.
    """
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise InvalidRequestError("redact must be a list of JSON Pointers or null")
    pointers = list(dict.fromkeys(value))
    if len(pointers) > MAX_POINTERS:
        raise InvalidRedactionError(f"at most {MAX_POINTERS} redacted fields, not {len(pointers)}")
    from hookseal_catalog.errors import UnknownEventError, UnknownFieldError
    from hookseal_catalog.fields import is_required_field

    catalog = _catalog_of(context)
    types = _event_types(catalog, context.event_types)
    for pointer in pointers:
        try:
            _tokens(pointer)
        except ValueError as exc:
            raise InvalidRedactionError(f"redact: {exc}") from None
        known = False
        for event in types:
            for ev in event:
                try:
                    required = is_required_field(catalog, ev.type, pointer, ev.version)
                except (UnknownFieldError, UnknownEventError):
                    continue
                known = True
                if required:
                    raise InvalidRedactionError(
                        f"redact: {pointer} is a required field of {ev.type} (version "
                        f"{ev.version}); only optional fields can be redacted")
        if types and not known:
            raise InvalidRedactionError(
                f"redact: {pointer} names no field of the event types this endpoint takes")
    return pointers


def _drop(node: Any, tokens: tuple[str, ...]) -> None:
    """Remove what ``tokens`` name under ``node``, in place (``*``: every item or value)."""
    head, rest = tokens[0], tokens[1:]
    if head == "*":
        if not isinstance(node, (dict, list)):
            return
        if not rest:
            node.clear()
            return
        for child in list(node.values()) if isinstance(node, dict) else node:
            _drop(child, rest)
    elif isinstance(node, dict):
        if not rest:
            node.pop(head, None)
        elif head in node:
            _drop(node[head], rest)
    # a bare index into an array is never optional in a schema: only go through it
    elif isinstance(node, list) and rest and head.isdigit() and int(head) < len(node):
        _drop(node[int(head)], rest)


@functools.lru_cache(maxsize=1024)
def _parsed(pointers: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple(_tokens(p) for p in pointers)


def redact_payload(payload: str, pointers: Optional[list[str]]) -> str:
    """The body an endpoint with ``redact`` receives: ``payload`` without those fields.

    Args:
        payload: The envelope's JSON text as enqueued.
        pointers: The endpoint's redacted pointers into ``data`` (``None`` or empty: the
            payload is returned unchanged, not re-encoded).

    Returns:
        Compact JSON text of the envelope without the redacted fields.
    """
    if not pointers:
        return payload
    # The json module reads integers past 64 bits exactly (orjson makes them floats).
    doc = json.loads(payload)
    data = doc.get("data") if isinstance(doc, dict) else None
    if isinstance(data, (dict, list)):
        for tokens in _parsed(tuple(pointers)):
            _drop(data, tokens)
    try:
        return orjson.dumps(doc).decode()
    except TypeError:  # orjson.JSONEncodeError: big integers again
        return _ENCODER.encode(doc)
