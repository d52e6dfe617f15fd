"""Signed, short-lived portal tokens: the provider's link for one customer, and sessions.

Issued by the admin API and the CLI, verified by the portal (:mod:`hookseal_sender.portal`):
so it lives beside them, and the API need not import the portal.

A token is ``<base64url(JSON claims)>.<base64url(HMAC-SHA256)>``. The MAC key is derived
(HKDF-SHA256) from the sender's master key, so a provider configures nothing new, and
the MAC covers a purpose label too: a link token is never accepted as a session cookie
and a session cookie never as a link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ._inputs import MAX_EMAIL, MAX_NAME, check_text
from .config import SenderConfig
from .errors import ConfigError, InvalidRequestError, SenderError
from .secretbox import MASTER_KEY_ENV

if TYPE_CHECKING:
    from .sender import Sender

__all__ = ["DEFAULT_LINK_TTL", "DEFAULT_SESSION_TTL", "LINK", "MAX_LINK_TTL", "MAX_TOKEN_LENGTH",
           "MAX_USER", "SESSION", "PortalClaims", "PortalLink", "PortalTokenError", "TokenSigner",
           "derive_key", "issue_link", "portal_link"]

#: Purpose labels bound into each token's MAC.
LINK, SESSION = "portal-link", "portal-session"
#: Link lifetime when none is given, and the longest allowed.
DEFAULT_LINK_TTL = 3600.0
MAX_LINK_TTL = 7 * 24 * 3600.0
#: How long a session opened from a link lasts.
DEFAULT_SESSION_TTL = 8 * 3600.0
#: Longest token accepted (bytes); anything longer is refused unparsed.
MAX_TOKEN_LENGTH = 2048
#: Longest ``user`` a link may name (any e-mail address fits).
MAX_USER = MAX_EMAIL
# What a session token may be longer than the link it is made from: its session id and
# timestamps of other lengths, base64-encoded. A link longer than the limit less this
# would open a session whose cookie is refused.
_SESSION_ROOM = 64


class PortalTokenError(SenderError):
    """A portal token is malformed, altered, expired or made with another key."""

    code = "invalid_token"


def _check_claim_texts(tenant_id: str, user: str, session_id: str = "") -> None:
    """Refuse claims no store or audit entry can hold, as the Sender refuses its fields.

    The tenant and user end up in queries and in the audit log's actor (``portal:<user>``):
    PostgreSQL cannot store NUL and no store can encode a lone surrogate.

    Raises:
        InvalidRequestError: Too long, or holding a control character or a lone surrogate.
    """
    check_text(tenant_id, "tenant", MAX_NAME)
    check_text(user, "user", MAX_USER)
    check_text(session_id, "session id", MAX_NAME)


@dataclass(frozen=True)
class PortalClaims:
    """What a valid token grants.

    Attributes:
        tenant_id: The one customer the token is for.
        expires_at: Unix time when it stops working.
        issued_at: Unix time it was made.
        user: Who the provider says is using the portal (audit log), or ``""``.
        session_id: A random id (sessions: binds the CSRF token).
        session_ttl: Seconds the session opened from a link lasts.
    """

    tenant_id: str
    expires_at: float
    issued_at: float
    user: str = ""
    session_id: str = ""
    session_ttl: float = DEFAULT_SESSION_TTL


@dataclass(frozen=True)
class PortalLink:
    """A link a provider hands to one customer.

    Attributes:
        url: The portal URL with the token (``.../portal/login?token=...``).
        token: The token alone (to embed the portal by posting it).
        expires_at: Unix time when the link stops opening sessions.
    """

    url: str
    token: str
    expires_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def derive_key(config: SenderConfig) -> bytes:
    """The portal's MAC key, derived from the sender's master key.

    The master key is found the way the sender finds it: the config, then
    ``HOOKSEAL_SENDER_MASTER_KEY``, then the key file.

    Args:
        config: The sender's configuration.

    Returns:
        32 bytes.

    Raises:
        ConfigError: No master key is configured.
    """
    material = config.master_key or os.environ.get(MASTER_KEY_ENV)
    if not material and config.master_key_file:
        try:
            material = Path(config.master_key_file).read_text(encoding="ascii").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read master key file: {exc}") from None
    if not material:
        raise ConfigError(f"the portal needs the sender's master key ({MASTER_KEY_ENV})")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"hookseal-portal",
                info=b"hookseal portal tokens v1").derive(material.strip().encode("utf-8"))


class TokenSigner:
    """Makes and checks portal tokens with one key.

    Args:
        key: The MAC key (see :func:`derive_key`).
        clock: Unix time source (tests pass a fake one).
    """

    def __init__(self, key: bytes, clock: Any = time.time) -> None:
        if len(key) < 16:
            raise ConfigError("portal key too short")
        self._key = key
        self._clock = clock

    def _mac(self, purpose: str, body: str) -> bytes:
        return hmac.new(self._key, f"{purpose}.{body}".encode("ascii"), hashlib.sha256).digest()

    def issue(self, purpose: str, claims: PortalClaims) -> str:
        """Sign claims for a purpose.

        Args:
            purpose: :data:`LINK` or :data:`SESSION`.
            claims: The claims.

        Returns:
            The token.
        """
        data = {"ten": claims.tenant_id, "exp": claims.expires_at, "iat": claims.issued_at,
                "usr": claims.user, "sid": claims.session_id, "sttl": claims.session_ttl}
        body = _b64(json.dumps(data, separators=(",", ":"), sort_keys=True).encode("utf-8"))
        return f"{body}.{_b64(self._mac(purpose, body))}"

    def check(self, purpose: str, token: Optional[str]) -> PortalClaims:
        """Verify a token's MAC and expiry and return its claims.

        Args:
            purpose: The purpose it must have been made for.
            token: The token text.

        Returns:
            The claims.

        Raises:
            PortalTokenError: Missing, malformed, altered, for another purpose, expired.
        """
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise PortalTokenError("no token, or an oversized one")
        body, dot, mac = token.partition(".")
        try:
            given = _unb64(mac)
            expected = self._mac(purpose, body)
        except (ValueError, UnicodeEncodeError):
            raise PortalTokenError("malformed token") from None
        # Check the MAC before parsing anything the token claims.
        if not dot or not hmac.compare_digest(given, expected):
            raise PortalTokenError("token signature does not match")
        try:
            data = json.loads(_unb64(body))
            claims = PortalClaims(
                tenant_id=str(data["ten"]), expires_at=float(data["exp"]),
                issued_at=float(data["iat"]), user=str(data.get("usr", "")),
                session_id=str(data.get("sid", "")),
                session_ttl=float(data.get("sttl", DEFAULT_SESSION_TTL)))
        except (ValueError, KeyError, TypeError):
            raise PortalTokenError("malformed token claims") from None
        if not claims.tenant_id:
            raise PortalTokenError("token names no customer")
        try:  # signed, but perhaps by a version that did not check what it signed
            _check_claim_texts(claims.tenant_id, claims.user, claims.session_id)
        except InvalidRequestError as exc:
            raise PortalTokenError(f"unusable token claims: {exc.detail}") from None
        if self._clock() >= claims.expires_at:
            raise PortalTokenError("token expired")
        return claims

    def link_token(self, tenant_id: str, *, ttl: float = DEFAULT_LINK_TTL, user: str = "",
                   session_ttl: float = DEFAULT_SESSION_TTL) -> tuple[str, float]:
        """A link token for one customer.

        Args:
            tenant_id: The customer (at most :data:`~hookseal_sender.sender.MAX_NAME`
                characters).
            ttl: Seconds the link may be opened for (at most :data:`MAX_LINK_TTL`).
            user: Who will use it (shown in the audit log; at most :data:`MAX_USER`
                characters).
            session_ttl: Seconds the session it opens lasts.

        Returns:
            The token and its expiry.

        Raises:
            ConfigError: ``ttl`` or ``session_ttl`` out of range, or no tenant.
            InvalidRequestError: The tenant or user is not a string, is too long, or
                holds a control character or a lone surrogate; or both are too long
                together (non-ASCII text is escaped) for a token.
        """
        if not isinstance(tenant_id, str) or not tenant_id:
            raise ConfigError("a portal link needs a customer (tenant)")
        _check_claim_texts(tenant_id, user)
        if not 0 < ttl <= MAX_LINK_TTL:
            raise ConfigError(f"ttl must be in (0, {MAX_LINK_TTL:.0f}] seconds")
        if not 0 < session_ttl <= MAX_LINK_TTL:
            raise ConfigError(f"session_ttl must be in (0, {MAX_LINK_TTL:.0f}] seconds")
        now = float(self._clock())
        exp = now + float(ttl)
        claims = PortalClaims(tenant_id, exp, now, user=user, session_ttl=float(session_ttl))
        token = self.issue(LINK, claims)
        if len(token) > MAX_TOKEN_LENGTH - _SESSION_ROOM:
            raise InvalidRequestError("the tenant and user are too long together for a portal link")
        return token, exp

    def session_token(self, link: PortalClaims) -> tuple[str, PortalClaims]:
        """Exchange a checked link's claims for a session token with a fresh id.

        Args:
            link: Claims of a valid link token.

        Returns:
            The session token and its claims.
        """
        now = float(self._clock())
        claims = PortalClaims(link.tenant_id, now + link.session_ttl, now, user=link.user,
                              session_id=_b64(os.urandom(18)), session_ttl=link.session_ttl)
        return self.issue(SESSION, claims), claims

    def csrf_token(self, session: PortalClaims) -> str:
        """The CSRF token of a session (synchronizer token bound to its id).

        Args:
            session: The session's claims.

        Returns:
            The token forms carry.
        """
        return _b64(self._mac("portal-csrf", _b64(session.session_id.encode("utf-8"))))

    def check_csrf(self, session: PortalClaims, given: Optional[str]) -> bool:
        """Whether a form's CSRF token belongs to this session.

        Args:
            session: The session's claims.
            given: The token the form carried.

        Returns:
            True if it matches.
        """
        if not given or not session.session_id:
            return False
        return hmac.compare_digest(given.encode("utf-8", "replace"),
                                   self.csrf_token(session).encode("ascii"))


def portal_link(config: SenderConfig, tenant_id: str, *, base_url: str,
                ttl: float = DEFAULT_LINK_TTL, user: str = "",
                session_ttl: float = DEFAULT_SESSION_TTL,
                key: Optional[bytes] = None) -> PortalLink:
    """Make a short-lived, signed portal link for one customer.

    Args:
        config: The sender's configuration (its master key signs the link).
        tenant_id: The customer whose endpoints and deliveries the link opens.
        base_url: Where the sender is served, e.g. ``https://hooks.example.com``; the
            link points at ``{base_url}/portal/login``.
        ttl: Seconds the link may be opened for (default one hour).
        user: Who will use it (recorded as ``portal:<user>`` in the audit log).
        session_ttl: Seconds the session it opens lasts (default 8 hours).
        key: The MAC key (default: derived from the master key).

    Returns:
        The link, its token and its expiry.

    Raises:
        ConfigError: No master key, ``ttl`` or ``session_ttl`` out of range, or no tenant.
        InvalidRequestError: The tenant or user is too long or holds a control character
            or a lone surrogate.
    """
    signer = TokenSigner(key or derive_key(config))
    token, exp = signer.link_token(tenant_id, ttl=ttl, user=user, session_ttl=session_ttl)
    url = f"{base_url.rstrip('/')}/portal/login?{urlencode({'token': token})}"
    return PortalLink(url=url, token=token, expires_at=exp)


def issue_link(sender: Sender, tenant_id: str, *, base_url: str, ttl: float = DEFAULT_LINK_TTL,
               user: str = "", actor: str = "api") -> PortalLink:
    """Make a portal link for one customer and record it in that customer's audit log.

    This is what the admin API (``POST /v1/tenants/{tenant}/portal-links``) and the CLI
    (``hookseal-sender portal-link``) call.

    Args:
        sender: The sender (its master key signs the link).
        tenant_id: The customer.
        base_url: Where the sender is served.
        ttl: Seconds the link may be opened for.
        user: Who will use it (audit log).
        actor: Who made it (audit log).

    Returns:
        The link.

    Raises:
        ConfigError: No master key, ``ttl`` out of range, or no tenant.
        InvalidRequestError: The tenant or user is too long or holds a control character
            or a lone surrogate (nothing is recorded).
    """
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise ConfigError("ttl must be a number of seconds")
    link = portal_link(sender.config, tenant_id, base_url=base_url, ttl=float(ttl),
                       user=str(user or ""))
    sender.audit(tenant_id, actor, "portal_link", "",
                 {"expires_at": link.expires_at, "user": user})
    return link
