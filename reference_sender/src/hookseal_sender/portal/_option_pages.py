"""The portal's subscription options page (contract 4.3): an endpoint's filter, custom
headers, redacted fields and rate limit, the event versions it pins (4.2), and a preview
of which recent events a filter would let through, before it is saved."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Optional

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..errors import InvalidFilterError, InvalidRequestError, SenderError
from ..filters import compile_filter
from ..models import Endpoint
from ._pages import Ctx, Pages

#: Events the filter preview tries the filter on: the tenant's newest ones.
PREVIEW_EVENTS = 20
#: How far back the preview looks.
PREVIEW_DAYS = 7


@dataclass(frozen=True)
class PreviewRow:
    """One recent event and what the endpoint would do with it.

    Attributes:
        event_id: The event.
        event_type: Its type.
        created_at: When it was enqueued.
        verdict: ``match``, ``no_match`` or ``not_subscribed`` (a type the endpoint does
            not take).
    """

    event_id: str
    event_type: str
    created_at: float
    verdict: str


def _form_values(ep: Endpoint) -> dict[str, str]:
    """The form's text fields for an endpoint's stored options."""
    return {
        "filter": json.dumps(ep.filter, indent=2) if ep.filter is not None else "",
        "headers": "\n".join(f"{k}: {v}" for k, v in (ep.headers or {}).items()),
        "redact": "\n".join(ep.redact or []),
        "rate_limit": f"{ep.rate_limit:g}" if ep.rate_limit is not None else "",
    }


def _parse_filter(text: str) -> Optional[dict[str, Any]]:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidFilterError(f"the filter is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidFilterError("the filter must be a JSON object, such as "
                                 '{"/type": {"$eq": "invoice.paid"}}')
    return value


def _parse_options(values: dict[str, str]) -> dict[str, Any]:
    """The options as ``update_endpoint`` takes them, from the form's text fields."""
    headers: dict[str, str] = {}
    for line in values["headers"].splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise InvalidRequestError(f"write each header as 'Name: value', not {line.strip()!r}")
        headers[name.strip()] = value.strip()
    redact = [p.strip() for p in values["redact"].splitlines() if p.strip()]
    rate: Optional[float] = None
    if values["rate_limit"]:
        try:
            rate = float(values["rate_limit"])
        except ValueError:
            raise InvalidRequestError("the rate limit is a number of deliveries per second, "
                                      f"not {values['rate_limit']!r}") from None
    return {"filter": _parse_filter(values["filter"]), "headers": headers or None,
            "redact": redact or None, "rate_limit": rate}


class OptionPages(Pages):
    """The subscription options form, its save and its filter preview."""

    def _values(self, ctx: Ctx) -> dict[str, str]:
        return {name: self.field(ctx, name) for name in ("filter", "headers", "redact",
                                                         "rate_limit")}

    def _pinnable(self) -> list[dict[str, Any]]:
        """The event types served in more than one version today: those a pin can choose."""
        return [row for row in self.sender.catalog.overview() if len(row["served"]) > 1]

    def _pins(self, ctx: Ctx, ep: Endpoint) -> dict[str, int]:
        """The pins the form asks for: a choice per pinnable type (empty: the current
        version), and the endpoint's other pins kept as they are."""
        pins = {t: v for t, v in (ep.versions or {}).items()}
        for row in self._pinnable():
            chosen = self.field(ctx, f"pin:{row['type']}")
            pins.pop(row["type"], None)
            if chosen:
                if not chosen.isdigit():
                    raise InvalidRequestError(f"the version of {row['type']} is a number, "
                                              f"not {chosen!r}")
                pins[row["type"]] = int(chosen)
        return pins

    def _page(self, ctx: Ctx, ep: Endpoint, values: dict[str, str], *, status: int = 200,
              error: str = "", preview: Optional[list[PreviewRow]] = None) -> Response:
        return self.render(ctx.request, "endpoint_options.html", ctx, status, ep=ep,
                           values=values, error=error, preview=preview,
                           preview_events=PREVIEW_EVENTS, preview_days=PREVIEW_DAYS,
                           pinnable=self._pinnable(), pins=ep.versions or {})

    async def options(self, ctx: Ctx) -> Response:
        """The form, with the endpoint's stored options."""
        ep = await run_in_threadpool(self.sender.get_endpoint, ctx.tenant,
                                     ctx.request.path_params["eid"])
        return self._page(ctx, ep, _form_values(ep))

    async def save(self, ctx: Ctx) -> Response:
        """Save the options; on a refusal, the form again with the reason and the input."""
        eid = ctx.request.path_params["eid"]
        ep = await run_in_threadpool(self.sender.get_endpoint, ctx.tenant, eid)
        values = self._values(ctx)
        try:
            options = _parse_options(values)
            options["versions"] = self._pins(ctx, ep) or None
            await run_in_threadpool(lambda: self.sender.update_endpoint(ctx.tenant, eid,
                                                                        **options))
        except SenderError as exc:
            return self._page(ctx, ep, values, status=400, error=exc.detail)
        return self.redirect(ctx.request, f"/endpoints/{eid}", notice="updated")

    async def preview(self, ctx: Ctx) -> Response:
        """The form as entered, with which of the tenant's recent events the filter in it
        would let through (nothing is saved)."""
        eid = ctx.request.path_params["eid"]
        ep = await run_in_threadpool(self.sender.get_endpoint, ctx.tenant, eid)
        values = self._values(ctx)
        try:
            flt = _parse_filter(values["filter"])
            match = compile_filter(flt if flt is not None else {})
        except SenderError as exc:
            return self._page(ctx, ep, values, status=400, error=exc.detail)
        events = await run_in_threadpool(
            self.sender.store.recent_events, ctx.tenant, PREVIEW_EVENTS,
            time.time() - PREVIEW_DAYS * 86400.0)
        rows = []
        for event_id, event_type, created_at, payload in events:
            if ep.event_types is not None and event_type not in ep.event_types:
                verdict = "not_subscribed"
            else:
                verdict = "match" if match(orjson.loads(payload)) else "no_match"
            rows.append(PreviewRow(event_id, event_type, created_at, verdict))
        return self._page(ctx, ep, values, preview=rows)
