"""Untrusted input made into values: every limit and validator of the sender, in one place.

The :class:`~hookseal_sender.Sender` facade and its services, the admin API, the customer
portal and the command line all check their input here, so a limit is changed in one place
and none of them can fail with an untyped error (a 500, a traceback) on input of these
kinds: JSON documents, Unix times, names, free text, URLs, e-mail addresses, header prefixes,
numbers and delivery filters. Each check raises :class:`~hookseal_sender.InvalidRequestError`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Callable, Optional, Union

from .config import MAX_ROTATION_OVERLAP
from .errors import InvalidRequestError
from .models import DeliveryFilter

#: Fields of an endpoint a tenant may change with :meth:`Sender.update_endpoint`.
UPDATABLE_FIELDS = frozenset({
    "url", "description", "event_types", "signing", "profile", "header_prefix",
    "retry_schedule", "retry_after_cap", "timeout", "notify_email",
    "versions", "filter", "headers", "redact", "rate_limit", "batch", "ordering",
    "auth", "tls_ca_pem",
})

#: Most deliveries one page of :meth:`Sender.list_deliveries` holds.
MAX_PAGE = 500
#: Most deliveries one bulk replay may touch.
MAX_BULK_REPLAY = 10_000

#: Longest endpoint description, in characters.
MAX_DESCRIPTION = 1000
#: Longest tenant id or event type name (an endpoint's subscriptions and ``send``'s type).
MAX_NAME = 200
#: Longest ``hookseal-v1`` header prefix.
MAX_HEADER_PREFIX = 64
#: Longest ``notify_email`` (the longest address SMTP can carry, RFC 5321).
MAX_EMAIL = 254
#: Longest endpoint URL.
MAX_URL = 2048
#: Longest audit-log reason of a replay or cancel.
MAX_REASON = 1000
#: Longest audit actor: room for a portal user's, ``portal:`` and an e-mail address.
MAX_ACTOR = 300

# C0 controls, DEL and lone surrogates: PostgreSQL text cannot hold NUL, no store can
# encode a lone surrogate as UTF-8, and a CR or LF must never reach a header or a log line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
# The same, less the tab and newline free text may contain.
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
# Letters, digits and '-': a subset of RFC 9110's token (what hookseal.Signer accepts), and
# without the '_' that proxies such as nginx drop from header names by default.
_HEADER_PREFIX = re.compile(r"[A-Za-z0-9-]+")


#: Deepest nesting of arrays and objects accepted in a JSON document. Far more than any
#: event needs, and far less than what exhausts the recursion of the parsers and
#: validators a document passes through.
MAX_JSON_DEPTH = 64

#: 9999-12-31T23:59:59Z: the last time every date formatter can show.
MAX_UNIX_TIME = 253402300799.0


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


def check_text(value: Any, name: str, max_len: int, *, multiline: bool = False) -> str:
    """Return ``value`` if it is a string every store can hold, else raise.

    Args:
        value: The value to check.
        name: Its name in the error message.
        max_len: Most characters allowed.
        multiline: Allow tabs and newlines (free text).

    Returns:
        ``value``.

    Raises:
        InvalidRequestError: Not a ``str``, too long, or holding a control character (C0 or
            DEL; tab and newline allowed if ``multiline``) or a lone surrogate.
    """
    if not isinstance(value, str):
        raise InvalidRequestError(f"{name} must be a string")
    if len(value) > max_len:
        raise InvalidRequestError(f"{name} must be at most {max_len} characters")
    bad = (_CONTROL_IN_TEXT if multiline else _CONTROL).search(value)
    if bad:
        raise InvalidRequestError(f"{name} must not contain U+{ord(bad.group()):04X} "
                                  "(control characters and lone surrogates are refused)")
    return value


def check_name(value: Any, name: str, max_len: int = MAX_NAME) -> str:
    """A name (tenant id, event type, audit actor): a non-empty one-line string of at most
    ``max_len``."""
    if isinstance(value, str) and not value:
        raise InvalidRequestError(f"{name} must not be empty")
    return check_text(value, name, max_len)


def check_event_types(event_types: Any) -> Optional[list[str]]:
    """An endpoint's subscriptions: ``None`` (every type) or a list of event type names."""
    if event_types is None:
        return None
    if not isinstance(event_types, list):
        raise InvalidRequestError("event_types must be null or a list of event type names")
    return [check_name(t, "each event type name") for t in event_types]


def check_description(value: Any) -> str:
    """Free text: tabs and newlines allowed, other control characters not."""
    return check_text(value, "description", MAX_DESCRIPTION, multiline=True)


