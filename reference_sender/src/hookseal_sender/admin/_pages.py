"""What every console page shares: its configuration, the session, rendering, and the
wrapper that checks the session, CSRF token, origin and input of each page."""

from __future__ import annotations

import hmac
import sys
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from .._http import check_path_and_query
from .._inputs import check_text
from ..errors import NotFoundError, SenderError
from ..portal._format import local_input, pretty, when
from ..portal._guards import RateLimiter
from ..portal_tokens import PortalClaims, PortalTokenError
from ..sender import Sender
from .links import DEFAULT_ADMIN_SESSION_TTL, AdminTokens, admin_key

_HERE = Path(__file__).parent
#: The console's session cookie (never the portal's ``hookseal_portal``).
ADMIN_COOKIE = "hookseal_admin"
#: Notices a redirect may ask a page to show (a fixed set: no text comes from the URL).
NOTICES = {
    "replayed": "Replay queued: the same delivery id, freshly signed.",
    "cancelled": "Future retries cancelled.",
    "endpoint_cancelled": "Every pending delivery to the endpoint was cancelled.",
    "paused": "Endpoint paused: its deliveries wait until it is resumed.",
    "resumed": "Endpoint resumed.",
    "corrected": "Corrected event saved and queued for delivery (same event id).",
    "stop_asked": "Stop requested: the job stops after its current batch.",
}


#: Form fields holding several lines: the corrected JSON (browsers send CRLF line ends).
MULTILINE = frozenset({"data"})


def check_values(request: Request, form: Optional[FormData]) -> None:
    """Refuse control characters and lone surrogates in the path, query and form values.

    As the portal's check (no store can hold them, PostgreSQL cannot compare NUL), but
    the fields of :data:`MULTILINE` may hold tabs and line ends (CRLF as browsers send it).

    Raises:
        InvalidRequestError: A value holds one (or a path or query value is too long).
    """
    check_path_and_query(request)
    for name, value in form.multi_items() if form is not None else ():
        if isinstance(value, str):  # uploads are never read
            multiline = name in MULTILINE
            check_text(value.replace("\r\n", "\n") if multiline else value, name,
                       sys.maxsize, multiline=multiline)


@dataclass(frozen=True)
class AdminConfig:
    """How the console is served.

    Attributes:
        key: MAC key for links, sessions and CSRF tokens (default: derived from the
            master key, so links made by ``hookseal-sender admin-link`` work).
        cookie_secure: Mark the session cookie ``Secure``; ``None`` does so on https.
        session_ttl: Seconds a console session lasts.
        page_size: Deliveries per page.
        origins: Origins a form may be posted from besides the request's own.
        action_burst: Single actions (replays, cancels) an operator may make at once
            before the sender's ``replay_rate`` per second applies.
    """

    key: Optional[bytes] = None
    cookie_secure: Optional[bool] = None
    session_ttl: float = DEFAULT_ADMIN_SESSION_TTL
    page_size: int = 50
    origins: tuple[str, ...] = ()
    action_burst: int = 20

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> AdminConfig:
        """The config from the ``admin`` object of the settings file.

        Args:
            settings: Keys ``cookie_secure``, ``session_ttl``, ``page_size``, ``origins``.

        Returns:
            The config.
        """
        secure = settings.get("cookie_secure")
        return cls(cookie_secure=None if secure is None else bool(secure),
                   session_ttl=float(settings.get("session_ttl", DEFAULT_ADMIN_SESSION_TTL)),
                   page_size=int(settings.get("page_size", 50)),
                   origins=tuple(str(o) for o in settings.get("origins", ())))


@dataclass
class Ctx:
    """What a page handler gets: the request, the operator's session and CSRF token."""

    request: Request
    session: PortalClaims
    csrf: str
    form: Optional[FormData] = None

    @property
    def actor(self) -> str:
        """The audit log's actor: ``admin:<operator>``."""
        return f"admin:{self.session.user}"


Handler = Callable[[Ctx], Awaitable[Response]]


