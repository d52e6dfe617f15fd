"""Portal tokens, kept importable from here: they live in :mod:`hookseal_sender.portal_tokens`."""

from __future__ import annotations

from ..portal_tokens import (
    DEFAULT_LINK_TTL,
    DEFAULT_SESSION_TTL,
    LINK,
    MAX_LINK_TTL,
    MAX_TOKEN_LENGTH,
    MAX_USER,
    SESSION,
    PortalClaims,
    PortalLink,
    PortalTokenError,
    TokenSigner,
    derive_key,
    issue_link,
    portal_link,
)

__all__ = ["DEFAULT_LINK_TTL", "DEFAULT_SESSION_TTL", "LINK", "MAX_LINK_TTL", "MAX_TOKEN_LENGTH",
           "MAX_USER", "SESSION", "PortalClaims", "PortalLink", "PortalTokenError", "TokenSigner",
           "derive_key", "issue_link", "portal_link"]
