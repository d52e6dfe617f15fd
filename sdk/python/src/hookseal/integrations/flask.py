"""Flask helper (``pip install 'hookseal[flask]'``): a view decorator.

Examples:
    >>> @app.post("/webhooks")
    ... @verify_webhook(hookseal.Webhook(secret))
    ... def webhooks(event):  # doctest: +SKIP
    ...     return {"received": event["id"]}

The decorated view (sync, or ``async def`` with ``flask[async]``) receives the verified
event as its first argument (URL variables follow as keyword arguments); it is also in
``flask.g.hookseal_event``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar

from flask import Response, current_app, g, make_response, request

from .._typed import Typed
from ..idempotency import ProcessOnce
from ._common import Reply, admit, finish, is_success
from ._tracing import receive_span

if TYPE_CHECKING:
    from ..webhook import Webhook

__all__ = ["verify_webhook"]

F = TypeVar("F", bound=Callable[..., Any])


def _to_response(reply: Reply) -> Response:
    response = Response(reply.body(), status=reply.status, content_type=reply.content_type)
    for name, value in reply.headers.items():
        response.headers[name] = value
    return response


def verify_webhook(
    webhook: Webhook, *, once: Optional[ProcessOnce] = None, typed: Typed = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a Flask view so it runs only for verified deliveries.

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

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with receive_span(webhook, request.headers) as span:
                body = request.get_data(cache=True)
                outcome = admit(webhook, body, request.headers, once, typed=typed)
                span.outcome(outcome)
                if isinstance(outcome, Reply):
                    return _to_response(outcome)
                g.hookseal_event = outcome.event
                g.hookseal_delivery_id = outcome.delivery_id
                # ensure_sync lets ``async def`` views run too (Flask's own mechanism).
                run = current_app.ensure_sync(view)
                try:
                    response = make_response(run(outcome.event, *args, **kwargs))
                except BaseException:
                    finish(once, outcome, False)
                    raise
                span.status(response.status_code)
                finish(once, outcome, is_success(response.status_code))
                return response

        return wrapper

    return decorator
