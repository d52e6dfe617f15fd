"""Starlette and FastAPI helpers: a dependency and an endpoint wrapper (``hookseal[fastapi]``).

FastAPI::

    from hookseal.integrations.fastapi import VerifiedEvent, install

    verified = VerifiedEvent(hookseal.Webhook(secret))
    install(app)                      # answers rejections with problem+json bodies

    @app.post("/webhooks")
    async def webhooks(event: dict = Depends(verified)) -> dict: ...

Starlette::

    Route("/webhooks", webhook_endpoint(hookseal.Webhook(secret), handle), methods=["POST"])
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any, Callable, Optional, Union, cast

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .._typed import Typed
from ..idempotency import ProcessOnce
from ._common import Admission, Reply, admit, finish, is_success
from ._tracing import receive_span

if TYPE_CHECKING:
    from ..webhook import Webhook

__all__ = ["HooksealReply", "VerifiedEvent", "install", "reply_handler", "webhook_endpoint"]


class HooksealReply(HTTPException):
    """Raised by :class:`VerifiedEvent` to answer without running the handler.

    It carries a 400/401 problem, a 200 for an already processed delivery, or a 503 for
    one in progress elsewhere. Register :func:`reply_handler` (``install(app)``) to send
    :attr:`reply` as is; without it FastAPI still answers the right status, with the
    payload under ``"detail"``.

    Attributes:
        reply: The status, JSON payload and headers to send.
    """

    def __init__(self, reply: Reply) -> None:
        """Wrap ``reply``."""
        super().__init__(reply.status, detail=reply.payload, headers=reply.headers or None)  # type: ignore[arg-type]
        self.reply = reply


def to_response(reply: Reply) -> Response:
    """Turn a :class:`Reply` into a Starlette response."""
    return JSONResponse(
        reply.payload,
        status_code=reply.status,
        headers=reply.headers,
        media_type=reply.content_type,
    )


async def reply_handler(request: Request, exc: Exception) -> Response:
    """Exception handler that sends a :class:`HooksealReply` as its JSON payload."""
    if not isinstance(exc, HooksealReply):  # pragma: no cover - registered for it only
        raise exc
    return to_response(exc.reply)


def install(app: Any) -> None:
    """Register :func:`reply_handler` on a Starlette or FastAPI ``app``."""
    app.add_exception_handler(HooksealReply, reply_handler)


def _remember(request: Request, admission: Admission) -> None:
    state: Any = request.state
    state.hookseal_event = admission.event
    state.hookseal_delivery_id = admission.delivery_id


async def _admit(
    webhook: Webhook, request: Request, once: Optional[ProcessOnce], typed: Typed
) -> Union[Admission, Reply]:
    body = await request.body()
    if once is None:
        return admit(webhook, body, request.headers.raw, typed=typed)
    # Stores do blocking I/O (SQLite, Redis): keep it off the event loop.
    return await run_in_threadpool(
        functools.partial(admit, webhook, body, request.headers.raw, once, typed=typed)
    )


class VerifiedEvent:
    """A FastAPI dependency that reads the raw body and yields the verified event.

    Use it as ``event: dict = Depends(VerifiedEvent(webhook))``. A failed verification
    raises :class:`HooksealReply` (400/401) before the endpoint runs.

    Args:
        webhook: A configured :class:`hookseal.Webhook`.
        once: A :class:`~hookseal.idempotency.ProcessOnce`: an already completed
            delivery id is answered 200 (``{"status": "duplicate"}``) without running the
            endpoint, one in progress elsewhere 503 with ``Retry-After``; the claim
            completes when the endpoint returns and is released if it raises.
        typed: Yield the event's typed model instead of a ``dict``: ``True`` for
            :mod:`hookseal.models` (``hookseal[models]``), a models package generated for
            a provider's own catalog, or a callable taking the envelope dict (as in
            :meth:`hookseal.Webhook.construct_event`).
    """

    def __init__(
        self, webhook: Webhook, *, once: Optional[ProcessOnce] = None, typed: Typed = False
    ) -> None:
        """Configure the dependency; see the class docstring."""
        self.webhook = webhook
        self.once = once
        self.typed = typed

    async def __call__(self, request: Request) -> AsyncIterator[Any]:
        """Verify ``request`` and yield its event (a FastAPI dependency with ``yield``)."""
        with receive_span(self.webhook, request.headers.raw) as span:
            outcome = await _admit(self.webhook, request, self.once, self.typed)
            span.outcome(outcome)
            if isinstance(outcome, Reply):
                raise HooksealReply(outcome)
            _remember(request, outcome)
            if outcome.claim is None:
                yield outcome.event
                return
            try:
                yield outcome.event
            except BaseException:
                await run_in_threadpool(finish, self.once, outcome, False)
                raise
            await run_in_threadpool(finish, self.once, outcome, True)


Handler = Callable[[Request, Any], Union[Response, Awaitable[Response]]]


def webhook_endpoint(
    webhook: Webhook,
    handler: Handler,
    *,
    once: Optional[ProcessOnce] = None,
    typed: Typed = False,
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap ``handler(request, event)`` as a Starlette endpoint that verifies first.

    ``handler`` may be sync (run in the thread pool) or async. A failed verification is
    answered 400/401 with a problem body and ``handler`` never runs. With ``once``, a
    completed delivery id is answered 200 without running it; the claim completes when
    ``handler`` answers 2xx and is released otherwise. With ``typed``, ``event`` is the
    typed model (``typed`` as in :meth:`hookseal.Webhook.construct_event`).
    """

    async def endpoint(request: Request) -> Response:
        with receive_span(webhook, request.headers.raw) as span:
            outcome = await _admit(webhook, request, once, typed)
            span.outcome(outcome)
            if isinstance(outcome, Reply):
                return to_response(outcome)
            _remember(request, outcome)
            response: Response
            try:
                if inspect.iscoroutinefunction(handler):
                    response = await handler(request, outcome.event)
                else:
                    # The span is current here: the thread pool copies the context.
                    response = cast(
                        Response, await run_in_threadpool(handler, request, outcome.event)
                    )
            except BaseException:
                if outcome.claim is not None:
                    await run_in_threadpool(finish, once, outcome, False)
                raise
            span.status(response.status_code)
            if outcome.claim is not None:
                await run_in_threadpool(finish, once, outcome, is_success(response.status_code))
            return response

    return endpoint
