"""The cap on request bodies, for every route of the admin API and the portal."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import SenderError

#: The default cap on a request body: 1 MiB, room for any event and every form.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class BodyTooLargeError(SenderError):
    """A request body is larger than the server accepts (HTTP 413)."""

    code = "body_too_large"


class BodyLimit:
    """ASGI middleware refusing request bodies over ``max_bytes`` with a 413.

    A ``Content-Length`` over the cap is refused before anything is read; a body sent
    without one (chunked) is counted as it arrives and refused once it passes the cap, so
    no more than ``max_bytes`` of it is ever held.

    Args:
        app: The application.
        max_bytes: The cap, in bytes (at least 1).
    """

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _error(self) -> BodyTooLargeError:
        return BodyTooLargeError(f"request body is larger than {self.max_bytes} bytes "
                                 "(the server's max_body_bytes)")

    async def _refuse(self, send: Send) -> None:
        error = self._error()
        body = json.dumps({"error": error.code, "detail": error.detail}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app with a counting ``receive``; answer 413 if the body is too large."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit()
                                              or int(value) > self.max_bytes):
                await self._refuse(send)
                return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise self._error()
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLargeError:
            if started:
                raise
            await self._refuse(send)
