"""The portal's endpoint authentication page: a customer sets, replaces or removes how the
sender authenticates to its endpoint (a static ``Authorization`` value, OAuth client
credentials, or a TLS client certificate). Secrets go in and are never shown again: the
page shows only the kind and the public fields."""

from __future__ import annotations

from typing import Any, Optional

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..endpoint_auth import AUTH_TYPES
from ..errors import SenderError
from ._pages import Ctx, Pages


class AuthPages(Pages):
    """``/endpoints/{eid}/auth``: the form, and its POST."""

    def _auth_from_form(self, ctx: Ctx) -> Optional[dict[str, Any]]:
        kind = self.field(ctx, "type")
        if kind == "none":
            return None
        if kind == "static":
            return {"type": "static", "authorization": self.field(ctx, "authorization")}
        if kind == "oauth":
            auth = {"type": "oauth"}
            for name in ("token_url", "client_id", "client_secret", "scope", "audience"):
                value = self.field(ctx, name)
                if value or name not in ("scope", "audience"):
                    auth[name] = value
            return auth
        if kind == "mtls":
            return {"type": "mtls", "cert_pem": self.field(ctx, "cert_pem"),
                    "key_pem": self.field(ctx, "key_pem")}
        return {"type": kind}  # refused with the list of kinds

    async def form(self, ctx: Ctx, status: int = 200, error: str = "") -> Response:
        """The page: the endpoint's current authentication (public part) and the form."""
        eid = ctx.request.path_params["eid"]
        ep = await run_in_threadpool(self.sender.get_endpoint, ctx.tenant, eid)
        return self.render(ctx.request, "endpoint_auth.html", ctx, status=status, ep=ep,
                           auth_types=AUTH_TYPES, error=error)

    async def show(self, ctx: Ctx) -> Response:
        """GET: the form."""
        return await self.form(ctx)

    async def save(self, ctx: Ctx) -> Response:
        """POST: set, replace or remove the authentication; errors keep the page, not the
        secrets typed (they are not echoed back)."""
        eid = ctx.request.path_params["eid"]
        auth = self._auth_from_form(ctx)
        try:
            await run_in_threadpool(lambda: self.sender.update_endpoint(ctx.tenant, eid, auth=auth))
        except SenderError as exc:
            return await self.form(ctx, 400, exc.detail)
        return self.redirect(ctx.request, f"/endpoints/{eid}",
                             notice="auth_removed" if auth is None else "auth_set")
