"""Django helper (``pip install 'hookseal[django]'``): a view decorator.

Examples:
    >>> @verify_webhook(hookseal.Webhook(settings.HOOKSEAL_SECRET))
    ... def webhooks(request, event):  # doctest: +SKIP
    ...     return JsonResponse({"received": event["id"]})

The decorated view (sync or ``async def``) receives the verified event after ``request``;
it is also in ``request.hookseal_event``. The view is exempt from CSRF checks (a webhook has no CSRF
token; its signature is what authenticates it).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from typing import TYPE_CHECKING, Any, Callable, Optional

from django.http import HttpRequest, HttpResponse  # type: ignore[import-untyped]
from django.views.decorators.csrf import csrf_exempt  # type: ignore[import-untyped]

from .._typed import Typed
from ..idempotency import ProcessOnce
from ._common import Reply, admit, finish, is_success
from ._tracing import receive_span

if TYPE_CHECKING:
    from ..webhook import Webhook

__all__ = ["verify_webhook"]


def _to_response(reply: Reply) -> HttpResponse:
    response = HttpResponse(reply.body(), status=reply.status, content_type=reply.content_type)
    for name, value in reply.headers.items():
        response[name] = value
    return response


def verify_webhook(
    webhook: Webhook, *, once: Optional[ProcessOnce] = None, typed: Typed = False
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorate a Django view so it runs only for verified deliveries.

    A failed verification is answered 400/401 with a problem+json body and the view never
    runs.

    Args:
        webhook: A configured :class:`hookseal.Webhook`.
        once: A :class:`~hookseal.idempotency.ProcessOnce`: a completed delivery id is
            answered 200 without running the view, one in progress elsewhere 503 with
            ``Retry-After``; the claim completes when the view answers 2xx and is
            released otherwise.
        typed: Pass the event's typed model instead of a ``dict``: ``True`` for
            :mod:`hookseal.models` (``hookseal[models]``), a models package generated for
            a provider's own catalog, or a callable taking the envelope dict (as in
            :meth:`hookseal.Webhook.construct_event`).

    Returns:
        The decorator.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        if inspect.iscoroutinefunction(view):
            return _async_wrapper(webhook, once, typed, view)

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            with receive_span(webhook, request.headers) as span:
                outcome = admit(webhook, request.body, request.headers, once, typed=typed)
                span.outcome(outcome)
                if isinstance(outcome, Reply):
                    return _to_response(outcome)
                request.hookseal_event = outcome.event
                request.hookseal_delivery_id = outcome.delivery_id
                try:
                    response = view(request, outcome.event, *args, **kwargs)
                except BaseException:
                    finish(once, outcome, False)
                    raise
                span.status(response.status_code)
                finish(once, outcome, is_success(response.status_code))
                return response

        exempt: Callable[..., HttpResponse] = csrf_exempt(wrapper)
        return exempt

    return decorator


def _async_wrapper(
    webhook: Webhook, once: Optional[ProcessOnce], typed: Typed, view: Callable[..., Any]
) -> Callable[..., Any]:
    # Async views: the same steps, with the store's blocking I/O off the event loop.
    @functools.wraps(view)
    async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with receive_span(webhook, request.headers) as span:
            outcome = await asyncio.to_thread(
                functools.partial(admit, webhook, request.body, request.headers, once, typed=typed)
            )
            span.outcome(outcome)
            if isinstance(outcome, Reply):
                return _to_response(outcome)
            request.hookseal_event = outcome.event
            request.hookseal_delivery_id = outcome.delivery_id
            try:
                response = await view(request, outcome.event, *args, **kwargs)
            except BaseException:
                await asyncio.to_thread(finish, once, outcome, False)
                raise
            span.status(response.status_code)
            await asyncio.to_thread(finish, once, outcome, is_success(response.status_code))
            return response

    exempt: Callable[..., Any] = csrf_exempt(wrapper)
    return exempt
