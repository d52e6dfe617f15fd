"""Wrap ``hmac.compare_digest`` and log each call (see ``hookseal_conformance._preload``).

Then run the next ``sitecustomize`` on ``sys.path``, if any, so this one shadows nothing.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

_LOG = os.environ.get("HOOKSEAL_CT_LOG")
_HERE = os.path.dirname(os.path.abspath(__file__))


def _write(line: str) -> None:
    if not _LOG:
        return
    fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _size(value: Any) -> int:
    try:
        return len(value.encode("utf-8")) if isinstance(value, str) else len(value)
    except (TypeError, UnicodeError):
        return -1


if _LOG:
    import hmac

    _original = hmac.compare_digest

    def _compare_digest(a: Any, b: Any) -> bool:
        with contextlib.suppress(OSError):
            _write(f"call python {_size(a)} {_size(b)}\n")
        return _original(a, b)

    hmac.compare_digest = _compare_digest
    if "secrets" in sys.modules:
        sys.modules["secrets"].compare_digest = _compare_digest  # type: ignore[attr-defined]
    with contextlib.suppress(OSError):
        _write(f"loaded python {os.getpid()}\n")


def _chain() -> None:
    import importlib.machinery
    import importlib.util

    others = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", others)
    if spec is None or spec.loader is None or spec.origin == __file__:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


_chain()
