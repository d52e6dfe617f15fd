"""ASGI middleware: verify deliveries before they reach any ASGI application.

Examples:
    >>> app = HooksealMiddleware(app, hookseal.Webhook(secret), paths=["/webhooks"])  # doctest: +SKIP

The verified event is put in the scope as ``scope["state"]["hookseal_event"]`` (so
Starlette/FastAPI handlers read ``request.state.hookseal_event``), and the raw body is
replayed to the application unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from ..idempotency import ProcessOnce
from ._common import (
    DEFAULT_MAX_BODY,
    Admission,
    Reply,
    admit,
    finish,
    is_success,
    path_set,
    problem,
)
from ._tracing import receive_span

if TYPE_CHECKING:
    from ..webhook import Webhook

__all__ = ["HooksealMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def _send_reply(send: Send, reply: Reply) -> None:
    body = reply.body()
    headers = [
        (b"content-type", reply.content_type.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1"))
                for k, v in reply.headers.items()]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class HooksealMiddleware:
    """Verify every HTTP request on ``paths`` and answer failures with a problem body.

    Args:
        app: The ASGI application to protect.
        webhook: A configured :class:`hookseal.Webhook`.
        paths: Exact request paths to verify; ``None`` verifies every HTTP request.
        once: A :class:`~hookseal.idempotency.ProcessOnce` to run each delivery id once:
            a completed id is answered 200 without calling ``app``; the claim completes
            when ``app`` answers 2xx and is released otherwise.
        max_body: Largest body in bytes; a larger one is answered 413.
    """

    def __init__(
        self,
        app: ASGIApp,
        webhook: Webhook,
        *,
        paths: Optional[Union[str, Iterable[str]]] = None,
        once: Optional[ProcessOnce] = None,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        """Wrap ``app``; see the class docstring."""
        self.app = app
        self.webhook = webhook
        self.paths = path_set(paths)
        self.once = once
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http" or (self.paths is not None and scope["path"] not in self.paths):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _send_reply(
                    send, problem("payload_too_large", f"body exceeds {self.max_body} bytes")
                )
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        headers = scope.get("headers", [])
        with receive_span(self.webhook, headers) as span:
            if self.once is None:
                outcome = admit(self.webhook, body, headers)
            else:
                # Stores do blocking I/O (SQLite, Redis): keep it off the event loop.
                outcome = await asyncio.to_thread(admit, self.webhook, body, headers, self.once)
            span.outcome(outcome)
            if isinstance(outcome, Reply):
                await _send_reply(send, outcome)
                return
            span.status(await self._run(scope, receive, send, body, outcome))

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, body: bytes, admission: Admission
    ) -> int:
        """Run the application with the verified body replayed; return the status it sent."""
        scope = dict(scope)
        state = dict(scope.get("state") or {})
        state["hookseal_event"] = admission.event
        state["hookseal_delivery_id"] = admission.delivery_id
        scope["state"] = state
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, replay, capture)
        except BaseException:
            await self._finish(admission, succeeded=False)
            raise
        await self._finish(admission, succeeded=is_success(status))
        return status

    async def _finish(self, admission: Admission, *, succeeded: bool) -> None:
        if self.once is not None and admission.claim is not None:
            await asyncio.to_thread(finish, self.once, admission, succeeded)
