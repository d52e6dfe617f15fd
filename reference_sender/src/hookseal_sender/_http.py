"""Request checks shared by the HTTP layers (the admin API and the customer portal).

The cap on request bodies (:class:`BodyLimit`), JSON bodies, the path and query's text, and
which HTTP status each error code answers with: the API and the portal both import this
module, and neither imports the other.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._inputs import MAX_URL, check_text, loads_json
from .errors import InvalidRequestError, SenderError

__all__ = ["DEFAULT_MAX_BODY_BYTES", "STORE_UNAVAILABLE", "BodyLimit", "BodyTooLargeError",
           "check_path_and_query", "http_status", "read_json_object"]

#: The default cap on a request body: 1 MiB, room for any event and every form.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

#: The body of a 503 while the database is unreachable (the store reconnects by itself).
STORE_UNAVAILABLE = {"error": "store_unavailable",
                     "detail": "the database is unreachable; try again shortly"}

# The HTTP status of each error code; any other SenderError is a 400.
_STATUS = {"not_found": 404, "conflict": 409, "idempotency_conflict": 409,
           "invalid_request": 400, "invalid_payload": 422,
           "destination_refused": 422, "invalid_configuration": 400, "unauthorized": 401,
           "body_too_large": 413}


def http_status(code: str) -> int:
    """The HTTP status answering an error of this ``.code`` (400 for codes not listed).

    Args:
        code: A :class:`~hookseal_sender.SenderError` code.

    Returns:
        The status.
    """
    return _STATUS.get(code, 400)


def check_path_and_query(request: Request) -> None:
    """Refuse control characters in the path and query before any handler runs.

    No tenant, id or filter value holds one, and PostgreSQL cannot even compare a string
    holding NUL: it would be a 500 instead of a 400. The API and the portal both run it.

    Args:
        request: The incoming request.

    Raises:
        InvalidRequestError: A path or query value holds a control character or a lone
            surrogate, or is longer than ``MAX_URL``.
    """
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        check_text(value, name, MAX_URL)


async def read_json_object(request: Request) -> dict[str, Any]:
    """The request's JSON body as an object (an empty body is ``{}``).

    Args:
        request: The incoming request.

    Returns:
        The object.

    Raises:
        InvalidRequestError: Not JSON, nested too deep, or not an object.
    """
    raw = await request.body()
    if not raw:
        return {}
    data = loads_json(raw, "body")
    if not isinstance(data, dict):
        raise InvalidRequestError("body must be a JSON object")
    return data


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
