"""What every portal page shares: its configuration, the session context, rendering,
redirects, and the wrapper that checks the session, CSRF token and input of each page."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import urlencode, urlsplit

from hookseal.profiles import HOOKSEAL_V1, STANDARD_WEBHOOKS
from jinja2 import Environment, FileSystemLoader
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from ..errors import NotFoundError, SenderError
from ..portal_tokens import SESSION, PortalClaims, PortalTokenError, TokenSigner, derive_key
from ..sender import Sender
from ._format import local_input, pretty, when
from ._guards import RateLimiter, check_values

_HERE = Path(__file__).parent
#: The session cookie's name.
COOKIE = "hookseal_portal"
#: Notices a redirect may ask a page to show (a fixed set: no text comes from the URL).
NOTICES = {
    "created": "Endpoint added.",
    "updated": "Endpoint updated.",
    "paused": "Endpoint paused: deliveries wait until you resume it.",
    "resumed": "Endpoint resumed: waiting deliveries are being sent now.",
    "deleted": "Endpoint deleted and its pending deliveries cancelled.",
    "ping": "Test event sent to this endpoint.",
    "replayed": "Replay queued: the same delivery id, freshly signed.",
    "not_replayable": "This delivery is still pending or in flight; nothing to replay.",
    "auth_set": "Authentication saved. Its secrets are stored encrypted and not shown again.",
    "auth_removed": "Authentication removed: deliveries carry only the signature.",
}

@dataclass(frozen=True)
class PortalConfig:
    """How the portal is served.

    Attributes:
        key: MAC key for links, sessions and CSRF tokens (default: derived from the
            sender's master key, so links made by the CLI or API work here).
        frame_ancestors: Origins allowed to embed the portal in a frame, e.g.
            ``("https://app.example.com",)``; empty forbids framing (``X-Frame-Options:
            DENY``).
        cookie_secure: Mark the session cookie ``Secure``; ``None`` does so on https.
        cookie_samesite: ``strict`` (default) or ``none`` (needed when the portal is
            framed by a site other than the sender's, which also needs https).
        title: The page title (your product's name for the webhooks page).
        page_size: Deliveries per page.
        replay_burst: Single replays a customer may make at once before the rate limit
            (the sender's ``replay_rate`` per second) applies.
        origins: Origins a form may be posted from besides the request's own
            (``scheme://host``), e.g. the public origin when a proxy rewrites ``Host``.
    """

    key: Optional[bytes] = None
    frame_ancestors: tuple[str, ...] = ()
    cookie_secure: Optional[bool] = None
    cookie_samesite: str = "strict"
    title: str = "Webhooks"
    page_size: int = 50
    replay_burst: int = 10
    origins: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> PortalConfig:
        """The config from the ``portal`` object of the sender's settings file.

        Args:
            settings: Keys ``frame_ancestors`` (list), ``cookie_secure``,
                ``cookie_samesite``, ``title``, ``page_size``, ``origins`` (list).

        Returns:
            The config.
        """
        secure = settings.get("cookie_secure")
        return cls(frame_ancestors=tuple(str(a) for a in settings.get("frame_ancestors", ())),
                   cookie_secure=None if secure is None else bool(secure),
                   cookie_samesite=str(settings.get("cookie_samesite", "strict")),
                   title=str(settings.get("title", "Webhooks")),
                   page_size=int(settings.get("page_size", 50)),
                   origins=tuple(str(o) for o in settings.get("origins", ())))


@dataclass
class Ctx:
    """What a page handler gets: the request, the session and its CSRF token."""

    request: Request
    session: PortalClaims
    csrf: str
    form: Optional[FormData] = None

    @property
    def tenant(self) -> str:
        return self.session.tenant_id

    @property
    def actor(self) -> str:
        return f"portal:{self.session.user}" if self.session.user else "portal"


Handler = Callable[[Ctx], Awaitable[Response]]


class Pages:
    """The plumbing of a group of pages: rendering, errors, redirects, the page wrapper.

    Args:
        sender: The sender the pages act through.
        config: How the portal is served.
    """

    def __init__(self, sender: Sender, config: PortalConfig) -> None:
        self.sender = sender
        self.config = config
        self.signer = TokenSigner(config.key or derive_key(sender.config))
        env = Environment(loader=FileSystemLoader(str(_HERE / "templates")), autoescape=True,
                          trim_blocks=True, lstrip_blocks=True)
        env.filters["when"] = when
        env.filters["local"] = local_input
        env.filters["pretty"] = pretty
        # The profile names the forms offer, from the SDK (no literal in the templates).
        env.globals.update(HOOKSEAL_V1=HOOKSEAL_V1, STANDARD_WEBHOOKS=STANDARD_WEBHOOKS)
        self.templates = Jinja2Templates(env=env)
        self.replays = RateLimiter(sender.config.replay_rate, config.replay_burst)
        self._event_types: Optional[list[str]] = None

    # plumbing -------------------------------------------------------------
    def event_types(self) -> list[str]:
        if self._event_types is None:
            self._event_types = self.sender.catalog.event_types()
        return self._event_types

    def render(self, request: Request, name: str, ctx: Optional[Ctx], status: int = 200,
               **values: Any) -> Response:
        base = request.scope.get("root_path", "")
        notice = NOTICES.get(request.query_params.get("notice", ""))
        context = {"base": base, "title": self.config.title, "notice": notice,
                   "csrf": ctx.csrf if ctx else "", "tenant": ctx.tenant if ctx else None,
                   "user": ctx.session.user if ctx else "", **values}
        return self.templates.TemplateResponse(request, name, context, status_code=status)

    def error(self, request: Request, status: int, heading: str, detail: str,
              ctx: Optional[Ctx] = None) -> Response:
        return self.render(request, "error.html", ctx, status, heading=heading, detail=detail)

    def redirect(self, request: Request, path: str, **query: str) -> Response:
        url = request.scope.get("root_path", "") + path
        if query:
            url += "?" + urlencode(query)
        return RedirectResponse(url, status_code=303)

    def _same_origin(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            return origin is None  # browsers send Origin on POST; "null" is opaque
        if origin.rstrip("/") in self.config.origins:
            return True
        return urlsplit(origin).netloc == request.headers.get("host", "")

    def page(self, fn: Handler, *, write: bool = False) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                session = self.signer.check(SESSION, request.cookies.get(COOKIE))
            except PortalTokenError:
                return self.error(request, 401, "Your session has ended",
                                  "Open the webhooks page again from your account: portal "
                                  "links are short-lived and sessions expire.")
            ctx = Ctx(request, session, self.signer.csrf_token(session))
            if write:
                form = await request.form()
                token = form.get("csrf")
                if (not self._same_origin(request)
                        or not self.signer.check_csrf(session, token if isinstance(token, str)
                                                      else None)):
                    return self.error(request, 403, "This form has expired",
                                      "Go back, reload the page and try again.", ctx)
                ctx.form = form
            try:
                check_values(request, ctx.form)  # before the handler reads or changes anything
                return await fn(ctx)
            except NotFoundError:
                return self.error(request, 404, "Not found",
                                  "There is no such endpoint or delivery in your account.", ctx)
            except SenderError as exc:
                return self.error(request, 400, "That did not work", exc.detail, ctx)
            except Exception as exc:
                if not self.sender.store.unavailable(exc):
                    raise
                self.sender.outage.failed("portal", exc)
                return self.error(request, 503, "Temporarily unavailable",
                                  "We cannot reach our records right now; a change you "
                                  "were making was not saved. Try again in a minute.", ctx)
        return endpoint

    @staticmethod
    def field(ctx: Ctx, name: str) -> str:
        value = ctx.form.get(name, "") if ctx.form is not None else ""
        return value.strip() if isinstance(value, str) else ""
