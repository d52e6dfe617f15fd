"""What a worker needs to reach an endpoint beyond its URL: the ``Authorization`` value,
OAuth tokens, and the TLS context (client certificate, trusted test CA).

Built once per endpoint load from the decrypted ``auth`` key (see
:mod:`hookseal_sender.endpoint_auth`); OAuth tokens are cached by the worker across loads.
"""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Optional

from .models import Endpoint, EndpointKey

__all__ = ["AUTH_KIND", "Access", "OAuthToken", "TokenError", "build_access"]

#: The ``endpoint_keys.kind`` of an endpoint's encrypted authentication secrets.
AUTH_KIND = "auth"
#: A token is renewed this many seconds (at most a tenth of its life) before it expires.
TOKEN_MARGIN = 30.0
#: How long a token without ``expires_in`` is used (or until a 401).
TOKEN_DEFAULT_LIFE = 3600.0


class TokenError(Exception):
    """An OAuth token could not be fetched (shown as a connection-class failure)."""


@dataclass
class OAuthToken:
    """A cached access token.

    Attributes:
        value: The token.
        renew_at: Unix time after which a new one is fetched.
    """

    value: str
    renew_at: float


@dataclass(frozen=True)
class Access:
    """How to reach one endpoint, beyond its URL and signature.

    Attributes:
        authorization: A static ``Authorization`` value, if any.
        oauth: The OAuth client (``token_url``, ``client_id``, ``scope``, ``audience``),
            if any.
        client_secret: The OAuth client secret.
        key_id: The id of the ``auth`` key (a token cache entry belongs to one key).
        ssl: The TLS context (client certificate and/or trusted CA), if not the default.
        client_certificate: Whether ``ssl`` presents a client certificate.
    """

    authorization: Optional[str] = None
    oauth: Optional[dict[str, Any]] = None
    client_secret: str = field(default="", repr=False)
    key_id: str = ""
    ssl: Optional[ssl.SSLContext] = None
    client_certificate: bool = False


#: Most TLS contexts kept for reuse (least recently used dropped first).
CONTEXT_CACHE = 1024
_contexts: OrderedDict[bytes, ssl.SSLContext] = OrderedDict()
_contexts_lock = threading.Lock()


def _context(ca_pem: Optional[str], cert_pem: Optional[str],
             key_pem: Optional[str]) -> ssl.SSLContext:
    """The TLS context for these PEMs, built once and shared by every load that asks.

    An endpoint is loaded again every few tens of seconds, and a context costs
    milliseconds of CPU to build (the system's CA bundle is read and parsed each time):
    across thousands of mTLS endpoints that was a core's worth. A context is not changed
    after it is built, so loads with the same PEMs share it. A new certificate or CA makes
    a new key; the system bundle is read when a context is first built.
    """
    # Keyed by a digest: the cache keeps no private key of its own after its endpoint's
    # access is gone.
    key = hashlib.sha256("\0".join((ca_pem or "", cert_pem or "", key_pem or "")).encode()
                         ).digest()
    with _contexts_lock:
        ctx = _contexts.get(key)
        if ctx is not None:
            _contexts.move_to_end(key)
            return ctx
    ctx = _build_context(ca_pem, cert_pem, key_pem)
    with _contexts_lock:
        _contexts[key] = ctx
        while len(_contexts) > CONTEXT_CACHE:
            _contexts.popitem(last=False)
    return ctx


def _build_context(ca_pem: Optional[str], cert_pem: Optional[str],
                   key_pem: Optional[str]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()
    if cert_pem and key_pem:
        # ssl loads a certificate chain from files only: a private directory, removed at once.
        with tempfile.TemporaryDirectory(prefix="hookseal-mtls-") as tmp:
            cert_path, key_path = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
            for path, text in ((cert_path, cert_pem), (key_path, key_pem)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="ascii") as f:
                    f.write(text)
            ctx.load_cert_chain(cert_path, key_path)
    return ctx


def build_access(ep: Endpoint, keys: list[EndpointKey]) -> Optional[Access]:
    """What reaching ``ep`` needs beyond the defaults, or ``None``.

    Args:
        ep: The endpoint.
        keys: Its keys valid now (the newest ``auth`` key is used).

    Returns:
        The access, or ``None`` for a plain endpoint.

    Raises:
        ValueError: The stored secrets cannot be used (the endpoint is then unusable).
    """
    auth_keys = [k for k in keys if k.kind == AUTH_KIND]
    kind = (ep.auth or {}).get("type")
    if kind is None and ep.tls_ca_pem is None:
        return None
    secret: dict[str, str] = {}
    if kind is not None:
        if not auth_keys:
            raise ValueError(f"its {kind} authentication has no stored secret")
        secret = json.loads(auth_keys[-1].secret)
    tls = None
    if kind == "mtls" or ep.tls_ca_pem is not None:
        try:
            tls = _context(ep.tls_ca_pem, secret.get("cert_pem"), secret.get("key_pem"))
        except (ssl.SSLError, OSError) as exc:
            raise ValueError(f"its TLS settings cannot be loaded: {exc}") from None
    if kind == "oauth":
        return Access(oauth=dict(ep.auth or {}), client_secret=secret["client_secret"],
                      key_id=auth_keys[-1].id, ssl=tls)
    return Access(authorization=secret.get("authorization"), ssl=tls,
                  key_id=auth_keys[-1].id if auth_keys else "", client_certificate=kind == "mtls")


def token_from_answer(status: int, body: bytes, now: float) -> OAuthToken:
    """The token in a token endpoint's answer (RFC 6749 5.1).

    Args:
        status: The HTTP status.
        body: The JSON body.
        now: Unix time of the answer.

    Returns:
        The token, to be renewed shortly before ``expires_in`` runs out.

    Raises:
        TokenError: Not a 2xx, not JSON, or without a string ``access_token``.
    """
    if not 200 <= status < 300:
        raise TokenError(f"the token endpoint answered HTTP {status}")
    try:
        answer = json.loads(body)
    except ValueError:
        raise TokenError("the token endpoint's answer is not JSON") from None
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise TokenError("the token endpoint's answer has no access_token")
    life = answer.get("expires_in")
    if isinstance(life, bool) or not isinstance(life, (int, float)) or life <= 0:
        life = TOKEN_DEFAULT_LIFE
    return OAuthToken(token, now + life - min(TOKEN_MARGIN, life / 10))


def token_form(oauth: dict[str, Any]) -> dict[str, str]:
    """The form of a client-credentials token request (the client authenticates with
    HTTP Basic)."""
    form = {"grant_type": "client_credentials"}
    for name in ("scope", "audience"):
        if oauth.get(name):
            form[name] = str(oauth[name])
    return form


def fresh(token: Optional[OAuthToken]) -> bool:
    """Whether a cached token may still be used."""
    return token is not None and time.time() < token.renew_at
