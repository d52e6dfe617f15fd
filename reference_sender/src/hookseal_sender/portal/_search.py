"""The delivery log's search box: a delivery id or an event id, whole or its beginning."""

from __future__ import annotations

import re
from typing import Optional

from ..errors import InvalidRequestError

#: What the search box takes: ``dlv_`` or ``evt_`` and up to the 28 hex digits of an id.
SEARCH = re.compile(r"(dlv|evt)_[0-9a-f]{1,28}")
#: The same, as the input's ``pattern`` attribute (browsers check it before submitting).
SEARCH_PATTERN = r"\s*(dlv|evt|DLV|EVT)_[0-9a-fA-F]{1,28}\s*"

__all__ = ["SEARCH", "SEARCH_PATTERN", "search_ids"]


def search_ids(text: str) -> tuple[Optional[str], Optional[str]]:
    """The delivery filter fields a search names.

    Args:
        text: What the customer typed (spaces around it and letter case do not matter).

    Returns:
        ``(id_prefix, event_id_prefix)`` of :class:`~hookseal_sender.models.DeliveryFilter`:
        the delivery id or the event id typed (whole or its beginning), or ``None``.

    Raises:
        InvalidRequestError: Neither; the message says what the box takes.
    """
    value = text.strip().lower()
    if not value:
        return None, None
    if not SEARCH.fullmatch(value):
        raise InvalidRequestError(
            f"search: {text.strip()[:40]!r} is not a delivery id (dlv_...) or an event id "
            "(evt_...); enter a whole id or its beginning")
    return (value, None) if value.startswith("dlv_") else (None, value)
