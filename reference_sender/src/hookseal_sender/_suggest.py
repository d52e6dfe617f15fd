"""Messages for a value that is not one of the allowed ones: what is allowed, and the
closest allowed value ("did you mean invoice.paid?")."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Optional

#: Allowed values listed in a message, at most (the rest are counted).
LISTED = 20


def closest(value: str, choices: Iterable[str]) -> Optional[str]:
    """The allowed value most like ``value``, if one is close enough to be a typo.

    Args:
        value: What was given.
        choices: The allowed values.

    Returns:
        The closest choice (:func:`difflib.get_close_matches`, cutoff 0.6), or ``None``.
    """
    found = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    if not found and value.lower() != value:
        found = difflib.get_close_matches(value.lower(), list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def unknown(kind: str, value: str, choices: Iterable[str], *, plural: str = "") -> str:
    """The message for a value not among ``choices``.

    Args:
        kind: What it is (``event type``, ``status``, ``profile``).
        value: What was given.
        choices: The allowed values, in the order to list them.
        plural: ``kind`` in the plural (default ``kind + "s"``).

    Returns:
        ``unknown event type 'invoice.payed'; did you mean invoice.paid? (event types:
        ...)``, the list cut at :data:`LISTED` with a count of the rest.
    """
    allowed = list(choices)
    hint = closest(value, allowed)
    listed = ", ".join(allowed[:LISTED])
    if len(allowed) > LISTED:
        listed += f" and {len(allowed) - LISTED} more"
    return (f"unknown {kind} {value!r}" + (f"; did you mean {hint}?" if hint else "")
            + f" ({plural or kind + 's'}: {listed})")
