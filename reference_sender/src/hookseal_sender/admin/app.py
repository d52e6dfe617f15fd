"""The internal admin console: a Starlette app, server-rendered, mounted at ``/admin``.

For the provider's own staff, never for customers: an operator signs in with an admin API
key or a signed short-lived link from ``hookseal-sender admin-link``, and then sees every
tenant's deliveries. Every change goes through :class:`~hookseal_sender.Sender` and is
recorded in the audit log with who (``admin:<operator>``) and why: a reason is required
for every action, and bulk replays are previewed, confirmed twice and run as stoppable,
paced background jobs (:mod:`.jobs`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from .._http import http_status
from .._inputs import MAX_NAME, check_text, loads_json
from ..errors import ConflictError, InvalidRequestError, NotFoundError, SenderError
from ..models import DELIVERY_STATUSES, DeliveryFilter, Endpoint
from ..portal._format import parse_time
from ..portal._guards import SecurityHeaders, security_headers
from ..portal._headers import request_headers
from ..portal_tokens import PortalTokenError
from ..sender import Sender
from ._pages import ADMIN_COOKIE, AdminConfig, Ctx, Pages
from .jobs import KINDS, BulkSelection, JobRunner, preview, select
from .links import OPERATOR_LOG

__all__ = ["ADMIN_COOKIE", "AdminConfig", "create_admin"]

_HERE = Path(__file__).parent
_PORTAL_STATIC = _HERE.parent / "portal" / "static"
_RANGES = {"1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}
_FILTERS = ("tenant", "endpoint", "event_type", "status", "range", "since", "until", "event_id")
_BULK_FIELDS = ("kind", "tenant", "endpoint", "event_type", "since", "until", "reason")


class _Console(Pages):
    """The console's pages."""

    def __init__(self, sender: Sender, api_keys: Mapping[str, str], config: AdminConfig,
                 jobs: JobRunner) -> None:
        super().__init__(sender, api_keys, config)
        self.jobs = jobs

    # session ---------------------------------------------------------------
    async def login(self, request: Request) -> Response:
        token = request.query_params.get("token")
        key = ""
        if request.method == "POST":
            if not self.same_origin(request):
                return self.error(request, 403, "This form has expired",
                                  "Reload the sign-in page and try again.")
            form = await request.form()
            value, k = form.get("token"), form.get("key")
            token = value if isinstance(value, str) and value else None
            key = k.strip() if isinstance(k, str) else ""
        if token is None and not key:
            return self.render(request, "login.html", None, error="")
        client = request.client.host if request.client else "?"
        wait = self.logins.take(client, time.monotonic())
        if wait is not None:
            return self.render(request, "login.html", None, 429,
                               error=f"Too many sign-in attempts; wait {wait:.0f} s.")
        if key:
            name = self.key_name(key)
            if name is None:
                return self.render(request, "login.html", None, 401,
                                   error="That is not an admin API key.")
            operator, via = name, "api_key"
        else:
            try:
                operator, via = self.tokens.check_link(token).user, "link"
            except PortalTokenError:
                return self.render(request, "login.html", None, 401,
                                   error="This sign-in link has expired or is not an "
                                         "admin console link. Make a new one with "
                                         "hookseal-sender admin-link.")
        cookie, session = self.tokens.session(operator, self.config.session_ttl)
        await run_in_threadpool(self.sender.audit, OPERATOR_LOG, f"admin:{operator}",
                                "admin_session", "", {"via": via,
                                                      "expires_at": session.expires_at})
        response = self.redirect(request, "/")
        self.set_session(request, response, cookie, session)
        return response

    async def logout(self, ctx: Ctx) -> Response:
        await run_in_threadpool(self.sender.audit, OPERATOR_LOG, ctx.actor, "admin_logout",
                                "", {})
        response = self.redirect(ctx.request, "/login")
        response.delete_cookie(ADMIN_COOKIE,
                               path=ctx.request.scope.get("root_path", "") + "/")
        return response

    def _limited(self, ctx: Ctx) -> Optional[Response]:
        wait = self.actions.take(ctx.actor, time.monotonic())
        if wait is None:
            return None
        return self.error(ctx.request, 429, "Too many actions",
                          f"Actions are rate-limited; try again in {wait:.0f} s.", ctx)

    def _reason(self, ctx: Ctx) -> str:
        reason = self.field(ctx, "reason")
        if not reason:
            raise InvalidRequestError("say why (the reason goes to the audit log)")
        return reason

    # deliveries ------------------------------------------------------------
    def _filter(self, q: Mapping[str, str]) -> tuple[Optional[str], DeliveryFilter,
                                                     dict[str, str]]:
        shown = {k: q.get(k, "").strip() for k in _FILTERS}
        status = shown["status"]
        if status and status not in DELIVERY_STATUSES:
            raise InvalidRequestError(f"unknown status {status!r}")
        since = parse_time(shown["since"], "since")
        until = parse_time(shown["until"], "until")
        if shown["range"] in _RANGES and since is None:
            since = time.time() - _RANGES[shown["range"]]
        flt = DeliveryFilter(endpoint_id=shown["endpoint"] or None,
                             event_type=shown["event_type"] or None,
                             status=[status] if status else None, since=since, until=until,
                             event_id=shown["event_id"] or None)
        return shown["tenant"] or None, flt, shown

    async def deliveries(self, ctx: Ctx) -> Response:
        q = ctx.request.query_params
        tenant, flt, shown = self._filter(q)
        page = await run_in_threadpool(lambda: self.sender.store.search_deliveries(
            tenant, flt, limit=self.config.page_size, before=q.get("before") or None,
            after=q.get("after") or None))
        keep = {k: v for k, v in shown.items() if v}
        return self.render(
            ctx.request, "deliveries.html", ctx, page=page, shown=shown,
            statuses=DELIVERY_STATUSES, ranges=list(_RANGES),
            older_q=urlencode({**keep, "before": page.older}) if page.older else None,
            newer_q=urlencode({**keep, "after": page.newer}) if page.newer else None)

    async def _delivery(self, did: str) -> Any:
        check_text(did, "delivery id", MAX_NAME)
        d = await run_in_threadpool(self.sender.store.get_delivery, None, did)
        if d is None:
            raise NotFoundError(f"delivery {did} not found")
        return d

    async def delivery(self, ctx: Ctx) -> Response:
        d = await self._delivery(ctx.request.path_params["did"])
        ep: Optional[Endpoint] = await run_in_threadpool(
            self.sender.store.get_endpoint, None, d.endpoint_id)
        body = (d.payload or "").encode("utf-8")
        attempts = [(a, request_headers(ep, d, a.at, body, self.sender.config.user_agent)
                     if ep is not None else {}) for a in d.attempts]
        revisions = await run_in_threadpool(self.sender.store.event_revisions, d.tenant_id,
                                            d.event_id)
        entries = await run_in_threadpool(self.sender.store.list_audit, d.tenant_id, 500)
        related = [e for e in entries
                   if d.id in json.dumps(e.target) or d.event_id in json.dumps(e.target)]
        return self.render(ctx.request, "delivery.html", ctx, d=d, ep=ep, attempts=attempts,
                           revisions=revisions, audit=related,
                           live=d.status in ("pending", "delivering"))

    async def replay(self, ctx: Ctx) -> Response:
        d = await self._delivery(ctx.request.path_params["did"])
        reason = self._reason(ctx)
        limited = self._limited(ctx)
        if limited:
            return limited
        await run_in_threadpool(lambda: self.sender.replay(d.tenant_id, d.id, actor=ctx.actor,
                                                           reason=reason))
        return self.redirect(ctx.request, f"/deliveries/{d.id}", notice="replayed")

    async def cancel(self, ctx: Ctx) -> Response:
        d = await self._delivery(ctx.request.path_params["did"])
        reason = self._reason(ctx)
        n = await run_in_threadpool(lambda: self.sender.cancel(
            d.tenant_id, delivery_ids=[d.id], actor=ctx.actor, reason=reason))
        if not n:
            raise ConflictError(f"delivery {d.id} is {d.status} (or being attempted now): "
                                "it has no future retries to cancel")
        return self.redirect(ctx.request, f"/deliveries/{d.id}", notice="cancelled")

    async def _endpoint(self, eid: str) -> Endpoint:
        check_text(eid, "endpoint id", MAX_NAME)
        ep = await run_in_threadpool(self.sender.store.get_endpoint, None, eid)
        if ep is None:
            raise NotFoundError(f"endpoint {eid} not found")
        return ep

    def _back(self, ctx: Ctx, ep: Endpoint, notice: str) -> Response:
        back = self.field(ctx, "back")
        if back.startswith("/deliveries/") and "?" not in back and "//" not in back:
            return self.redirect(ctx.request, back, notice=notice)
        return self.redirect(ctx.request, "/", endpoint=ep.id, tenant=ep.tenant_id,
                             notice=notice)

    async def cancel_endpoint(self, ctx: Ctx) -> Response:
        ep = await self._endpoint(ctx.request.path_params["eid"])
        reason = self._reason(ctx)
        await run_in_threadpool(lambda: self.sender.cancel(
            ep.tenant_id, endpoint_id=ep.id, actor=ctx.actor, reason=reason))
        return self._back(ctx, ep, "endpoint_cancelled")

    async def pause(self, ctx: Ctx) -> Response:
        ep = await self._endpoint(ctx.request.path_params["eid"])
        reason = self._reason(ctx)
        resume = ctx.request.url.path.endswith("/resume")
        change = self.sender.resume_endpoint if resume else self.sender.pause_endpoint
        await run_in_threadpool(change, ep.tenant_id, ep.id)
        await run_in_threadpool(self.sender.audit, ep.tenant_id, ctx.actor,
                                "resume_endpoint" if resume else "pause_endpoint", reason,
                                {"endpoint_id": ep.id})
        return self._back(ctx, ep, "resumed" if resume else "paused")

    # corrected replay -------------------------------------------------------
    async def correct_form(self, ctx: Ctx, status: int = 200, error: str = "",
                           data: Optional[str] = None, reason: str = "") -> Response:
        tenant, eid = ctx.request.path_params["tenant"], ctx.request.path_params["eid"]
        check_text(tenant, "tenant", MAX_NAME)
        check_text(eid, "event id", MAX_NAME)
        event = await run_in_threadpool(self.sender.store.get_event, tenant, eid)
        if event is None:
            raise NotFoundError(f"event {eid} not found for tenant {tenant}")
        if data is None:
            data = json.dumps(json.loads(event.payload).get("data"), indent=2)
        revisions = await run_in_threadpool(self.sender.store.event_revisions, tenant, eid)
        return self.render(ctx.request, "correct.html", ctx, status, event=event, data=data,
                           error=error, reason=reason, revisions=revisions)

    async def correct_page(self, ctx: Ctx) -> Response:
        return await self.correct_form(ctx)

    async def correct(self, ctx: Ctx) -> Response:
        tenant, eid = ctx.request.path_params["tenant"], ctx.request.path_params["eid"]
        text = self.field(ctx, "data").replace("\r\n", "\n")
        reason = self.field(ctx, "reason")
        try:
            if not reason:
                raise InvalidRequestError("say why (the reason goes to the audit log)")
            data = loads_json(text, "data")
            done = await run_in_threadpool(lambda: self.sender.replay_corrected(
                tenant, eid, data, actor=ctx.actor, reason=reason))
        except NotFoundError:
            raise
        except SenderError as exc:  # invalid JSON or data, no reason, in flight: say why
            return await self.correct_form(ctx, http_status(exc.code), exc.detail, text,
                                           reason)
        target = f"/deliveries/{done.delivery_ids[0]}" if done.delivery_ids else "/"
        return self.redirect(ctx.request, target, notice="corrected")

    # bulk replay -----------------------------------------------------------
    def _bulk_values(self, source: Mapping[str, Any]) -> dict[str, str]:
        return {k: (source.get(k) or "").strip() if isinstance(source.get(k), str) else ""
                for k in _BULK_FIELDS}

    def _selection(self, v: Mapping[str, str]) -> BulkSelection:
        return select(self.sender, v["kind"], tenant_id=v["tenant"], endpoint_id=v["endpoint"],
                      event_type=v["event_type"], since=parse_time(v["since"], "from"),
                      until=parse_time(v["until"], "to"))

    async def bulk_form(self, ctx: Ctx) -> Response:
        values = self._bulk_values(ctx.request.query_params)
        values["kind"] = values["kind"] or "tenant_failed"
        return self.render(ctx.request, "bulk.html", ctx, kinds=KINDS, v=values, error="")

    async def bulk_step(self, ctx: Ctx) -> Response:
        """Preview (count and sample), then the second confirmation, then the job."""
        assert ctx.form is not None
        v = self._bulk_values(ctx.form)
        step = self.field(ctx, "step")
        try:
            if not v["reason"]:
                raise InvalidRequestError("say why (a reason is required for bulk replays)")
            sel = await run_in_threadpool(self._selection, v)
            if step == "start":
                typed = self.field(ctx, "typed_count")
                if not typed.isdigit() or typed != self.field(ctx, "count"):
                    raise InvalidRequestError("type the exact number of deliveries to "
                                              "confirm")
                job = await run_in_threadpool(lambda: self.jobs.start(
                    sel, actor=ctx.actor, reason=v["reason"], confirmed_count=int(typed)))
                return self.redirect(ctx.request, f"/jobs/{job.id}")
            pv = await run_in_threadpool(preview, self.sender, sel)
        except (InvalidRequestError, NotFoundError, ConflictError) as exc:
            return self.render(ctx.request, "bulk.html", ctx, http_status(exc.code),
                               kinds=KINDS, v=v, error=exc.detail)
        if step == "confirm" and self.field(ctx, "checked") != "yes":
            step = "preview"
        if step == "confirm" and self.field(ctx, "count") != str(pv.count):
            return self.render(ctx.request, "bulk.html", ctx, 409, kinds=KINDS, v=v,
                               error=f"{pv.count} deliveries match now, not "
                                     f"{self.field(ctx, 'count')}: review it again.")
        return self.render(ctx.request, "bulk_confirm.html" if step == "confirm"
                           else "bulk_preview.html", ctx, kinds=KINDS, v=v, pv=pv, sel=sel,
                           rate=f"{self.sender.config.replay_rate:g}")

    async def jobs_page(self, ctx: Ctx) -> Response:
        await run_in_threadpool(self.jobs.reap)  # what no process runs any more, said so
        jobs = await run_in_threadpool(self.sender.store.list_jobs, 50)
        return self.render(ctx.request, "jobs.html", ctx, jobs=jobs)

    async def job(self, ctx: Ctx) -> Response:
        jid = ctx.request.path_params["jid"]
        await run_in_threadpool(self.jobs.reap)
        job = await run_in_threadpool(self.sender.store.get_job, jid)
        if job is None:
            raise NotFoundError(f"job {jid} not found")
        return self.render(ctx.request, "job.html", ctx, job=job, kinds=KINDS)

    async def stop_job(self, ctx: Ctx) -> Response:
        jid = ctx.request.path_params["jid"]
        await run_in_threadpool(lambda: self.jobs.stop(jid, actor=ctx.actor))
        return self.redirect(ctx.request, f"/jobs/{jid}", notice="stop_asked")

    async def audit(self, ctx: Ctx) -> Response:
        tenant = ctx.request.query_params.get("tenant", "").strip() or OPERATOR_LOG
        entries = await run_in_threadpool(self.sender.store.list_audit, tenant, 200)
        return self.render(ctx.request, "audit.html", ctx, tenant=tenant, entries=entries,
                           operator_log=OPERATOR_LOG)


