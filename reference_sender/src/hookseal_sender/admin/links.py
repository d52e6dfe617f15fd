"""Admin console tokens: the CLI's short-lived sign-in link, and console sessions.

They are portal-style tokens (:class:`~hookseal_sender.portal_tokens.TokenSigner`) made
with a key of their own, derived from the portal's key with HKDF under another label,
and under purpose labels of their own: no portal link or portal session is ever accepted
by the console, and no console token by the portal. The claims' tenant is the fixed
:data:`CONSOLE`; ``user`` is the operator.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .._inputs import MAX_NAME, check_name
from ..config import SenderConfig
from ..errors import ConfigError
from ..portal_tokens import PortalClaims, PortalTokenError, TokenSigner, derive_key

if TYPE_CHECKING:
    from ..sender import Sender

__all__ = ["ADMIN_LINK", "ADMIN_SESSION", "CONSOLE", "DEFAULT_ADMIN_LINK_TTL",
           "DEFAULT_ADMIN_SESSION_TTL", "MAX_ADMIN_LINK_TTL", "OPERATOR_LOG", "AdminLink",
           "AdminTokens", "admin_key", "admin_link", "issue_admin_link"]

#: Purpose labels of console tokens (never the portal's).
ADMIN_LINK, ADMIN_SESSION = "admin-link", "admin-session"
#: The claims' tenant of every console token (it names no customer).
CONSOLE = "(admin console)"
#: The audit log's tenant for what the console does that concerns no one customer
#: (sign-ins, links, bulk jobs across tenants). Customers' entries stay under their own.
OPERATOR_LOG = "_operator"
#: An admin link's lifetime when none is given, and the longest allowed.
DEFAULT_ADMIN_LINK_TTL = 900.0
MAX_ADMIN_LINK_TTL = 3600.0
#: How long a console session lasts.
DEFAULT_ADMIN_SESSION_TTL = 4 * 3600.0


@dataclass(frozen=True)
class AdminLink:
    """A sign-in link for one operator.

    Attributes:
        url: ``{base_url}/admin/login?token=...``.
        token: The token alone.
        expires_at: Unix time when it stops opening sessions.
    """

    url: str
    token: str
    expires_at: float


def admin_key(config: SenderConfig) -> bytes:
    """The console's MAC key: derived from the portal's key (itself derived from the
    master key), so the two never verify each other's tokens.

    Args:
        config: The sender's configuration.

    Returns:
        32 bytes.

    Raises:
        ConfigError: No master key is configured.
    """
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"hookseal-admin",
                info=b"hookseal admin console tokens v1").derive(derive_key(config))


class AdminTokens:
    """Makes and checks console links, sessions and CSRF tokens.

    Args:
        key: The console's MAC key (see :func:`admin_key`).
        clock: Unix time source (tests pass a fake one).
    """

    def __init__(self, key: bytes, clock: Any = time.time) -> None:
        self.signer = TokenSigner(key, clock)
        self._clock = clock

    def link(self, operator: str, *, ttl: float = DEFAULT_ADMIN_LINK_TTL,
             session_ttl: float = DEFAULT_ADMIN_SESSION_TTL) -> tuple[str, float]:
        """A sign-in link token for an operator.

        Args:
            operator: Who (the audit log's actor is ``admin:<operator>``).
            ttl: Seconds the link may be opened for (at most :data:`MAX_ADMIN_LINK_TTL`).
            session_ttl: Seconds the session lasts.

        Returns:
            The token and its expiry.

        Raises:
            ConfigError: A lifetime out of range.
            InvalidRequestError: The operator is empty, too long or holds a control
                character.
        """
        check_name(operator, "operator", MAX_NAME)
        if not 0 < ttl <= MAX_ADMIN_LINK_TTL:
            raise ConfigError(f"ttl must be in (0, {MAX_ADMIN_LINK_TTL:.0f}] seconds")
        now = float(self._clock())
        claims = PortalClaims(CONSOLE, now + float(ttl), now, user=operator,
                              session_ttl=float(session_ttl))
        return self.signer.issue(ADMIN_LINK, claims), claims.expires_at

    def check_link(self, token: Optional[str]) -> PortalClaims:
        """The claims of a valid console link.

        Raises:
            PortalTokenError: Missing, altered, expired, or not a console link.
        """
        return self._check(ADMIN_LINK, token)

    def session(self, operator: str, session_ttl: float = DEFAULT_ADMIN_SESSION_TTL,
                ) -> tuple[str, PortalClaims]:
        """A session token for an operator who signed in.

        Args:
            operator: Who.
            session_ttl: Seconds it lasts.

        Returns:
            The cookie value and its claims.
        """
        now = float(self._clock())
        link = PortalClaims(CONSOLE, now, now, user=operator, session_ttl=session_ttl)
        claims = self.signer.session_token(link)[1]
        return self.signer.issue(ADMIN_SESSION, claims), claims

    def check_session(self, token: Optional[str]) -> PortalClaims:
        """The claims of a valid console session.

        Raises:
            PortalTokenError: Missing, altered, expired, or not a console session.
        """
        return self._check(ADMIN_SESSION, token)

    def _check(self, purpose: str, token: Optional[str]) -> PortalClaims:
        claims = self.signer.check(purpose, token)
        if claims.tenant_id != CONSOLE or not claims.user:
            raise PortalTokenError("not a console token")
        return claims

    def csrf_token(self, session: PortalClaims) -> str:
        """The CSRF token of a session (bound to its id)."""
        return self.signer.csrf_token(session)

    def check_csrf(self, session: PortalClaims, given: Optional[str]) -> bool:
        """Whether a form's CSRF token belongs to this session."""
        return self.signer.check_csrf(session, given)


def admin_link(config: SenderConfig, operator: str, *, base_url: str,
               ttl: float = DEFAULT_ADMIN_LINK_TTL) -> AdminLink:
    """Make a signed, short-lived admin console sign-in link.

    Args:
        config: The sender's configuration (its master key signs the link).
        operator: Who will sign in with it (audit log: ``admin:<operator>``).
        base_url: Where the sender is served; the link points at
            ``{base_url}/admin/login``.
        ttl: Seconds it may be opened for (default 15 minutes, at most an hour).

    Returns:
        The link.

    Raises:
        ConfigError: No master key, or ``ttl`` out of range.
        InvalidRequestError: A bad operator name.
    """
    token, exp = AdminTokens(admin_key(config)).link(operator, ttl=ttl)
    url = f"{base_url.rstrip('/')}/admin/login?{urlencode({'token': token})}"
    return AdminLink(url, token, exp)


def issue_admin_link(sender: Sender, operator: str, *, base_url: str,
                     ttl: float = DEFAULT_ADMIN_LINK_TTL, actor: str = "cli") -> AdminLink:
    """Make an admin link and record it in the operator's audit log (:data:`OPERATOR_LOG`).

    Args:
        sender: The sender.
        operator: Who will sign in.
        base_url: Where the sender is served.
        ttl: Seconds the link may be opened for.
        actor: Who made it.

    Returns:
        The link.
    """
    link = admin_link(sender.config, operator, base_url=base_url, ttl=ttl)
    sender.audit(OPERATOR_LOG, actor, "admin_link", "",
                 {"operator": operator, "expires_at": link.expires_at})
    return link