def check_header_prefix(value: Any) -> str:
    """A ``hookseal-v1`` header prefix that makes valid header names on every proxy."""
    prefix = check_text(value, "header_prefix", MAX_HEADER_PREFIX)
    if not _HEADER_PREFIX.fullmatch(prefix):
        raise InvalidRequestError("header_prefix must be letters, digits and '-' only, such as "
                                  "'Hookseal' or 'Acme-Webhook'")
    return prefix


def check_email(value: Any) -> Optional[str]:
    """``None`` or one plausible address; the notifier hands it to SMTP as is."""
    if value is None:
        return None
    addr = check_text(value, "notify_email", MAX_EMAIL)
    local, _, domain = addr.partition("@")
    if not local or not domain or "@" in domain or any(c.isspace() for c in addr):
        raise InvalidRequestError("notify_email must be null or one e-mail address, such as "
                                  "'ops@example.com'")
    return addr


def check_number(value: Any, name: str, *, positive: bool = False) -> float:
    """A finite int or float (not a bool), ``> 0`` if ``positive`` else ``>= 0``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0 or (positive and value == 0):
        raise InvalidRequestError(f"{name} must be a finite number {'> 0' if positive else '>= 0'}")
    return float(value)


def check_overlap(value: Any, name: str) -> float:
    """A rotation overlap: a finite number of seconds from 0 to :data:`MAX_ROTATION_OVERLAP`.

    Args:
        value: The overlap.
        name: Its name in the error message.

    Returns:
        The overlap as a float.

    Raises:
        InvalidRequestError: Not a number, not finite, negative or over 30 days.
    """
    seconds = check_number(value, name)
    if seconds > MAX_ROTATION_OVERLAP:
        raise InvalidRequestError(
            f"{name} must be at most {MAX_ROTATION_OVERLAP:.0f} seconds (30 days), "
            f"not {value!r}: the old secret would keep signing for too long")
    return seconds


def check_retry_after_cap(value: Any) -> Optional[float]:
    """``None`` (the configured cap) or the most seconds a ``Retry-After`` may defer."""
    return None if value is None else check_number(value, "retry_after_cap")


def check_timeout(value: Any) -> Optional[float]:
    """``None`` (the configured timeouts) or a positive number of seconds."""
    return None if value is None else check_number(value, "timeout", positive=True)


#: The content check of each updatable endpoint field that has one of its own (``url``,
#: ``profile``, ``signing`` and ``retry_schedule`` are checked by the Sender).
FIELD_CHECKS: dict[str, Callable[[Any], Any]] = {
    "description": check_description, "header_prefix": check_header_prefix,
    "event_types": check_event_types, "notify_email": check_email,
    "retry_after_cap": check_retry_after_cap, "timeout": check_timeout,
}


def check_ids(delivery_ids: Any) -> list[str]:
    """Delivery ids, each a one-line string of at most ``MAX_NAME``; a bare string is refused.

    A bare string is iterable too: it would be taken as one id per character.
    """
    if isinstance(delivery_ids, (str, bytes)):
        raise InvalidRequestError("delivery_ids must be a list of delivery ids")
    return [check_text(i, "each delivery id", MAX_NAME) for i in delivery_ids]


def check_filter(flt: DeliveryFilter) -> None:
    """A delivery filter's strings and times, checked before they reach a query.

    Its fields may come straight from a request body, whatever their annotations say.
    """
    fields: dict[str, Any] = dict(flt.__dict__)
    for name in ("endpoint_id", "event_type", "event_id"):
        if fields.get(name) is not None:
            check_text(fields[name], name, MAX_NAME)
    if fields["status"] is not None:
        if not isinstance(fields["status"], list):
            raise InvalidRequestError("status must be a list of delivery states")
        for status in fields["status"]:
            check_text(status, "status", MAX_NAME)
    for name in ("since", "until"):
        value = fields[name]
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            raise InvalidRequestError(f"{name} must be a Unix time")


def check_replay_limit(limit: Any) -> None:
    """A bulk replay's ``limit``: ``None`` (all that match) or 1 to :data:`MAX_BULK_REPLAY`."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                              or not 1 <= limit <= MAX_BULK_REPLAY):
        raise InvalidRequestError(f"limit must be an integer from 1 to {MAX_BULK_REPLAY}")


def check_batch_size(batch_size: Any, most: int) -> None:
    """A purge's ``batch_size``: an integer from 1 to ``most``."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or \
            not 1 <= batch_size <= most:
        raise InvalidRequestError(f"batch_size must be 1 to {most}")
