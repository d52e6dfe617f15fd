"""WSGI middleware: verify deliveries before they reach any WSGI application (Flask, Django...).

Examples:
    >>> app.wsgi_app = HooksealWSGIMiddleware(app.wsgi_app, hookseal.Webhook(secret))  # doctest: +SKIP

The verified event is put in the environ as ``environ["hookseal.event"]`` and the raw body
is replayed to the application through a fresh ``wsgi.input``.
With OpenTelemetry installed, verification and the application's call run in a
``webhook receive`` span that continues the sender's trace, as in every integration.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
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
from ._tracing import ReceiveSpan, receive_span

if TYPE_CHECKING:
    from ..webhook import Webhook

__all__ = ["HooksealWSGIMiddleware", "environ_headers"]

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def environ_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """Rebuild the request's ``(name, value)`` header pairs from a WSGI environ."""
    pairs = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            pairs.append((key[5:].replace("_", "-").lower(), str(value)))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            pairs.append((key.replace("_", "-").lower(), str(value)))
    return pairs


def _reply(start_response: StartResponse, reply: Reply) -> list[bytes]:
    body = reply.body()
    headers = [("Content-Type", reply.content_type), ("Content-Length", str(len(body)))]
    headers += list(reply.headers.items())
    start_response(f"{reply.status} {_REASONS.get(reply.status, 'Error')}", headers)
    return [body]


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    411: "Length Required",
    413: "Content Too Large",
    503: "Service Unavailable",
}


class HooksealWSGIMiddleware:
    """Verify every request on ``paths`` and answer failures with a problem body.

    Args:
        app: The WSGI application to protect.
        webhook: A configured :class:`hookseal.Webhook`.
        paths: Exact ``PATH_INFO`` values to verify; ``None`` verifies every request.
        once: A :class:`~hookseal.idempotency.ProcessOnce` to run each delivery id once:
            a completed id is answered 200 without calling ``app``; the claim completes
            when ``app`` answers 2xx and is released otherwise.
        max_body: Largest body in bytes; a larger one is answered 413.
    """

    def __init__(
        self,
        app: WSGIApp,
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

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Handle one WSGI request."""
        if self.paths is not None and environ.get("PATH_INFO", "") not in self.paths:
            return self.app(environ, start_response)
        stream = environ["wsgi.input"]
        length_text = environ.get("CONTENT_LENGTH") or ""
        if length_text.isdigit():
            length = int(length_text)
            if length > self.max_body:
                return _reply(start_response, problem(
                    "payload_too_large", f"body exceeds {self.max_body} bytes"))
            body = stream.read(length) if length else b""
        elif environ.get("wsgi.input_terminated"):
            body = stream.read(self.max_body + 1)
            if len(body) > self.max_body:
                return _reply(start_response, problem(
                    "payload_too_large", f"body exceeds {self.max_body} bytes"))
        else:
            body = b""
        headers = environ_headers(environ)
        with receive_span(self.webhook, headers) as span:
            outcome = admit(self.webhook, body, headers, self.once)
            span.outcome(outcome)
            if isinstance(outcome, Reply):
                return _reply(start_response, outcome)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ["hookseal.event"] = outcome.event
            environ["hookseal.delivery_id"] = outcome.delivery_id
            return self._run(environ, start_response, outcome, span)

    def _run(
        self, environ: dict[str, Any], start_response: StartResponse, admission: Admission, span: ReceiveSpan
    ) -> Iterable[bytes]:
        """Call the application inside the span; with ``once``, finish the claim once its body is sent.

        The span records the status when the application started its response during the
        call (a generator application that starts it later goes unrecorded).
        """
        status: Optional[int] = None

        def capture(status_line: str, headers: Any, exc_info: Any = None) -> Any:
            nonlocal status
            status = int(status_line.split(" ", 1)[0])
            return start_response(status_line, headers, exc_info) if exc_info else start_response(
                status_line, headers)

        try:
            result = self.app(environ, capture)
        except BaseException:
            finish(self.once, admission, False)
            raise
        if status is not None:
            span.status(status)
        if self.once is None:
            return result
        return self._finish_after(result, admission, lambda: status)

    def _finish_after(
        self, result: Iterable[bytes], admission: Admission, status: Callable[[], Optional[int]]
    ) -> Iterator[bytes]:
        succeeded = False
        try:
            try:
                yield from result
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            answered = status()
            succeeded = answered is not None and is_success(answered)
        finally:
            finish(self.once, admission, succeeded)
