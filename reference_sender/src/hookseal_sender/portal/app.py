"""The customer portal: a Starlette app, server-rendered with Jinja2, mounted at ``/portal``.

Every page acts for the one customer (tenant) named in the session cookie, which is only
ever made from a signed portal link; no URL or form field names a tenant. Writes go
through :class:`~hookseal_sender.Sender` (tenant-scoped, validated, SSRF-checked,
audited), and so do reads, plus the tenant-scoped queries in :mod:`.queries`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

from hookseal.profiles import HOOKSEAL_V1
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from ..errors import InvalidRequestError, SenderError
from ..models import DeliveryFilter
from ..portal_tokens import LINK, PortalTokenError
from ..sender import Sender
from ..versioning import pin_info
from ._auth_pages import AuthPages
from ._delivery_pages import DeliveryPages
from ._guards import SecurityHeaders, security_headers
from ._option_pages import OptionPages
from ._pages import COOKIE, NOTICES, Ctx, Pages, PortalConfig
from .queries import TTLCache, endpoint_health, page_deliveries

_HERE = Path(__file__).parent

__all__ = ["COOKIE", "NOTICES", "PortalConfig", "create_portal"]

_OVERLAPS = {"0": 0.0, "1h": 3600.0, "24h": 86400.0, "72h": 3 * 86400.0}


class _Portal(Pages):
    """The session and endpoint pages."""

    def __init__(self, sender: Sender, config: PortalConfig) -> None:
        super().__init__(sender, config)
        #: Each endpoint card's day of attempt counts, reused for a minute when they took
        #: more than 0.1 s to read (a busy endpoint's day); a quiet endpoint's are fresh.
        self.attempt_figures = TTLCache(60.0, min_cost=0.1)

    def _types_from(self, ctx: Ctx) -> Optional[list[str]]:
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

    async def logout(self, ctx: Ctx) -> Response:
        response = self.render(ctx.request, "error.html", None, 200, heading="Signed out",
                               detail="You can close this page.")
        response.delete_cookie(COOKIE, path=ctx.request.scope.get("root_path", "") + "/")
        return response

    # endpoints -------------------------------------------------------------
    async def endpoints(self, ctx: Ctx) -> Response:
        eps = await run_in_threadpool(self.sender.list_endpoints, ctx.tenant)
        health = await run_in_threadpool(lambda: endpoint_health(
            self.sender, ctx.tenant, [e.id for e in eps], cache=self.attempt_figures))
        return self.render(ctx.request, "endpoints.html", ctx, endpoints=eps, health=health)

    def _new_form(self, ctx: Ctx, status: int = 200, error: str = "",
                  values: Optional[dict[str, Any]] = None) -> Response:
        return self.render(ctx.request, "endpoint_new.html", ctx, status,
                           event_types=self.event_types(), error=error,
                           values=values or {"profile": HOOKSEAL_V1, "event_types": None})

    async def new_endpoint(self, ctx: Ctx) -> Response:
        return self._new_form(ctx)

    async def create_endpoint(self, ctx: Ctx) -> Response:
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

    async def endpoint(self, ctx: Ctx) -> Response:
        eid = ctx.request.path_params["eid"]
        ep = await run_in_threadpool(self.sender.get_endpoint, ctx.tenant, eid)
        health = (await run_in_threadpool(lambda: endpoint_health(
            self.sender, ctx.tenant, [eid], cache=self.attempt_figures)))[eid]
        recent = await run_in_threadpool(lambda: page_deliveries(
            self.sender, ctx.tenant, DeliveryFilter(endpoint_id=eid), limit=10))
        keys = await run_in_threadpool(self.sender.public_keys, ctx.tenant, eid)
        return self.render(ctx.request, "endpoint.html", ctx, ep=ep, health=health,
                           recent=recent.deliveries, public_keys=keys,
                           event_types=self.event_types(), error="",
                           pins=pin_info(self.sender.catalog, ep.versions))

    async def update_endpoint(self, ctx: Ctx) -> Response:
        eid = ctx.request.path_params["eid"]
        types = self._types_from(ctx)
        await run_in_threadpool(lambda: self.sender.update_endpoint(
            ctx.tenant, eid, description=self.field(ctx, "description"), event_types=types))
        return self.redirect(ctx.request, f"/endpoints/{eid}", notice="updated")

    async def pause(self, ctx: Ctx) -> Response:
        eid = ctx.request.path_params["eid"]
        await run_in_threadpool(self.sender.pause_endpoint, ctx.tenant, eid)
        return self.redirect(ctx.request, f"/endpoints/{eid}", notice="paused")

    async def resume(self, ctx: Ctx) -> Response:
        eid = ctx.request.path_params["eid"]
        await run_in_threadpool(self.sender.resume_endpoint, ctx.tenant, eid)
        return self.redirect(ctx.request, f"/endpoints/{eid}", notice="resumed")

    async def ping(self, ctx: Ctx) -> Response:
        eid = ctx.request.path_params["eid"]
        result = await run_in_threadpool(self.sender.ping, ctx.tenant, eid)
        return self.redirect(ctx.request, f"/deliveries/{result.deliveries[0][0]}",
                             notice="ping")

    async def rotate(self, ctx: Ctx) -> Response:
        eid = ctx.request.path_params["eid"]
        overlap = _OVERLAPS.get(self.field(ctx, "overlap"))
        ep = await run_in_threadpool(self.sender.get_endpoint, ctx.tenant, eid)
        rot = await run_in_threadpool(lambda: self.sender.rotate_secret(
            ctx.tenant, eid, overlap=overlap, actor=ctx.actor))
        return self.render(ctx.request, "secret.html", ctx, endpoint=ep, secret=rot.secret,
                           public_key=rot.public_key, overlap_ends_at=rot.overlap_ends_at,
                           created=False)

    async def confirm_delete(self, ctx: Ctx) -> Response:
        ep = await run_in_threadpool(self.sender.get_endpoint, ctx.tenant,
                                     ctx.request.path_params["eid"])
        return self.render(ctx.request, "confirm_delete.html", ctx, ep=ep)

    async def delete(self, ctx: Ctx) -> Response:
        await run_in_threadpool(self.sender.delete_endpoint, ctx.tenant,
                                ctx.request.path_params["eid"])
        return self.redirect(ctx.request, "/", notice="deleted")

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
    d = DeliveryPages(sender, config)
    a = AuthPages(sender, config)
    o = OptionPages(sender, config)
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
        Route("/endpoints/{eid}/auth", a.page(a.show)),
        Route("/endpoints/{eid}/auth", a.page(a.save, write=True), methods=["POST"]),
        Route("/endpoints/{eid}/options", o.page(o.options)),
        Route("/endpoints/{eid}/options", o.page(o.save, write=True), methods=["POST"]),
        Route("/endpoints/{eid}/options/preview", o.page(o.preview, write=True),
              methods=["POST"]),
        Route("/deliveries", d.page(d.deliveries)),
        Route("/deliveries.csv", d.page(d.export_csv)),
        Route("/deliveries.json", d.page(d.export_json)),
        Route("/deliveries/{did}", d.page(d.delivery)),
        Route("/deliveries/{did}/replay", d.page(d.replay, write=True), methods=["POST"]),
        Route("/replay", d.page(d.bulk_replay_form)),
        Route("/replay", d.page(d.bulk_replay, write=True), methods=["POST"]),
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