class Pages:
    """Rendering, errors, redirects and the page wrapper of the console.

    Args:
        sender: The sender.
        api_keys: API key -> name: the keys that may sign in (the admin API's).
        config: How the console is served.
    """

    def __init__(self, sender: Sender, api_keys: Mapping[str, str], config: AdminConfig) -> None:
        self.sender = sender
        self.api_keys = dict(api_keys)
        self.config = config
        self.tokens = AdminTokens(config.key or admin_key(sender.config))
        env = Environment(loader=FileSystemLoader(str(_HERE / "templates")), autoescape=True,
                          trim_blocks=True, lstrip_blocks=True)
        env.filters.update(when=when, local=local_input, pretty=pretty)
        self.templates = Jinja2Templates(env=env)
        self.actions = RateLimiter(sender.config.replay_rate, config.action_burst)
        self.logins = RateLimiter(0.2, 5)  # per client address: slows key guessing

    def key_name(self, key: str) -> Optional[str]:
        """The name of an admin API key, or ``None`` (compared in constant time)."""
        found = None
        for known, name in self.api_keys.items():
            if hmac.compare_digest(known.encode(), key.encode("utf-8", "replace")):
                found = name
        return found

    def render(self, request: Request, name: str, ctx: Optional[Ctx], status: int = 200,
               **values: Any) -> Response:
        base = request.scope.get("root_path", "")
        notice = NOTICES.get(request.query_params.get("notice", ""))
        context = {"base": base, "notice": notice, "csrf": ctx.csrf if ctx else "",
                   "operator": ctx.session.user if ctx else "", **values}
        return self.templates.TemplateResponse(request, name, context, status_code=status)

    def error(self, request: Request, status: int, heading: str, detail: str,
              ctx: Optional[Ctx] = None) -> Response:
        return self.render(request, "error.html", ctx, status, heading=heading, detail=detail)

    def redirect(self, request: Request, path: str, **query: str) -> Response:
        url = request.scope.get("root_path", "") + path
        if query:
            url += "?" + urlencode(query)
        return RedirectResponse(url, status_code=303)

    def same_origin(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            return origin is None
        if origin.rstrip("/") in self.config.origins:
            return True
        return urlsplit(origin).netloc == request.headers.get("host", "")

    def set_session(self, request: Request, response: Response, cookie: str,
                    claims: PortalClaims) -> None:
        secure = self.config.cookie_secure
        if secure is None:
            secure = request.url.scheme == "https"
        response.set_cookie(ADMIN_COOKIE, cookie, max_age=int(claims.expires_at - time.time()),
                            path=request.scope.get("root_path", "") + "/", httponly=True,
                            secure=secure, samesite="strict")

    def page(self, fn: Handler, *, write: bool = False) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                session = self.tokens.check_session(request.cookies.get(ADMIN_COOKIE))
            except PortalTokenError:
                return self.redirect(request, "/login")
            ctx = Ctx(request, session, self.tokens.csrf_token(session))
            if write:
                form = await request.form()
                token = form.get("csrf")
                if (not self.same_origin(request)
                        or not self.tokens.check_csrf(session, token if isinstance(token, str)
                                                      else None)):
                    return self.error(request, 403, "This form has expired",
                                      "Go back, reload the page and try again.", ctx)
                ctx.form = form
            try:
                check_values(request, ctx.form)
                return await fn(ctx)
            except NotFoundError as exc:
                return self.error(request, 404, "Not found", exc.detail, ctx)
            except SenderError as exc:
                return self.error(request, 400 if exc.code != "conflict" else 409,
                                  "That did not work", exc.detail, ctx)
            except Exception as exc:
                if not self.sender.store.unavailable(exc):
                    raise
                self.sender.outage.failed("admin console", exc)
                return self.error(request, 503, "Database unavailable",
                                  "The store cannot be reached; nothing was changed.", ctx)
        return endpoint

    @staticmethod
    def field(ctx: Ctx, name: str) -> str:
        value = ctx.form.get(name, "") if ctx.form is not None else ""
        return value.strip() if isinstance(value, str) else ""
