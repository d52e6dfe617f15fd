"""``hookseal-catalog export --openapi``: the catalog as an OpenAPI 3.1 document.

Customers feed it to their usual OpenAPI tools (code generators, mock servers, API
explorers). Every event version is one entry of the ``webhooks`` section, named
``<type>.v<major>`` (``invoice.paid.v1``), whose ``post`` operation describes the request
the customer's endpoint receives: the signature headers of the chosen profile, the envelope
with that event's typed ``data`` as the JSON body, and the catalog's examples as complete
webhook bodies. ``components/schemas`` holds ``Envelope``, every component, every event
version's data schema (``InvoicePaidV1Data``) and the whole typed event
(``InvoicePaidV1Event``).

By default schemas are exported in the consumer's, *tolerant* view (no
``additionalProperties: false``): fields may be added within a version, and a receiver must
ignore the ones it does not know. ``strict=True`` keeps the catalog's closed shapes.
"""

from __future__ import annotations

from typing import Any

from hookseal.profiles import DEFAULT_HEADER_PREFIX, HOOKSEAL_V1, PROFILES, STANDARD_WEBHOOKS

from .bundle import bundle, data_model_name, event_model_name
from .catalog import DIALECT, Catalog, EventVersion

__all__ = ["PROFILES", "export_openapi", "operation_id", "webhook_name"]

_REF = "#/components/schemas/"


def webhook_name(event_type: str, version: int) -> str:
    """The key of an event version in the ``webhooks`` section: ``invoice.paid.v1``."""
    return f"{event_type}.v{version}"


def operation_id(event_type: str, version: int) -> str:
    """A unique operationId: ``invoice.payment_failed`` v1 -> ``invoicePaymentFailedV1``."""
    words = event_type.replace(".", "_").split("_")
    return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:]) + f"V{version}"


def _headers(profile: str, prefix: str, event_type: str) -> list[dict[str, Any]]:
    if profile == STANDARD_WEBHOOKS:
        return [
            {
                "name": "webhook-id",
                "in": "header",
                "required": True,
                "description": "The delivery id: the same on every attempt and replay. Deduplicate on it.",
                "schema": {"type": "string"},
            },
            {
                "name": "webhook-timestamp",
                "in": "header",
                "required": True,
                "description": "Unix time in seconds of this attempt; reject it outside your tolerance (300 s).",
                "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
            },
            {
                "name": "webhook-signature",
                "in": "header",
                "required": True,
                "description": "Space-separated `v1,<base64 HMAC-SHA256>` (and `v1a,<Ed25519>`) signatures of "
                "`<webhook-id>.<webhook-timestamp>.<raw body>`. Verify before trusting anything.",
                "schema": {"type": "string"},
            },
        ]
    return [
        {
            "name": f"{prefix}-Signature",
            "in": "header",
            "required": True,
            "description": '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (two `v1` values during '
            "a secret rotation). Verify it with the Hookseal SDK before trusting the body.",
            "schema": {"type": "string"},
            "example": "t=1763900000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
        },
        {
            "name": f"{prefix}-Webhook-Id",
            "in": "header",
            "required": True,
            "description": "The delivery id: the same on every attempt and replay of this event to this endpoint. "
            "Not signed: trust the body's `id` once verified.",
            "schema": {"type": "string"},
        },
        {
            "name": f"{prefix}-Event-Type",
            "in": "header",
            "required": True,
            "description": "The event type, for routing before parsing. Not signed: the verified body's `type` "
            "always equals it.",
            "schema": {"type": "string", "const": event_type},
        },
    ]


def _description(ev: EventVersion) -> str:
    parts = [ev.description]
    parts.append(f"**When it fires:** {ev.fires_when}")
    parts.append(f"**Frequency:** {ev.frequency}")
    parts.append(f"**Criticality:** {ev.criticality}")
    lifecycle = f"**Status:** {ev.status}"
    if ev.released:
        lifecycle += f", released {ev.released}"
    if ev.deprecated:
        lifecycle += f", deprecated {ev.deprecated}"
    if ev.sunset:
        lifecycle += f", served until its sunset on {ev.sunset}"
    parts.append(lifecycle)
    return "\n\n".join(p for p in parts if p)


