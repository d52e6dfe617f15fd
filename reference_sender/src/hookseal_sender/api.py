"""The admin HTTP API (Starlette): the same operations as the CLI, scoped by tenant.

Every request under ``/v1/`` carries ``Authorization: Bearer <api key>`` (one key per
provider; the key's name is the actor in the audit log) and names the tenant in the path,
``/v1/tenants/{tenant}/...``; nothing there reaches another tenant's data. The schema is
served at ``/openapi.json``. Other modules (the customer portal) mount their own routes
with ``create_app(..., mounts=[Mount("/portal", app=...)])``.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, Callable, Optional

from hookseal.profiles import PROFILES
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ._http import (
    DEFAULT_MAX_BODY_BYTES,
    STORE_UNAVAILABLE,
    BodyLimit,
    check_path_and_query,
    http_status,
    read_json_object,
)
from ._inputs import (
    MAX_BULK_REPLAY,
    MAX_DESCRIPTION,
    MAX_EMAIL,
    MAX_HEADER_PREFIX,
    MAX_NAME,
    MAX_PAGE,
    MAX_URL,
    unix_time,
)
from ._options import MAX_BATCH_EVENTS, OPTION_FIELDS, ORDERING_MODES
from ._subscription_schema import FILTER_SCHEMA, HEADERS_SCHEMA, RATE_LIMIT_SCHEMA, REDACT_SCHEMA
from ._version import __version__
from .backfill import MAX_BACKFILL_EVENTS, BackfillError, backfill, parse_events
from .endpoint_auth import AUTH_TYPES
from .errors import ConfigError, InvalidRequestError, SenderError
from .models import SIGNING_MODES, DeliveryFilter, Endpoint
from .owner_notices import check_template, notify_bulk_replay
from .portal_tokens import DEFAULT_LINK_TTL, issue_link
from .sender import Sender

__all__ = ["OPERATIONS", "Handler", "create_app", "openapi_schema"]


Handler = Callable[[Request, Sender, str, str], Awaitable[Any]]

#: (method, path, operation id, summary, request body schema or None, status)
OPERATIONS: list[tuple[str, str, str, str, Optional[dict[str, Any]], int]] = []
_HANDLERS: list[tuple[str, str, Handler, int]] = []


def _op(method: str, path: str, summary: str, body: Optional[dict[str, Any]] = None,
        status: int = 200) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        OPERATIONS.append((method, path, fn.__name__, summary, body, status))
        _HANDLERS.append((method, path, fn, status))
        return fn
    return deco


def _endpoint_json(sender: Sender, ep: Endpoint) -> dict[str, Any]:
    data = ep.to_dict()
    data.pop("allow_local", None)
    return data


def _filter(q: Mapping[str, str]) -> DeliveryFilter:
    status = q.get("status")
    return DeliveryFilter(endpoint_id=q.get("endpoint_id"), event_type=q.get("event_type"),
                          status=status.split(",") if status else None,
                          since=unix_time(q.get("since"), "since"),
                          until=unix_time(q.get("until"), "until"))


_OBJ = {"type": "object"}
# The limits Sender.create_endpoint enforces, stated for clients (it checks them itself).
_ENDPOINT_IN = {"type": "object", "required": ["url"], "properties": {
    "url": {"type": "string", "maxLength": MAX_URL},
    "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
    "event_types": {"type": ["array", "null"],
                    "items": {"type": "string", "minLength": 1, "maxLength": MAX_NAME}},
    "profile": {"enum": list(PROFILES)},
    "header_prefix": {"type": "string", "pattern": "^[A-Za-z0-9-]+$",
                      "maxLength": MAX_HEADER_PREFIX},
    "signing": {"enum": list(SIGNING_MODES)},
    "retry_schedule": {"type": ["array", "null"], "items": {"type": "number", "minimum": 0}},
    "retry_after_cap": {"type": ["number", "null"], "minimum": 0},
    "timeout": {"type": ["number", "null"], "exclusiveMinimum": 0},
    "notify_email": {"type": ["string", "null"], "maxLength": MAX_EMAIL},
    "versions": {"type": ["object", "null"], "additionalProperties": {"type": "integer",
                                                                      "minimum": 1},
                 "description": "A major version per event type, served by the sender's "
                                "catalog (GET .../event-types); unpinned types get the "
                                "current version"},
    "filter": FILTER_SCHEMA,
    "headers": HEADERS_SCHEMA,
    "redact": REDACT_SCHEMA,
    "rate_limit": RATE_LIMIT_SCHEMA,
    "batch": {"type": ["object", "null"], "additionalProperties": False, "properties": {
        "max_events": {"type": "integer", "minimum": 1, "maximum": MAX_BATCH_EVENTS},
        "max_bytes": {"type": "integer", "minimum": 1},
        "max_wait": {"type": "number", "exclusiveMinimum": 0}}},
    "ordering": {"enum": [*ORDERING_MODES, None]},
    "auth": {"oneOf": [{"type": "null"}, {
        "type": "object", "required": ["type"], "properties": {
            "type": {"enum": list(AUTH_TYPES)}, "authorization": {"type": "string"},
            "token_url": {"type": "string"}, "client_id": {"type": "string"},
            "client_secret": {"type": "string"}, "scope": {"type": ["string", "null"]},
            "audience": {"type": ["string", "null"]}, "cert_pem": {"type": "string"},
            "key_pem": {"type": "string"}},
        "description": "How the sender authenticates to the endpoint: static (authorization), "
                       "oauth (token_url, client_id, client_secret, scope, audience) or mtls "
                       "(cert_pem, key_pem). Write-only: the secrets are never shown again."}]},
    "tls_ca_pem": {"type": ["string", "null"],
                   "description": "Testing only: PEM CA certificates trusted for the server"}}}
_FIELDS = ("description", "event_types", "profile", "header_prefix", "signing",
           "retry_schedule", "retry_after_cap", "timeout", "notify_email", *OPTION_FIELDS,
           "auth", "tls_ca_pem")


@_op("POST", "/v1/tenants/{tenant}/endpoints", "Create an endpoint (secret shown once)",
     _ENDPOINT_IN, 201)
async def create_endpoint(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    body = await read_json_object(request)
    kwargs = {k: body[k] for k in _FIELDS if k in body}
    created = await run_in_threadpool(lambda: sender.create_endpoint(
        tenant, body.get("url"), **kwargs))  # type: ignore[arg-type]
    return {"endpoint": _endpoint_json(sender, created.endpoint), "secret": created.secret,
            "public_key": created.public_key}


@_op("GET", "/v1/tenants/{tenant}/endpoints", "List endpoints")
async def list_endpoints(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    eps = await run_in_threadpool(sender.list_endpoints, tenant)
    return {"endpoints": [_endpoint_json(sender, e) for e in eps]}


@_op("GET", "/v1/tenants/{tenant}/endpoints/{endpoint_id}",
     "Read an endpoint with its public keys")
async def get_endpoint(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    eid = request.path_params["endpoint_id"]
    ep = await run_in_threadpool(sender.get_endpoint, tenant, eid)
    keys = await run_in_threadpool(sender.public_keys, tenant, eid)
    return {"endpoint": _endpoint_json(sender, ep), "public_keys": keys}


@_op("PATCH", "/v1/tenants/{tenant}/endpoints/{endpoint_id}", "Update an endpoint", _OBJ)
async def update_endpoint(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    body = await read_json_object(request)
    ep = await run_in_threadpool(lambda: sender.update_endpoint(
        tenant, request.path_params["endpoint_id"], **body))
    return {"endpoint": _endpoint_json(sender, ep)}


@_op("DELETE", "/v1/tenants/{tenant}/endpoints/{endpoint_id}", "Delete an endpoint")
async def delete_endpoint(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    await run_in_threadpool(sender.delete_endpoint, tenant, request.path_params["endpoint_id"])
    return {"deleted": True}


@_op("POST", "/v1/tenants/{tenant}/endpoints/{endpoint_id}/rotate",
     "Rotate the secret (new one shown once); the old one signs until the overlap ends",
     {"type": "object", "properties": {"overlap_seconds": {"type": "number"}}})
async def rotate(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    body = await read_json_object(request)
    rot = await run_in_threadpool(lambda: sender.rotate_secret(
        tenant, request.path_params["endpoint_id"], overlap=body.get("overlap_seconds"),
        actor=actor))
    return {"secret": rot.secret, "public_key": rot.public_key,
            "overlap_ends_at": rot.overlap_ends_at}


@_op("POST", "/v1/tenants/{tenant}/endpoints/{endpoint_id}/pause", "Pause an endpoint")
async def pause(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    ep = await run_in_threadpool(sender.pause_endpoint, tenant,
                                 request.path_params["endpoint_id"])
    return {"endpoint": _endpoint_json(sender, ep)}


@_op("POST", "/v1/tenants/{tenant}/endpoints/{endpoint_id}/resume", "Resume an endpoint")
async def resume(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    ep = await run_in_threadpool(sender.resume_endpoint, tenant,
                                 request.path_params["endpoint_id"])
    return {"endpoint": _endpoint_json(sender, ep)}


@_op("POST", "/v1/tenants/{tenant}/endpoints/{endpoint_id}/ping", "Send a test.ping", None,
     202)
async def ping(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    r = await run_in_threadpool(sender.ping, tenant, request.path_params["endpoint_id"])
    return {"event_id": r.event_id, "delivery_id": r.deliveries[0][0]}


@_op("POST", "/v1/tenants/{tenant}/endpoints/{endpoint_id}/cancel",
     "Cancel an endpoint's pending deliveries",
     {"type": "object", "properties": {"reason": {"type": "string"}}})
async def cancel_endpoint(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    body = await read_json_object(request)
    n = await run_in_threadpool(lambda: sender.cancel(
        tenant, endpoint_id=request.path_params["endpoint_id"], actor=actor,
        reason=str(body.get("reason", ""))))
    return {"cancelled": n}


#: The header of an idempotent send (the body may name the key instead).
IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_HELP = (
    "Send the event once: a repeated send with this key, for this tenant, within the "
    "sender's idempotency_retention (24 h by default), enqueues nothing and answers the "
    "first send's event_id and deliveries with replayed: true; with another type or other "
    "data it is refused (409 idempotency_conflict). 1 to 255 printable characters; the "
    f"{IDEMPOTENCY_HEADER} header or this field, or both with the same value.")
#: Parameters of an operation beyond its path's (operation id to OpenAPI parameters).
_PARAMETERS: dict[str, list[dict[str, Any]]] = {
    "send_event": [{"name": IDEMPOTENCY_HEADER, "in": "header", "required": False,
                    "description": _IDEMPOTENCY_HELP,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255}}],
}
#: Error answers of an operation beyond the usual 400, 401, 404 (operation id to statuses).
_ERRORS: dict[str, tuple[str, ...]] = {"send_event": ("409", "422")}


def _idempotency_key(request: Request, body: Mapping[str, Any]) -> Optional[str]:
    """The send's key from the header or the body; both must agree if both are given."""
    header = request.headers.get(IDEMPOTENCY_HEADER)
    field = body.get("idempotency_key")
    if header is not None and field is not None and header != field:
        raise InvalidRequestError(f"the {IDEMPOTENCY_HEADER} header and the body's "
                                  "idempotency_key differ; give one, or the same in both")
    return header if header is not None else field