def create_admin(sender: Sender, api_keys: Mapping[str, str],
                 config: Optional[AdminConfig] = None,
                 jobs: Optional[JobRunner] = None) -> ASGIApp:
    """The admin console app, to mount at ``/admin`` next to the admin API.

    Args:
        sender: The sender it operates.
        api_keys: Admin API key -> name: the keys that sign in (the API's own).
        config: Cookie, session and paging settings.
        jobs: Runs bulk replays (default: a :class:`JobRunner` of this sender).

    Returns:
        An ASGI app: ``create_app(sender, keys, mounts=[Mount("/admin", app=...)])``.
    """
    config = config or AdminConfig()
    c = _Console(sender, api_keys, config, jobs or JobRunner(sender))
    w = {"write": True}
    post = ["POST"]
    routes = [
        Route("/", c.page(c.deliveries)),
        Route("/login", c.login, methods=["GET", "POST"]),
        Route("/logout", c.page(c.logout, **w), methods=post),
        Route("/deliveries/{did}", c.page(c.delivery)),
        Route("/deliveries/{did}/replay", c.page(c.replay, **w), methods=post),
        Route("/deliveries/{did}/cancel", c.page(c.cancel, **w), methods=post),
        Route("/endpoints/{eid}/cancel", c.page(c.cancel_endpoint, **w), methods=post),
        Route("/endpoints/{eid}/pause", c.page(c.pause, **w), methods=post),
        Route("/endpoints/{eid}/resume", c.page(c.pause, **w), methods=post),
        Route("/events/{tenant}/{eid}/correct", c.page(c.correct_page)),
        Route("/events/{tenant}/{eid}/correct", c.page(c.correct, **w), methods=post),
        Route("/bulk", c.page(c.bulk_form)),
        Route("/bulk", c.page(c.bulk_step, **w), methods=post),
        Route("/jobs", c.page(c.jobs_page)),
        Route("/jobs/{jid}", c.page(c.job)),
        Route("/jobs/{jid}/stop", c.page(c.stop_job, **w), methods=post),
        Route("/audit", c.page(c.audit)),
        Mount("/static/portal", app=StaticFiles(directory=str(_PORTAL_STATIC))),
        Mount("/static", app=StaticFiles(directory=str(_HERE / "static"))),
    ]
    app = Starlette(routes=routes)
    app.state.console = c

    async def not_found(request: Request, exc: Exception) -> Response:
        return c.error(request, 404, "Not found", "There is no such page.")

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        return c.error(request, 405, "Not allowed", "This page cannot be used that way.")

    app.add_exception_handler(404, not_found)
    app.add_exception_handler(405, method_not_allowed)
    return SecurityHeaders(app, security_headers(()))
