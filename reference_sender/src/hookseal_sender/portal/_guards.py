"""The portal's guards: input checks, the replay rate limit and the security headers."""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from typing import Optional

from starlette.datastructures import FormData, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._http import check_path_and_query
from .._inputs import check_text

#: The portal's text areas (the subscription options page): one item per line.
MULTILINE_FIELDS = frozenset({"filter", "headers", "redact", "cert_pem", "key_pem"})


def check_values(request: Request, form: Optional[FormData]) -> None:
    """Refuse control characters and lone surrogates in the path, query and form values.

    Ids in paths, filters, cursors and some form values reach the store without passing
    the Sender's own checks, and PostgreSQL cannot even compare a string holding NUL: a 500
    instead of a 400. Every portal input is a single line, so none legitimately holds one,
    but the text areas of :data:`MULTILINE_FIELDS`, which may hold tabs and newlines.

    Raises:
        InvalidRequestError: A value holds one (or a path or query value is too long).
    """
    check_path_and_query(request)  # the admin API's check too
    for name, value in form.multi_items() if form is not None else ():
        if isinstance(value, str):  # uploads are never read
            # Characters only: lengths are the Sender's (other_types may list many types).
            if name in MULTILINE_FIELDS:  # browsers send a text area's newlines as CR LF
                check_text(value.replace("\r\n", "\n"), name, sys.maxsize, multiline=True)
            else:
                check_text(value, name, sys.maxsize)


class RateLimiter:
    """A token bucket per tenant (single replays from the portal)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float) -> Optional[float]:
        """Take one token; returns None, or the seconds to wait when there is none."""
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens - 1.0, now)
            return None


class SecurityHeaders:
    """Adds the portal's security headers to every response it sends."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str]) -> None:
        self.app = app
        self.headers = dict(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, adding the headers to its response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith(f"{scope.get('root_path', '')}/static/")

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers[name] = value
                if not static:  # pages may hold secrets shown once: never cache them
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, wrapped)


def security_headers(frame_ancestors: tuple[str, ...]) -> dict[str, str]:
    """The headers of every portal response: a strict CSP, no sniffing, framing rules.

    Args:
        frame_ancestors: Origins allowed to frame the portal (none: framing refused).

    Returns:
        Header names and values.
    """
    ancestors = " ".join(frame_ancestors) or "'none'"
    csp = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "connect-src 'self'; form-action 'self'; base-uri 'none'; "
           f"frame-ancestors {ancestors}")
    headers = {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff",
               "Referrer-Policy": "same-origin",
               "Cross-Origin-Opener-Policy": "same-origin",
               "Permissions-Policy": "camera=(), microphone=(), geolocation=()"}
    if not frame_ancestors:
        headers["X-Frame-Options"] = "DENY"
    return headers
