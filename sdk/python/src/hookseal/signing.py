"""The signer: :func:`sign` produces the signature headers for a body.

The reference sender signs every delivery attempt through this function, and customers
use it to unit-test their own handlers with correctly signed requests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Sequence
from typing import Optional, Union

from . import _config, _ed25519
from .errors import ConfigurationError
from .keys import HmacKey, check_profile, parse_signing_key
from .profiles import DEFAULT_HEADER_PREFIX, HOOKSEAL_V1

__all__ = ["sign"]


def sign(
    body: Union[bytes, str],
    secret_or_secrets: Union[str, Sequence[str]],
    *,
    profile: str = HOOKSEAL_V1,
    timestamp: Optional[int] = None,
    msg_id: Optional[str] = None,
    event_type: Optional[str] = None,
    header_prefix: str = DEFAULT_HEADER_PREFIX,
) -> dict[str, str]:
    """Sign ``body`` and return the headers a sender puts on the request.

    Example:
        >>> headers = hookseal.sign(b'{"id":"evt_1"}', "whsec_...", msg_id="msg_1")
        >>> headers["Hookseal-Signature"]
        't=1763800000,v1=5f0c...'

    Args:
        body: The exact bytes that will be sent (``str`` is encoded as UTF-8).
        secret_or_secrets: One key or several. Each HMAC secret (``whsec_...``) adds a
            ``v1`` signature (two during a rotation overlap); each ``whsk_`` Ed25519
            signing key adds a ``v1a`` signature (needs ``hookseal[ed25519]``).
        profile: ``"hookseal-v1"`` (default) or ``"standard-webhooks"``.
        timestamp: Unix seconds to sign (default: now). Senders sign every attempt anew.
        msg_id: The delivery id. Required for ``standard-webhooks`` (it is signed);
            sent as ``<prefix>-Webhook-Id`` in ``hookseal-v1`` (not signed there).
        event_type: ``hookseal-v1`` only: sent as ``<prefix>-Event-Type``.
        header_prefix: The ``hookseal-v1`` header prefix.

    Returns:
        A new dict of header names to values. ``hookseal-v1``: ``<prefix>-Signature``
        (plus ``-Webhook-Id`` and ``-Event-Type`` when given); ``standard-webhooks``:
        ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``.

    Raises:
        ConfigurationError: No keys, a malformed key, a ``whpk_`` public key, a negative
            timestamp, or no ``msg_id`` for ``standard-webhooks``.
    """
    profile = check_profile(profile)
    prefix_name = _config.header_prefix(header_prefix)
    keys = [parse_signing_key(s, profile) for s in _config.secrets_list(secret_or_secrets)]
    ts = int(time.time()) if timestamp is None else _config.non_negative_int(timestamp, "timestamp")
    try:
        payload = _config.body_bytes(body)
    except TypeError as exc:
        raise ConfigurationError(str(exc)) from None

    if profile == HOOKSEAL_V1:
        content = b"%d." % ts + payload
        elements = [f"t={ts}"]
        for key in keys:
            if isinstance(key, HmacKey):
                elements.append("v1=" + hmac.new(key.key, content, hashlib.sha256).hexdigest())
            else:
                elements.append("v1a=" + _b64(_ed25519.load_private(key.seed).sign(content)))
        headers = {f"{prefix_name}-Signature": ",".join(elements)}
        if msg_id is not None:
            headers[f"{prefix_name}-Webhook-Id"] = msg_id
        if event_type is not None:
            headers[f"{prefix_name}-Event-Type"] = event_type
        return headers

    if not msg_id:
        raise ConfigurationError("standard-webhooks signs the message id: pass msg_id")
    content = f"{msg_id}.{ts}.".encode("utf-8", "surrogatepass") + payload
    entries = []
    for key in keys:
        if isinstance(key, HmacKey):
            entries.append("v1," + _b64(hmac.new(key.key, content, hashlib.sha256).digest()))
        else:
            entries.append("v1a," + _b64(_ed25519.load_private(key.seed).sign(content)))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": " ".join(entries),
    }


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
