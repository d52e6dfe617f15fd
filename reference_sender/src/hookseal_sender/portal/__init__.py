"""The customer portal: each customer manages its endpoints and reads, filters and replays
its delivery log, in server-rendered pages served next to the admin API under ``/portal``.

Provider side::

    from hookseal_sender.portal import create_portal, portal_link

    app = create_app(sender, api_keys, mounts=[Mount("/portal", app=create_portal(sender))])
    link = portal_link(sender.config, "tenant-1", base_url="https://hooks.example.com")
    # hand link.url to the customer (or embed the portal and post link.token)
"""

from __future__ import annotations

from ..portal_tokens import (
    DEFAULT_LINK_TTL,
    MAX_LINK_TTL,
    PortalClaims,
    PortalLink,
    PortalTokenError,
    TokenSigner,
    derive_key,
    issue_link,
    portal_link,
)
from .app import COOKIE, PortalConfig, create_portal
from .queries import DeliveryPage, EndpointHealth, endpoint_health, page_deliveries

__all__ = [
    "COOKIE",
    "DEFAULT_LINK_TTL",
    "MAX_LINK_TTL",
    "DeliveryPage",
    "EndpointHealth",
    "PortalClaims",
    "PortalConfig",
    "PortalLink",
    "PortalTokenError",
    "TokenSigner",
    "create_portal",
    "derive_key",
    "endpoint_health",
    "issue_link",
    "page_deliveries",
    "portal_link",
]
