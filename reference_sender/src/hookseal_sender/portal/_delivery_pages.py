"""The portal's delivery pages: the log with its search, filters, figures, pages and
exports, one delivery with its attempts (signatures redacted), single and bulk replays."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, Optional
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from ..catalog import PING_TYPE
from ..errors import ConflictError, InvalidRequestError
from ..models import DELIVERY_STATUSES, DeliveryFilter, Endpoint
from ..sender import Sender
from ._export import (
    EXPORT_FIELDS,
    csv_export,
    export_deliveries,
    export_record,
    iso_time,
    json_export,
)
from ._format import parse_time
from ._headers import request_headers
from ._pages import Ctx, Pages, PortalConfig
from ._search import SEARCH_PATTERN, search_ids
from .queries import FiguresCache, page_deliveries

_RANGES = {"1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}


class DeliveryPages(Pages):
    """The delivery log, one delivery, and replays."""

    def __init__(self, sender: Sender, config: PortalConfig) -> None:
        super().__init__(sender, config)
        #: The log's figures, reused for a minute (paging does not recount them).
        self.figures = FiguresCache()

    # deliveries ------------------------------------------------------------
    def _filter(self, q: Mapping[str, str]) -> tuple[DeliveryFilter, dict[str, str]]:
        shown = {k: q.get(k, "").strip() for k in
                 ("q", "endpoint", "event_type", "status", "range", "since", "until")}
        id_prefix, event_id_prefix = search_ids(shown["q"])
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
                             id_prefix=id_prefix, event_id_prefix=event_id_prefix)
        return flt, shown

    @staticmethod
    def _scope(flt: DeliveryFilter, eps: list[Endpoint]) -> str:
        """What the figures cover, in words."""
        urls = {e.id: e.url for e in eps}
        endpoint = urls.get(flt.endpoint_id or "", "all endpoints")
        return f"{endpoint} · {flt.event_type or 'all event types'}"

    async def deliveries(self, ctx: Ctx) -> Response:
        q = ctx.request.query_params
        flt, shown = self._filter(q)
        page = await run_in_threadpool(lambda: page_deliveries(
            self.sender, ctx.tenant, flt, limit=self.config.page_size,
            before=q.get("before") or None, after=q.get("after") or None))
        eps = await run_in_threadpool(self.sender.list_endpoints, ctx.tenant)
        # The figures are the live poll's only when it asks for them (it refreshes the log).
        figures = None if ctx.request.headers.get("HX-Target") == "log" else (
            await run_in_threadpool(lambda: self.figures.get(
                self.sender, ctx.tenant, endpoint_id=flt.endpoint_id,
                event_type=flt.event_type)))
        keep = {k: v for k, v in shown.items() if v}
        return self.render(
            ctx.request, "deliveries.html", ctx, page=page, shown=shown, endpoints=eps,
            figures=figures, search_pattern=SEARCH_PATTERN, scope=self._scope(flt, eps),
            export_q=urlencode(
                {k: v for k, v in keep.items() if k not in ("before", "after")}),
            urls={e.id: e.url for e in eps}, statuses=DELIVERY_STATUSES,
            event_types=[*self.event_types(), PING_TYPE],
            older_q=urlencode({**keep, "before": page.older}) if page.older else None,
            newer_q=urlencode({**keep, "after": page.newer}) if page.newer else None,
            first_q=urlencode(keep), live=any(d.status in ("pending", "delivering")
                                              for d in page.deliveries))

    async def _export(self, ctx: Ctx, kind: str) -> Response:
        flt, shown = self._filter(ctx.request.query_params)
        eps = await run_in_threadpool(
            lambda: self.sender.store.list_endpoints(ctx.tenant, include_deleted=True))
        urls = {e.id: e.url for e in eps}
        now = time.time()
        records = (export_record(d, urls)
                   for d in export_deliveries(self.sender, ctx.tenant, flt))
        stamp = datetime.fromtimestamp(now, tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        disposition = f'attachment; filename="deliveries-{stamp}.{kind}"'
        if kind == "csv":
            return StreamingResponse(csv_export(records), media_type="text/csv; charset=utf-8",
                                     headers={"Content-Disposition": disposition})
        meta = {"exported_at": iso_time(now),
                "account": ctx.tenant,
                "filters": {k: v for k, v in shown.items() if v}, "fields": EXPORT_FIELDS}
        return StreamingResponse(json_export(meta, records), media_type="application/json",
                                 headers={"Content-Disposition": disposition})

    async def export_csv(self, ctx: Ctx) -> Response:
        """The filtered log as CSV (every page), streamed."""
        return await self._export(ctx, "csv")

    async def export_json(self, ctx: Ctx) -> Response:
        """The filtered log as one JSON document (every page), streamed."""
        return await self._export(ctx, "json")

    async def delivery(self, ctx: Ctx) -> Response:
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

    async def replay(self, ctx: Ctx) -> Response:
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

    async def _bulk_form(self, ctx: Ctx, source: Mapping[str, str], *,
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

    async def bulk_replay_form(self, ctx: Ctx) -> Response:
        return await self._bulk_form(ctx, ctx.request.query_params)

    async def bulk_replay(self, ctx: Ctx) -> Response:
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
