"""HMAC-SHA256 states keyed once and copied per request.

``hmac.HMAC`` wraps OpenSSL's HMAC in Python methods; calling the C object directly
removes four Python-level calls from every verification, which at small bodies is a
large share of the cost. Falls back to :mod:`hmac` where ``_hashlib`` is unavailable.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Protocol


class Mac(Protocol):
    """The part of an HMAC object the verifier uses."""

    def copy(self) -> Mac: ...
    def update(self, data: bytes, /) -> None: ...
    def digest(self) -> bytes: ...
    def hexdigest(self) -> str: ...


_c_hmac_new: Any
try:
    from _hashlib import hmac_new as _c_hmac_new
except ImportError:  # pragma: no cover - CPython without OpenSSL, or another interpreter
    _c_hmac_new = None


def keyed_sha256(key: bytes) -> Mac:
    """Return an HMAC-SHA256 state keyed with ``key``, to be ``copy()``-ed per message."""
    if _c_hmac_new is not None:
        try:
            mac: Mac = _c_hmac_new(key, digestmod="sha256")
        except (TypeError, ValueError):  # pragma: no cover - e.g. a FIPS-restricted OpenSSL
            pass
        else:
            return mac
    return hmac.new(key, digestmod=hashlib.sha256)