@_op("POST", "/v1/tenants/{tenant}/events", "Send an event to subscribed endpoints",
     {"type": "object", "required": ["type", "data"],
      "properties": {"type": {"type": "string"}, "data": {"type": "object"},
                     "idempotency_key": {"type": "string", "minLength": 1,
                                         "maxLength": 255,
                                         "description": _IDEMPOTENCY_HELP}}}, 202)
async def send_event(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    body = await read_json_object(request)
    key = _idempotency_key(request, body)
    r = await run_in_threadpool(lambda: sender.send(
        tenant, body.get("type"), body.get("data"),  # type: ignore[arg-type]
        idempotency_key=key))
    out: dict[str, Any] = {
        "event_id": r.event_id,
        "deliveries": [{"delivery_id": d, "endpoint_id": e} for d, e in r.deliveries]}
    if key is not None:
        out["replayed"] = r.replayed
    return out


@_op("GET", "/v1/tenants/{tenant}/deliveries",
     "List deliveries (filters: endpoint_id, event_type, status, since, until; "
     "paging: limit, before)")
async def list_deliveries(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    q = request.query_params
    try:
        limit = int(q.get("limit", "50"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequestError(f"limit must be an integer from 1 to {MAX_PAGE}")
    ds = await run_in_threadpool(lambda: sender.list_deliveries(
        tenant, _filter(q), limit=limit, before=q.get("before")))
    return {"deliveries": [d.to_dict() for d in ds],
            "next_cursor": ds[-1].id if len(ds) == limit else None}


@_op("GET", "/v1/tenants/{tenant}/deliveries/{delivery_id}",
     "Read a delivery with its body and every attempt")
async def get_delivery(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    d = await run_in_threadpool(sender.get_delivery, tenant, request.path_params["delivery_id"])
    return {"delivery": d.to_dict()}


@_op("POST", "/v1/tenants/{tenant}/deliveries/{delivery_id}/replay", "Replay a delivery",
     {"type": "object", "properties": {"reason": {"type": "string"}}}, 202)
async def replay(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    body = await read_json_object(request)
    d = await run_in_threadpool(lambda: sender.replay(
        tenant, request.path_params["delivery_id"], actor=actor,
        reason=str(body.get("reason", ""))))
    return {"delivery": d.to_dict()}


@_op("GET", "/v1/tenants/{tenant}/batches/{batch_id}",
     "Read a batch (contract 4.4) with its members' delivery ids, in enqueue order")
async def get_batch(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    b = await run_in_threadpool(sender.get_batch, tenant, request.path_params["batch_id"])
    return {"batch": b.to_dict()}


@_op("POST", "/v1/tenants/{tenant}/batches/{batch_id}/replay",
     "Replay a finished batch as one request (same batch id and events)",
     {"type": "object", "properties": {"reason": {"type": "string"}}}, 202)
async def replay_batch(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    body = await read_json_object(request)
    b = await run_in_threadpool(lambda: sender.replay_batch(
        tenant, request.path_params["batch_id"], actor=actor,
        reason=str(body.get("reason", ""))))
    return {"batch": b.to_dict()}


@_op("POST", "/v1/tenants/{tenant}/replays",
     "Bulk replay by filter: without confirm=true only counts (rate-limited when confirmed)",
     {"type": "object", "properties": {
         "endpoint_id": {"type": "string"}, "event_type": {"type": "string"},
         "status": {"type": "array", "items": {"type": "string"}},
         "since": {"type": "number"}, "until": {"type": "number"},
         "limit": {"type": "integer", "minimum": 1, "maximum": MAX_BULK_REPLAY},
         "confirm": {"type": "boolean"}, "reason": {"type": "string"},
         "notify_owner": {"type": "boolean", "default": True},
         "notice_template": {"type": "string"}, "notice_period": {"type": "string"}}})
async def bulk_replay(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    body = await read_json_object(request)
    status = body.get("status")
    if status is not None and not isinstance(status, list):
        raise InvalidRequestError("status must be a list of delivery states")
    flt = DeliveryFilter(body.get("endpoint_id"), body.get("event_type"), status,
                         body.get("since"), body.get("until"))
    notify = body.get("notify_owner", True)
    if not isinstance(notify, bool):
        raise InvalidRequestError("notify_owner must be true or false")
    template, period = body.get("notice_template"), body.get("notice_period")
    if template is not None:
        check_template("bulk_replay", template)  # refused before anything is replayed

    def run() -> dict[str, Any]:
        out = sender.replay_bulk(tenant, flt, confirm=body.get("confirm") is True,
                                 actor=actor, reason=body.get("reason", ""),
                                 limit=body.get("limit"))
        if notify:
            out["owner_notice"] = notify_bulk_replay(
                sender, tenant, flt, out, actor=actor, reason=body.get("reason", ""),
                template=template, period=period)
        return out
    return await run_in_threadpool(run)


@_op("POST", "/v1/tenants/{tenant}/backfills",
     "Backfill events that never reached the outbox, keeping their ids and creation times "
     "(each at most once; all checked before any is written)",
     {"type": "object", "required": ["events"], "properties": {
         "events": {"type": "array", "maxItems": MAX_BACKFILL_EVENTS, "items": {
             "type": "object", "required": ["id", "type", "created", "data"],
             "properties": {"id": {"type": "string"}, "type": {"type": "string"},
                            "created": {"type": ["number", "string"]},
                            "tenant": {"type": "string"}, "data": {"type": "object"},
                            "livemode": {"type": "boolean"}}}},
         "dry_run": {"type": "boolean"}, "reason": {"type": "string"}}})
async def backfill_events(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    body = await read_json_object(request)
    items = body.get("events")
    if not isinstance(items, list):
        raise InvalidRequestError("events must be a list of event records")
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise InvalidRequestError("dry_run must be true or false")

    def run() -> dict[str, Any]:
        events = parse_events(enumerate(items, start=1), sender.validator, tenant=tenant)
        return backfill(sender, events, dry_run=dry_run, actor=actor,
                        reason=str(body.get("reason", "")), source="api").to_dict()
    return await run_in_threadpool(run)


@_op("POST", "/v1/tenants/{tenant}/events/{event_id}/corrections",
     "Replay an event with corrected data (catalog-validated; same event id; the original "
     "body is kept; reason required)",
     {"type": "object", "required": ["data", "reason"], "properties": {
         "data": {"type": "object"}, "reason": {"type": "string", "minLength": 1}}}, 202)
async def replay_corrected(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    body = await read_json_object(request)
    if "data" not in body:
        raise InvalidRequestError("give the corrected data")
    done = await run_in_threadpool(lambda: sender.replay_corrected(
        tenant, request.path_params["event_id"], body["data"], actor=actor,
        reason=str(body.get("reason", ""))))
    return done.to_dict()


@_op("GET", "/v1/tenants/{tenant}/event-types",
     "The event types of the sender's catalog, with the versions served and their sunsets")
async def event_types(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    return {"event_types": sender.catalog.overview()}


@_op("GET", "/v1/tenants/{tenant}/audit", "The tenant's audit log")
async def audit(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    entries = await run_in_threadpool(sender.store.list_audit, tenant)
    return {"entries": [e.to_dict() for e in entries]}


@_op("POST", "/v1/tenants/{tenant}/portal-links",
     "Make a short-lived, signed customer portal link for this tenant (audited)",
     {"type": "object", "properties": {
         "ttl_seconds": {"type": "number"}, "user": {"type": "string"},
         "base_url": {"type": "string"}}}, 201)
async def portal_link(request: Request, sender: Sender, tenant: str, actor: str) -> Any:
    body = await read_json_object(request)
    base = str(body.get("base_url") or request.base_url)
    link = await run_in_threadpool(lambda: issue_link(
        sender, tenant, base_url=base, ttl=body.get("ttl_seconds", DEFAULT_LINK_TTL),
        user=str(body.get("user", "")), actor=actor))
    return {"url": link.url, "token": link.token, "expires_at": link.expires_at}


def openapi_schema() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the admin API.

    Returns:
        The schema.
    """
    paths: dict[str, dict[str, Any]] = {}
    error = {"description": "Error", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"error": {"type": "string"},
                                         "detail": {"type": "string"}}}}}}
    for method, path, op_id, summary, body, status in OPERATIONS:
        params = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                  for p in ("tenant", "endpoint_id", "delivery_id", "event_id", "batch_id")
                  if "{" + p + "}" in path]
        params += _PARAMETERS.get(op_id, [])
        op: dict[str, Any] = {
            "operationId": op_id, "summary": summary, "parameters": params,
            "security": [{"apiKey": []}],
            "responses": {str(status): {"description": "OK", "content": {
                "application/json": {"schema": {"type": "object"}}}},
                "400": error, "401": error, "404": error},
        }
        for code in _ERRORS.get(op_id, ()):
            op["responses"][code] = error
        if body is not None:
            op["responses"]["413"] = error
            op["requestBody"] = {"required": method != "POST" or "required" in body,
                                 "content": {"application/json": {"schema": body}}}
        paths.setdefault(path, {})[method.lower()] = op
    paths["/metrics"] = {"get": {
        "operationId": "metrics",
        "summary": "Prometheus metrics (an API key or a metrics key: they name every "
                   "tenant's endpoints)",
        "security": [{"apiKey": []}],
        "responses": {"200": {"description": "Metrics text"}, "401": error}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "hookseal-sender admin API", "version": __version__},
        "components": {"securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }


def create_app(sender: Sender, api_keys: Mapping[str, str], *,
               mounts: Sequence[BaseRoute] = (), metrics_keys: Sequence[str] = (),
               max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> Starlette:
    """Build the admin API app.

    Args:
        sender: The sender it operates.
        api_keys: API key -> actor name (one per provider system or person).
        mounts: Extra routes, e.g. ``Mount("/portal", app=portal)``.
        metrics_keys: Keys that may read ``/metrics`` (besides the API keys), such as
            the one a Prometheus server holds. ``/metrics`` names every tenant's
            endpoints, so it always needs a key.
        max_body_bytes: The largest request body accepted, on every route (the portal's
            too); a larger one gets ``413`` with error ``body_too_large``.

    Returns:
        The Starlette application (``app.state.sender`` is the sender).

    Raises:
        ConfigError: ``max_body_bytes`` is not a positive integer.
    """
    if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int) \
            or max_body_bytes < 1:
        raise ConfigError("max_body_bytes must be a positive integer")
    keys = dict(api_keys)
    readers = [*keys, *metrics_keys]

    def bearer(request: Request) -> Optional[str]:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        return token.strip()

    def actor_for(request: Request) -> Optional[str]:
        token = bearer(request)
        if token is None:
            return None
        for key, name in keys.items():
            if hmac.compare_digest(key.encode(), token.encode()):
                return name
        return None

    def unauthorized() -> Response:
        return JSONResponse({"error": "unauthorized", "detail": "bad or no API key"},
                            401, headers={"WWW-Authenticate": "Bearer"})

    def wrap(fn: Handler, status: int) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            actor = actor_for(request)
            if actor is None:
                return unauthorized()
            started = time.monotonic()
            try:
                check_path_and_query(request)
                result = await fn(request, sender, request.path_params["tenant"], actor)
            except SenderError as exc:
                error: dict[str, Any] = {"error": exc.code, "detail": exc.detail}
                if isinstance(exc, BackfillError):  # every bad record, by its item number
                    error["errors"] = [e.__dict__ for e in exc.errors]
                return JSONResponse(error, http_status(exc.code))
            except (TypeError, ValueError) as exc:
                return JSONResponse({"error": "invalid_request", "detail": str(exc)}, 400)
            except Exception as exc:
                if not sender.store.unavailable(exc):
                    raise
                # The store reconnects by itself: say so, once per outage in the log.
                sender.outage.failed("admin API", exc)
                return JSONResponse(STORE_UNAVAILABLE, 503, headers={"Retry-After": "5"})
            sender.outage.recovered(started)
            return JSONResponse(result, status)
        return endpoint

    async def schema(request: Request) -> Response:
        return JSONResponse(openapi_schema())

    async def metrics(request: Request) -> Response:
        token = bearer(request)
        if token is None or not any(hmac.compare_digest(k.encode(), token.encode())
                                    for k in readers):
            return unauthorized()
        body = await run_in_threadpool(sender.metrics.render)
        return Response(body, media_type="text/plain; version=0.0.4")

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    routes: list[BaseRoute] = [Route("/openapi.json", schema), Route("/metrics", metrics),
                               Route("/healthz", health)]
    for method, path, fn, status in _HANDLERS:
        routes.append(Route(path, wrap(fn, status), methods=[method]))
    routes.extend(mounts)
    app = Starlette(routes=routes, middleware=[Middleware(BodyLimit, max_bytes=max_body_bytes)])
    app.state.sender = sender
    return app
