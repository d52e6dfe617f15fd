"""Example webhook bodies of the sample event catalog, for tests and local trials.

The SDK carries one example envelope per event type and version, generated from the same
catalog as :mod:`hookseal.models` (``make generate``), so no other package is needed::

    from hookseal.examples import example_envelope

    body = json.dumps(example_envelope("invoice.paid")).encode()
    headers = hookseal.sign(body, secret)

``hookseal trigger`` sends these (with a fresh id and timestamp).
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from functools import lru_cache
from importlib import resources
from typing import Any, Optional

__all__ = ["event_types", "example_envelope"]


@lru_cache(maxsize=1)
def _types() -> dict[str, Any]:
    text = resources.files("hookseal").joinpath("_examples.json").read_text(encoding="utf-8")
    types: dict[str, Any] = json.loads(text)["types"]
    return types


def event_types() -> list[str]:
    """Every event type of the sample catalog, sorted (``test.ping``, ``invoice.paid``, ...)."""
    return sorted(_types())


def example_envelope(event_type: str, version: Optional[int] = None, *, fresh: bool = False) -> dict[str, Any]:
    """A complete, schema-valid example body (the envelope) of one event type and version.

    Args:
        event_type: An event type of the sample catalog, e.g. ``"invoice.paid"``.
        version: The event's major version (default: the current one).
        fresh: Give the example a new random ``evt_`` id and the current time as
            ``created``, as a new event would have; otherwise both are fixed, so the body
            is the same on every call.

    Returns:
        A new ``dict`` (``id``, ``type``, ``version``, ``created``, ``livemode``, ``data``)
        the caller may change.

    Raises:
        KeyError: No such event type, or no such version of it (the message lists what
            there is).
    """
    entry = _types().get(event_type)
    if entry is None:
        raise KeyError(f"unknown event type {event_type!r}; known types: {', '.join(event_types())}")
    chosen = entry["current"] if version is None else version
    envelope = entry["versions"].get(str(chosen)) if type(chosen) is int else None
    if envelope is None:
        raise KeyError(f"{event_type} has no version {chosen!r}; versions: {', '.join(sorted(entry['versions']))}")
    envelope = copy.deepcopy(envelope)
    if fresh:
        envelope["id"] = "evt_" + secrets.token_hex(12)
        envelope["created"] = int(time.time())
    return envelope  # type: ignore[no-any-return]
