"""Untrusted text made into values: JSON documents and times, with typed errors.

The admin API, the customer portal and the command line all parse these the same way, so
none of them can fail with an untyped error (a 500, a traceback) on input of these kinds.
"""

from __future__ import annotations

import json
import math
from typing import Any, Optional, Union

from .errors import InvalidRequestError

#: Deepest nesting of arrays and objects accepted in a JSON document. Far more than any
#: event needs, and far less than what exhausts the recursion of the parsers and
#: validators a document passes through.
MAX_JSON_DEPTH = 64


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (a scalar is 0).

    Iterative, so it cannot itself run out of stack.

    Args:
        value: The value.

    Returns:
        The depth.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
            deepest = max(deepest, depth + 1)
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
            deepest = max(deepest, depth + 1)
    return deepest


def check_depth(value: Any, field: str) -> Any:
    """Return ``value`` if it nests at most :data:`MAX_JSON_DEPTH` deep, else raise.

    Args:
        value: A parsed JSON value.
        field: Its name in the error message.

    Returns:
        ``value``.

    Raises:
        InvalidRequestError: It nests deeper.
    """
    if json_depth(value) > MAX_JSON_DEPTH:
        raise InvalidRequestError(
            f"{field} nests arrays and objects more than {MAX_JSON_DEPTH} levels deep")
    return value


def loads_json(text: Union[str, bytes], field: str) -> Any:
    """Parse a JSON document from an untrusted source.

    Args:
        text: The document.
        field: Its name in error messages (``body``, ``--data``, ...).

    Returns:
        The value.

    Raises:
        InvalidRequestError: It is not JSON (or not UTF-8), or nests deeper than
            :data:`MAX_JSON_DEPTH`.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise InvalidRequestError(
            f"{field} nests arrays and objects more than {MAX_JSON_DEPTH} levels deep") from None
    except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError
        raise InvalidRequestError(f"{field} is not JSON: {exc}") from None
    return check_depth(value, field)


def unix_time(value: Any, field: str) -> Optional[float]:
    """A Unix time from a query value, a JSON number or ``None``.

    Args:
        value: Text (``"1765000000"``, ``"1765000000.5"``), a number, or ``None``/``""``.
        field: Its name in error messages (``since``, ``until``, ...).

    Returns:
        Seconds since the epoch, or ``None`` if ``value`` is ``None`` or blank.

    Raises:
        InvalidRequestError: Not a number, or not finite (``nan``, ``inf``), or outside
            years 1970 to 9999.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InvalidRequestError(f"{field} must be a Unix time (seconds), not {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidRequestError(f"{field} must be a Unix time (seconds), "
                                  f"not {str(value)[:40]!r}") from None
    if not math.isfinite(number) or not 0 <= number <= MAX_UNIX_TIME:
        raise InvalidRequestError(f"{field} must be a Unix time between 0 and "
                                  f"{MAX_UNIX_TIME:.0f} (year 9999), not {str(value)[:40]!r}")
    return number


#: 9999-12-31T23:59:59Z: the last time every date formatter can show.
MAX_UNIX_TIME = 253402300799.0
