"""Signature headers: their grammar in both profiles, and the signed content.

``hookseal-v1`` (``Hookseal-Signature: t=<ts>,v1=<hex>[,v1=<hex>][,v1a=<b64>]``): split on
``,`` into elements and each element at its first ``=``, with no trimming; unknown keys
are ignored. ``standard-webhooks`` (``webhook-signature: v1,<b64> [v1a,<b64>]``): split on
single spaces into entries and each entry at its first ``,``.

Work is bounded before anything is split: a header longer than :data:`MAX_HEADER_LENGTH`
bytes (UTF-8) or with more than :data:`MAX_ELEMENTS` elements is malformed.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple, cast

from .errors import MalformedHeaderError

__all__ = [
    "MAX_ELEMENTS",
    "MAX_HEADER_LENGTH",
    "HooksealSignatureHeader",
    "StandardSignatureHeader",
    "parse_hookseal_header",
    "parse_standard_header",
]

MAX_HEADER_LENGTH = 8192
"""Longest signature header accepted, in UTF-8 bytes."""

MAX_ELEMENTS = 32
"""Most elements (``hookseal-v1``) or entries (``standard-webhooks``) accepted."""

# Canonical strict standard base64 of exactly 64 bytes (an Ed25519 signature): the last
# data character may only carry zero bits in the positions the padding covers.
_B64_64 = re.compile(r"[A-Za-z0-9+/]{85}[AQgw]==")


_new_tuple: Any = tuple.__new__


class HooksealSignatureHeader(NamedTuple):
    """A parsed ``hookseal-v1`` signature header.

    Attributes:
        timestamp: The ``t`` value exactly as received (not yet validated).
        v1: Every ``v1`` value; a value that is not ASCII is replaced by ``""`` (it can
            match nothing, and constant-time comparison needs ASCII text).
        v1a: Every ``v1a`` (Ed25519) value, as received.
    """

    timestamp: str
    v1: list[str]
    v1a: list[str]


class StandardSignatureHeader(NamedTuple):
    """A parsed ``webhook-signature`` header.

    Attributes:
        v1: Every ``v1`` value (non-ASCII values replaced by ``""``).
        v1a: Every ``v1a`` (Ed25519) value, as received.
    """

    v1: list[str]
    v1a: list[str]


def _check_size(value: str, separator: str, display_name: str) -> list[str]:
    # Bytes, as the contract counts them (a non-ASCII value is longer in UTF-8 than in str).
    if len(value) > MAX_HEADER_LENGTH or (
        not value.isascii() and len(value.encode("utf-8", "surrogatepass")) > MAX_HEADER_LENGTH
    ):
        raise MalformedHeaderError(f"the {display_name} header is longer than {MAX_HEADER_LENGTH} bytes")
    parts = value.split(separator, MAX_ELEMENTS)
    if len(parts) > MAX_ELEMENTS:
        raise MalformedHeaderError(f"the {display_name} header has more than {MAX_ELEMENTS} elements")
    return parts


def parse_hookseal_header(value: str, display_name: str = "Hookseal-Signature") -> HooksealSignatureHeader:
    """Parse a ``hookseal-v1`` signature header.

    Args:
        value: The header value exactly as received.
        display_name: The header's name, for error messages.

    Returns:
        The timestamp text and the ``v1`` and ``v1a`` values. The caller decides whether
        the values present are enough for the keys it holds.

    Raises:
        MalformedHeaderError: Too long, too many elements, or no ``t`` or more than one.
    """
    timestamp = None
    v1: list[str] = []
    v1a: list[str] = []
    for element in _check_size(value, ",", display_name):
        key, _, item = element.partition("=")
        if key == "v1":
            v1.append(item if item.isascii() else "")
        elif key == "t":
            if timestamp is not None:
                raise MalformedHeaderError(f"the {display_name} header has more than one t")
            timestamp = item
        elif key == "v1a":
            v1a.append(item)
    if timestamp is None:
        raise MalformedHeaderError(f"the {display_name} header has no t element")
    # tuple.__new__ skips the NamedTuple's Python-level __new__: this runs on every
    # request that is not in the canonical shape, malformed ones included.
    return cast("HooksealSignatureHeader", _new_tuple(HooksealSignatureHeader, (timestamp, v1, v1a)))


def parse_standard_header(value: str, display_name: str = "webhook-signature") -> StandardSignatureHeader:
    """Parse a Standard Webhooks ``webhook-signature`` header.

    Args:
        value: The header value exactly as received.
        display_name: The header's name, for error messages.

    Returns:
        The ``v1`` and ``v1a`` values; entries of other versions are ignored.

    Raises:
        MalformedHeaderError: Too long, too many entries, or an entry without a comma.
    """
    v1: list[str] = []
    v1a: list[str] = []
    for entry in _check_size(value, " ", display_name):
        version, comma, item = entry.partition(",")
        if not comma:
            raise MalformedHeaderError(f"the {display_name} header has an entry without a comma")
        if version == "v1":
            v1.append(item if item.isascii() else "")
        elif version == "v1a":
            v1a.append(item)
    return cast("StandardSignatureHeader", _new_tuple(StandardSignatureHeader, (v1, v1a)))


def is_canonical_b64_64(value: str) -> bool:
    """True if ``value`` is strict, padded, canonical standard base64 of 64 bytes."""
    return _B64_64.fullmatch(value) is not None
