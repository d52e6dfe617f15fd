"""An endpoint's custom request headers (contract 4.3): their limits and reserved names.

Up to :data:`MAX_HEADERS` extra headers go on every attempt. A name is an HTTP token
(RFC 9110 ``tchar``\\ s); a value holds visible ASCII, spaces and tabs (no CR, LF, NUL or
other control characters, no non-ASCII, none at either end). The names the sender sets itself are refused,
case-insensitively (:func:`reserved_names`).
"""

from __future__ import annotations

import re
from typing import Any, Optional

from hookseal.profiles import STANDARD_WEBHOOKS

from .errors import InvalidHeadersError, InvalidRequestError

__all__ = ["HOP_BY_HOP", "MAX_HEADERS", "MAX_VALUE_LENGTH", "check_headers", "reserved_names"]

#: Most custom headers per endpoint.
MAX_HEADERS = 20
#: Longest header value, in characters (a header line is no place for a document).
MAX_VALUE_LENGTH = 1024
#: Hop-by-hop names (RFC 9110 7.6.1), which only the connection may set.
HOP_BY_HOP = ("Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE",
              "Trailer", "Transfer-Encoding", "Upgrade")
#: Names the sender sets on every request whatever the profile.
# traceparent: the sender's own trace context on every attempt (contract 4.6).
_ALWAYS = ("Content-Type", "Content-Length", "Host", "traceparent")

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE = re.compile(r"[\x20-\x7e\t]*")


def reserved_names(profile: str, header_prefix: str) -> list[str]:
    """The header names an endpoint may not set: its profile's signature, webhook-id,
    event-type and timestamp names, ``Content-Type``, ``Content-Length``, ``Host`` and the
    hop-by-hop names.

    Args:
        profile: The endpoint's signature profile.
        header_prefix: Its ``hookseal-v1`` header prefix.

    Returns:
        The names, as they are usually written (compare case-insensitively).
    """
    if profile == STANDARD_WEBHOOKS:
        signing = ["webhook-id", "webhook-timestamp", "webhook-signature"]
    else:
        signing = [f"{header_prefix}-Signature", f"{header_prefix}-Webhook-Id",
                   f"{header_prefix}-Event-Type"]
    return [*signing, *_ALWAYS, *HOP_BY_HOP]


def check_headers(value: Any, context: Any) -> Optional[dict[str, str]]:
    """The ``headers`` option's check (:data:`hookseal_sender._options.OPTION_CHECKS`).

    Args:
        value: An object from header name to value, or ``None`` for none.
        context: The endpoint's :class:`~hookseal_sender._options.OptionContext` (its
            profile and header prefix decide the reserved names).

    Returns:
        The headers as stored.

    Raises:
        InvalidRequestError: Not an object of strings (``invalid_request``).
        InvalidHeadersError: Too many headers, a name that is no HTTP token or is reserved
            (the detail lists the reserved names), or a value with forbidden characters.
    """
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidRequestError("headers must map each header name to a string value")
    if len(value) > MAX_HEADERS:
        raise InvalidHeadersError(f"at most {MAX_HEADERS} custom headers, not {len(value)}")
    reserved = reserved_names(context.profile, context.header_prefix)
    taken = {n.lower() for n in reserved}
    seen: set[str] = set()
    for name, text in value.items():
        if not _TOKEN.fullmatch(name):
            raise InvalidHeadersError(f"header name {name!r} is not an HTTP token (letters, "
                                      "digits and !#$%&'*+-.^_`|~ only)")
        if name.lower() in taken:
            raise InvalidHeadersError(f"header {name!r} is reserved; the reserved names are "
                                      + ", ".join(reserved))
        if name.lower() in seen:
            raise InvalidHeadersError(f"header {name!r} is given twice (names are "
                                      "case-insensitive)")
        seen.add(name.lower())
        if not _VALUE.fullmatch(text):
            raise InvalidHeadersError(f"header {name!r}: a value holds visible ASCII, spaces "
                                      "and tabs only (no CR, LF, NUL or other control "
                                      "characters)")
        if text != text.strip(" \t"):
            raise InvalidHeadersError(f"header {name!r}: a value neither starts nor ends with "
                                      "a space or tab (receivers would not see them)")
        if len(text) > MAX_VALUE_LENGTH:
            raise InvalidHeadersError(f"header {name!r}: a value is at most "
                                      f"{MAX_VALUE_LENGTH} characters")
    return dict(value)
