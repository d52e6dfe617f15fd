"""The customer portal: a Starlette app, server-rendered with Jinja2, mounted at ``/portal``.

Every page acts for the one customer (tenant) named in the session cookie, which is only
ever made from a signed portal link; no URL or form field names a tenant. Writes go
through :class:`~hookseal_sender.Sender` (tenant-scoped, validated, SSRF-checked,
audited), and so do reads, plus the tenant-scoped queries in :mod:`.queries`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import urlencode, urlsplit

from hookseal.profiles import HOOKSEAL_V1
from jinja2 import Environment, FileSystemLoader
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp

from ..catalog import PING_TYPE
from ..errors import ConflictError, InvalidRequestError, NotFoundError, SenderError
from ..models import DELIVERY_STATUSES, DeliveryFilter, Endpoint
from ..portal_tokens import LINK, SESSION, PortalClaims, PortalTokenError, TokenSigner, derive_key
from ..sender import Sender
from ._format import local_input, parse_time, pretty, when
from ._guards import RateLimiter, SecurityHeaders, check_values, security_headers
from ._headers import request_headers
from .queries import endpoint_health, page_deliveries

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
}
_RANGES = {"1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}
_OVERLAPS = {"0": 0.0, "1h": 3600.0, "24h": 86400.0, "72h": 3 * 86400.0}


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
class _Ctx:
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


Handler = Callable[[_Ctx], Awaitable[Response]]


class _Portal:
    def __init__(self, sender: Sender, config: PortalConfig) -> None:
        self.sender = sender
        self.config = config
        self.signer = TokenSigner(config.key or derive_key(sender.config))
        env = Environment(loader=FileSystemLoader(str(_HERE / "templates")), autoescape=True,
                          trim_blocks=True, lstrip_blocks=True)
        env.filters["when"] = when
        env.filters["local"] = local_input
        env.filters["pretty"] = pretty
        self.templates = Jinja2Templates(env=env)
        self.replays = RateLimiter(sender.config.replay_rate, config.replay_burst)
        self._event_types: Optional[list[str]] = None

    # plumbing -------------------------------------------------------------
    def event_types(self) -> list[str]:
        if self._event_types is None:
            try:
                from ..catalog import event_catalog

                self._event_types = sorted(t for t in event_catalog().events if t != PING_TYPE)
            except Exception:  # a sender without the catalog: free-text types only
                self._event_types = []
        return self._event_types

    def render(self, request: Request, name: str, ctx: Optional[_Ctx], status: int = 200,
               **values: Any) -> Response:
        base = request.scope.get("root_path", "")
        notice = NOTICES.get(request.query_params.get("notice", ""))
        context = {"base": base, "title": self.config.title, "notice": notice,
                   "csrf": ctx.csrf if ctx else "", "tenant": ctx.tenant if ctx else None,
                   "user": ctx.session.user if ctx else "", **values}
        return self.templates.TemplateResponse(request, name, context, status_code=status)

    def error(self, request: Request, status: int, heading: str, detail: str,
              ctx: Optional[_Ctx] = None) -> Response:
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
            ctx = _Ctx(request, session, self.signer.csrf_token(session))
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
    def field(ctx: _Ctx, name: str) -> str:
        value = ctx.form.get(name, "") if ctx.form is not None else ""
        return value.strip() if isinstance(value, str) else ""

    def _types_from(self, ctx: _Ctx) -> Optional[list[str]]:
        assert ctx.form is not None
        chosen = [t.strip() for t in ctx.form.getlist("event_types")
                  if isinstance(t, str) and t.strip()]
        extra = [t.strip() for t in self.field(ctx, "other_types").split(",") if t.strip()]
        types = sorted(set(chosen + extra))
        return types or None

    # session ---------------------------------------------------------------
    async def login(self, request: Request) -> Response:
        token = request.query_params.get("token")
        if request.method == "POST":
            form = await request.form()
            value = form.get("token")
            token = value if isinstance(value, str) else None
        try:
            link = self.signer.check(LINK, token)
        except PortalTokenError:
            return self.error(request, 401, "This link does not work",
                              "It has expired or is not a valid portal link. Ask for a new "
                              "one from your account.")
        cookie, session = self.signer.session_token(link)
        await run_in_threadpool(
            self.sender.audit, session.tenant_id,
            f"portal:{session.user}" if session.user else "portal", "portal_session", "",
            {"expires_at": session.expires_at, "link_issued_at": link.issued_at})
        response = self.redirect(request, "/")
        secure = self.config.cookie_secure
        if secure is None:
            secure = request.url.scheme == "https"
        response.set_cookie(COOKIE, cookie, max_age=int(session.expires_at - time.time()),
                            path=request.scope.get("root_path", "") + "/", httponly=True,
                            secure=secure, samesite=self.config.cookie_samesite)  # type: ignore[arg-type]
        return response

    async def logout(self, ctx: _Ctx) -> Response:
        response = self.render(ctx.request, "error.html", None, 200, heading="Signed out",
                               detail="You can close this page.")
        response.delete_cookie(COOKIE, path=ctx.request.scope.get("root_path", "") + "/")
        return response

    # endpoints -------------------------------------------------------------
    async def endpoints(self, ctx: _Ctx) -> Response:
        eps = await run_in_threadpool(self.sender.list_endpoints, ctx.tenant)
        health = await run_in_threadpool(endpoint_health, self.sender, ctx.tenant,
                                         [e.id for e in eps])
        return self.render(ctx.request, "endpoints.html", ctx, endpoints=eps, health=health)

    def _new_form(self, ctx: _Ctx, status: int = 200, error: str = "",
                  values: Optional[dict[str, Any]] = None) -> Response:
        return self.render(ctx.request, "endpoint_new.html", ctx, status,
                           event_types=self.event_types(), error=error,
                           values=values or {"profile": HOOKSEAL_V1, "event_types": None})

    async def new_endpoint(self, ctx: _Ctx) -> Response:
        return self._new_form(ctx)

    async def create_endpoint(self, ctx: _Ctx) -> Response:
        url, description = self.field(ctx, "url"), self.field(ctx, "description")
        profile, types = self.field(ctx, "profile") or HOOKSEAL_V1, self._types_from(ctx)
        values = {"url": url, "description": description, "profile": profile,
                  "event_types": types}
        if not url:
            return self._new_form(ctx, 400, "Enter the URL that should receive the events.",
                                  values)
        try:
            created = await run_in_threadpool(lambda: self.sender.create_endpoint(
                ctx.tenant, url, description=description, profile=profile, event_types=types,
                allow_local=self.sender.config.allow_local))
        except SenderError as exc:  # invalid or refused URL: say why, keep the input
            return self._new_form(ctx, 400, exc.detail, values)
        return self.render(ctx.request, "secret.html", ctx, endpoint=created.endpoint,
                           secret=created.secret, public_key=created.public_key,
                           overlap_ends_at=None, created=True)

    async def endpoint(self, ctx: _Ctx) -> Response:
        eid = ctx.request.path_params["eid"]
        ep = await run_in_threadpool(self.sender.get_endpoint, ctx.tenant, eid)
        health = (await run_in_threadpool(endpoint_health, self.sender, ctx.tenant, [eid]))[eid]
        recent = await run_in_threadpool(lambda: page_deliveries(
            self.sender, ctx.tenant, DeliveryFilter(endpoint_id=eid), limit=10))
        keys = await run_in_threadpool(self.sender.public_keys, ctx.tenant, eid)
        return self.render(ctx.request, "endpoint.html", ctx, ep=ep, health=health,
                           recent=recent.deliveries, public_keys=keys,
                           event_types=self.event_types(), error="")

    async def update_endpoint(self, ctx: _Ctx) -> Response:
        eid = ctx.request.path_params["eid"]
        types = self._types_from(ctx)
        await run_in_threadpool(lambda: self.sender.update_endpoint(
            ctx.tenant, eid, description=self.field(ctx, "description"), event_types=types))
        return self.redirect(ctx.request, f"/endpoints/{eid}", notice="updated")

    async def pause(self, ctx: _Ctx) -> Response:
        eid = ctx.request.path_params["eid"]
        await run_in_threadpool(self.sender.pause_endpoint, ctx.tenant, eid)
        return self.redirect(ctx.request, f"/endpoints/{eid}", notice="paused")

    async def resume(self, ctx: _Ctx) -> Response:
        eid = ctx.request.path_params["eid"]
        await run_in_threadpool(self.sender.resume_endpoint, ctx.tenant, eid)
        return self.redirect(ctx.request, f"/endpoints/{eid}", notice="resumed")

    async def ping(self, ctx: _Ctx) -> Response:
        eid = ctx.request.path_params["eid"]
        result = await run_in_threadpool(self.sender.ping, ctx.tenant, eid)
        return self.redirect(ctx.request, f"/deliveries/{result.deliveries[0][0]}",
                             notice="ping")

    async def rotate(self, ctx: _Ctx) -> Response:
        eid = ctx.request.path_params["eid"]
        overlap = _OVERLAPS.get(self.field(ctx, "overlap"))
        ep = await run_in_threadpool(self.sender.get_endpoint, ctx.tenant, eid)
        rot = await run_in_threadpool(lambda: self.sender.rotate_secret(
            ctx.tenant, eid, overlap=overlap, actor=ctx.actor))
        return self.render(ctx.request, "secret.html", ctx, endpoint=ep, secret=rot.secret,
                           public_key=rot.public_key, overlap_ends_at=rot.overlap_ends_at,
                           created=False)

    async def confirm_delete(self, ctx: _Ctx) -> Response:
        ep = await run_in_threadpool(self.sender.get_endpoint, ctx.tenant,
                                     ctx.request.path_params["eid"])
        return self.render(ctx.request, "confirm_delete.html", ctx, ep=ep)

    async def delete(self, ctx: _Ctx) -> Response:
        await run_in_threadpool(self.sender.delete_endpoint, ctx.tenant,
                                ctx.request.path_params["eid"])
        return self.redirect(ctx.request, "/", notice="deleted")

    # deliveries ------------------------------------------------------------
    def _filter(self, q: Mapping[str, str]) -> tuple[DeliveryFilter, dict[str, str]]:
        shown = {k: q.get(k, "").strip() for k in
                 ("endpoint", "event_type", "status", "range", "since", "until")}
        status = shown["status"]
        if status and status not in DELIVERY_STATUSES:
            raise InvalidRequestError(f"unknown status {status!r}")
        since = parse_time(shown["since"], "since")
        until = parse_time(shown["until"], "until")
        if shown["range"] in _RANGES and since is None:
            since = time.time() - _RANGES[shown["range"]]
        flt = DeliveryFilter(endpoint_id=shown["endpoint"] or None,
                             event_type=shown["event_type"] or None,
                             status=[status] if status else None, since=since, until=until)
        return flt, shown

    async def deliveries(self, ctx: _Ctx) -> Response:
        q = ctx.request.query_params
        flt, shown = self._filter(q)
        page = await run_in_threadpool(lambda: page_deliveries(
            self.sender, ctx.tenant, flt, limit=self.config.page_size,
            before=q.get("before") or None, after=q.get("after") or None))
        eps = await run_in_threadpool(self.sender.list_endpoints, ctx.tenant)
        keep = {k: v for k, v in shown.items() if v}
        return self.render(
            ctx.request, "deliveries.html", ctx, page=page, shown=shown, endpoints=eps,
            urls={e.id: e.url for e in eps}, statuses=DELIVERY_STATUSES,
            event_types=[*self.event_types(), PING_TYPE],
            older_q=urlencode({**keep, "before": page.older}) if page.older else None,
            newer_q=urlencode({**keep, "after": page.newer}) if page.newer else None,
            first_q=urlencode(keep), live=any(d.status in ("pending", "delivering")
                                              for d in page.deliveries))

    async def delivery(self, ctx: _Ctx) -> Response:
        did = ctx.request.path_params["did"]
        d = await run_in_threadpool(self.sender.get_delivery, ctx.tenant, did)
        ep: Optional[Endpoint] = await run_in_threadpool(
            self.sender.store.get_endpoint, ctx.tenant, d.endpoint_id)
        body = (d.payload or "").encode("utf-8")
        attempts = [
            (a, request_headers(ep, d, a.at, body, self.sender.config.user_agent)
             if ep is not None else {})
            for a in d.attempts
        ]
        return self.render(ctx.request, "delivery.html", ctx, d=d, ep=ep, attempts=attempts,
                           live=d.status in ("pending", "delivering"))

    async def replay(self, ctx: _Ctx) -> Response:
        did = ctx.request.path_params["did"]
        await run_in_threadpool(self.sender.get_delivery, ctx.tenant, did)
        wait = self.replays.take(ctx.tenant, time.monotonic())
        if wait is not None:
            return self.error(ctx.request, 429, "Too many replays",
                              f"Replays are limited; try again in {wait:.0f} s.", ctx)
        try:
            await run_in_threadpool(lambda: self.sender.replay(
                ctx.tenant, did, actor=ctx.actor,
                reason=self.field(ctx, "reason") or "replayed from the portal"))
        except ConflictError:
            return self.redirect(ctx.request, f"/deliveries/{did}", notice="not_replayable")
        return self.redirect(ctx.request, f"/deliveries/{did}", notice="replayed")

    async def _bulk_form(self, ctx: _Ctx, source: Mapping[str, str], *,
                         done: Optional[dict[str, Any]] = None, status: int = 200) -> Response:
        eps = await run_in_threadpool(self.sender.list_endpoints, ctx.tenant)
        shown = {k: source.get(k, "").strip() for k in ("endpoint", "since", "until")}
        preview: Optional[dict[str, Any]] = None
        error = ""
        if shown["endpoint"] and done is None:
            try:
                await run_in_threadpool(self.sender.get_endpoint, ctx.tenant, shown["endpoint"])
                flt = DeliveryFilter(endpoint_id=shown["endpoint"],
                                     since=parse_time(shown["since"], "since"),
                                     until=parse_time(shown["until"], "until"))
                preview = await run_in_threadpool(
                    lambda: self.sender.replay_bulk(ctx.tenant, flt, confirm=False))
            except InvalidRequestError as exc:
                error = exc.detail
        return self.render(ctx.request, "replay_bulk.html", ctx, status, endpoints=eps,
                           shown=shown, preview=preview, done=done, error=error)

    async def bulk_replay_form(self, ctx: _Ctx) -> Response:
        return await self._bulk_form(ctx, ctx.request.query_params)

    async def bulk_replay(self, ctx: _Ctx) -> Response:
        eid = self.field(ctx, "endpoint")
        await run_in_threadpool(self.sender.get_endpoint, ctx.tenant, eid)
        flt = DeliveryFilter(endpoint_id=eid,
                             since=parse_time(self.field(ctx, "since"), "since"),
                             until=parse_time(self.field(ctx, "until"), "until"))
        confirmed = self.field(ctx, "confirm") == "yes"
        source = {k: self.field(ctx, k) for k in ("endpoint", "since", "until")}
        if not confirmed:
            return await self._bulk_form(ctx, source)
        done = await run_in_threadpool(lambda: self.sender.replay_bulk(
            ctx.tenant, flt, confirm=True, actor=ctx.actor,
            reason=self.field(ctx, "reason") or "bulk replay from the portal"))
        return await self._bulk_form(ctx, source, done=done)


def create_portal(sender: Sender, config: Optional[PortalConfig] = None) -> ASGIApp:
    """The portal app, to mount at ``/portal`` next to the admin API.

    Args:
        sender: The sender it operates for the customer of each session.
        config: Framing, cookie and title settings.

    Returns:
        An ASGI app: ``create_app(sender, keys, mounts=[Mount("/portal", app=...)])``.
    """
    config = config or PortalConfig()
    if config.cookie_samesite not in ("strict", "lax", "none"):
        raise InvalidRequestError("cookie_samesite must be strict, lax or none")
    p = _Portal(sender, config)
    routes = [
        Route("/", p.page(p.endpoints)),
        Route("/login", p.login, methods=["GET", "POST"]),
        Route("/logout", p.page(p.logout, write=True), methods=["POST"]),
        Route("/endpoints/new", p.page(p.new_endpoint)),
        Route("/endpoints/new", p.page(p.create_endpoint, write=True), methods=["POST"]),
        Route("/endpoints/{eid}", p.page(p.endpoint)),
        Route("/endpoints/{eid}", p.page(p.update_endpoint, write=True), methods=["POST"]),
        Route("/endpoints/{eid}/pause", p.page(p.pause, write=True), methods=["POST"]),
        Route("/endpoints/{eid}/resume", p.page(p.resume, write=True), methods=["POST"]),
        Route("/endpoints/{eid}/ping", p.page(p.ping, write=True), methods=["POST"]),
        Route("/endpoints/{eid}/rotate", p.page(p.rotate, write=True), methods=["POST"]),
        Route("/endpoints/{eid}/delete", p.page(p.confirm_delete)),
        Route("/endpoints/{eid}/delete", p.page(p.delete, write=True), methods=["POST"]),
        Route("/deliveries", p.page(p.deliveries)),
        Route("/deliveries/{did}", p.page(p.delivery)),
        Route("/deliveries/{did}/replay", p.page(p.replay, write=True), methods=["POST"]),
        Route("/replay", p.page(p.bulk_replay_form)),
        Route("/replay", p.page(p.bulk_replay, write=True), methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=str(_HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.portal = p

    async def not_found(request: Request, exc: Exception) -> Response:
        return p.error(request, 404, "Not found", "There is no such page.")

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        return p.error(request, 405, "Not allowed", "This page cannot be used that way.")

    app.add_exception_handler(404, not_found)
    app.add_exception_handler(405, method_not_allowed)
    return SecurityHeaders(app, security_headers(config.frame_ancestors))