def export_openapi(
    catalog: Catalog,
    *,
    profile: str = HOOKSEAL_V1,
    header_prefix: str = DEFAULT_HEADER_PREFIX,
    strict: bool = False,
) -> dict[str, Any]:
    """Build the OpenAPI 3.1 document of ``catalog``'s webhooks.

    Args:
        catalog: The catalog to export.
        profile: The signature profile whose headers the operations declare
            (``hookseal-v1`` or ``standard-webhooks``).
        header_prefix: The ``hookseal-v1`` header prefix (``Hookseal`` gives
            ``Hookseal-Signature``).
        strict: Keep ``additionalProperties: false`` (the sender's view) instead of the
            tolerant consumer view.

    Returns:
        The document as a JSON-ready dict (deterministic: examples use fixed ids and times).

    Raises:
        ValueError: an unknown profile.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    schemas: dict[str, Any] = dict(bundle(catalog, _REF, tolerant=not strict, examples=False))
    webhooks: dict[str, Any] = {}
    tags: dict[str, str] = {}
    for ev in catalog.versions():
        event_schema = event_model_name(ev.type, ev.version)
        schemas[event_schema] = {
            "title": f"{ev.type} v{ev.version} event",
            "description": f"The webhook body of {ev.type} v{ev.version}: the envelope with this event's data.",
            "allOf": [
                {"$ref": _REF + "Envelope"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": ev.type},
                        "version": {"const": ev.version},
                        "data": {"$ref": _REF + data_model_name(ev.type, ev.version)},
                    },
                },
            ],
        }
        tags.setdefault(ev.resource, f"Events about {ev.resource} objects.")
        examples = {
            f"example{index + 1}" if index else "example": {
                "summary": f"{ev.type} v{ev.version}" + (f" (example {index + 1})" if index else ""),
                "value": catalog.example_envelope(ev.type, ev.version, index),
            }
            for index in range(len(ev.examples))
        }
        operation: dict[str, Any] = {
            "operationId": operation_id(ev.type, ev.version),
            "summary": ev.title or f"{ev.type} v{ev.version}",
            "description": _description(ev),
            "tags": [ev.resource],
            "parameters": _headers(profile, header_prefix, ev.type),
            "requestBody": {
                "required": True,
                "description": "The event envelope as JSON. Verify the signature over the raw bytes before parsing.",
                "content": {"application/json": {"schema": {"$ref": _REF + event_schema}, "examples": examples}},
            },
            "responses": {
                "2XX": {"description": "Acknowledged: any 2xx status marks the delivery as done. Answer quickly."},
                "default": {
                    "description": "Not acknowledged. 5xx, 429, timeouts and connection errors are retried on the "
                    "published schedule (Retry-After is honoured); 3xx and other 4xx fail permanently."
                },
            },
            "x-hookseal": {
                "type": ev.type,
                "version": ev.version,
                "status": ev.status,
                "criticality": ev.criticality,
                "frequency": ev.frequency,
                "fires_when": ev.fires_when,
                "released": ev.released,
                "deprecated": ev.deprecated,
                "sunset": ev.sunset,
            },
        }
        if ev.status == "deprecated":
            operation["deprecated"] = True
        webhooks[webhook_name(ev.type, ev.version)] = {"post": operation}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{catalog.title} webhooks",
            "version": catalog.version,
            "description": (
                f"{catalog.description}\n\nEvery webhook is a POST of a JSON envelope, signed with the "
                f"`{profile}` profile. Verify the signature over the raw body, deduplicate on the envelope's "
                "`id`, and ignore fields you do not know: fields can be added within a version."
            ),
        },
        "jsonSchemaDialect": DIALECT,
        "tags": [{"name": name, "description": text} for name, text in sorted(tags.items())],
        "paths": {},
        "webhooks": webhooks,
        "components": {"schemas": schemas},
    }
