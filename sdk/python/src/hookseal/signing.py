"""The signer: :func:`sign` produces the signature headers for a body.

The reference sender signs every delivery attempt through this function, and customers
use it to unit-test their own handlers with correctly signed requests.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from typing import Any, Optional, Union

from . import _config, _ed25519, _mac
from .errors import ConfigurationError
from .keys import HmacKey, check_profile, parse_signing_key
from .profiles import DEFAULT_HEADER_PREFIX, HOOKSEAL_V1

__all__ = ["Signer", "sign"]


class Signer:
    """Signs bodies for one endpoint; the keys are parsed and keyed once, here.

    The sender's side of :class:`Webhook`: build one per endpoint (and per key set, when
    rotating) and reuse it. :func:`sign` is a one-off ``Signer(...).sign(...)``.

    Examples:
        >>> signer = hookseal.Signer("whsec_...")
        >>> headers = signer.sign(b'{"id":"evt_1"}', msg_id="evt_1")

    Args:
        secret_or_secrets: One key or several. Each HMAC secret (``whsec_...``) adds a
            ``v1`` signature (two during a rotation overlap); each ``whsk_`` Ed25519
            signing key adds a ``v1a`` signature (needs ``hookseal[ed25519]``).
        profile: ``"hookseal-v1"`` (default) or ``"standard-webhooks"``.
        header_prefix: The ``hookseal-v1`` header prefix.

    Raises:
        ConfigurationError: No keys, a malformed key, a ``whpk_`` public key, a bad
            profile or prefix, or a ``whsk_`` key without the ``ed25519`` extra.
    """

    __slots__ = ("_keys", "_names", "header_prefix", "profile")

    def __init__(
        self,
        secret_or_secrets: Union[str, Sequence[str]],
        *,
        profile: str = HOOKSEAL_V1,
        header_prefix: str = DEFAULT_HEADER_PREFIX,
    ) -> None:
        self.profile = check_profile(profile)
        self.header_prefix = _config.header_prefix(header_prefix)
        keys: list[tuple[Optional[_mac.KeyedSha256], Any]] = []
        for secret in _config.secrets_list(secret_or_secrets):
            key = parse_signing_key(secret, self.profile)
            if isinstance(key, HmacKey):
                keys.append((_mac.keyed_sha256(key.key), None))
            else:
                keys.append((None, _ed25519.load_private(key.seed)))
        self._keys = tuple(keys)
        prefix = self.header_prefix
        self._names = (f"{prefix}-Signature", f"{prefix}-Webhook-Id", f"{prefix}-Event-Type")

    def __repr__(self) -> str:
        # Never show the keys.
        return f"Signer(<{len(self._keys)} key(s)>, profile={self.profile!r}, header_prefix={self.header_prefix!r})"

    def sign(
        self,
        body: Union[bytes, str],
        *,
        timestamp: Optional[int] = None,
        msg_id: Optional[str] = None,
        event_type: Optional[str] = None,
    ) -> dict[str, str]:
        """Sign ``body`` and return the headers a sender puts on the request.

        Args:
            body: The exact bytes that will be sent (``str`` is encoded as UTF-8).
            timestamp: Unix seconds to sign (default: now). Senders sign every attempt anew.
            msg_id: The webhook id (the event id: the same on every attempt and replay).
                Required for ``standard-webhooks`` (it is signed); sent as
                ``<prefix>-Webhook-Id`` in ``hookseal-v1`` (not signed there).
            event_type: ``hookseal-v1`` only: sent as ``<prefix>-Event-Type``.

        Returns:
            A new dict of header names to values. ``hookseal-v1``: ``<prefix>-Signature``
            (plus ``-Webhook-Id`` and ``-Event-Type`` when given); ``standard-webhooks``:
            ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``.

        Raises:
            ConfigurationError: A negative or non-int timestamp, a body that is not
                bytes or str, or no ``msg_id`` for ``standard-webhooks``.
        """
        ts = int(time.time()) if timestamp is None else _config.non_negative_int(timestamp, "timestamp")
        if type(body) is not bytes:
            try:
                body = _config.body_bytes(body)
            except TypeError as exc:
                raise ConfigurationError(str(exc)) from None
        if self.profile == HOOKSEAL_V1:
            prefix = b"%d." % ts
            elements = [f"t={ts}"]
            for keyed, private in self._keys:
                if keyed is not None:
                    elements.append("v1=" + _mac.digest(keyed, prefix, body).hex())
                else:
                    elements.append("v1a=" + _b64(private.sign(prefix + body)))
            names = self._names
            headers = {names[0]: ",".join(elements)}
            if msg_id is not None:
                headers[names[1]] = msg_id
            if event_type is not None:
                headers[names[2]] = event_type
            return headers

        if not msg_id:
            raise ConfigurationError("standard-webhooks signs the message id: pass msg_id")
        prefix = f"{msg_id}.{ts}.".encode("utf-8", "surrogatepass")
        entries = []
        for keyed, private in self._keys:
            if keyed is not None:
                entries.append("v1," + _b64(_mac.digest(keyed, prefix, body)))
            else:
                entries.append("v1a," + _b64(private.sign(prefix + body)))
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": " ".join(entries),
        }


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

    A one-off :class:`Signer`; to sign many bodies with the same keys, build a
    :class:`Signer` once and call its :meth:`~Signer.sign`.

    Examples:
        >>> headers = hookseal.sign(b'{"id":"evt_1"}', "whsec_...", msg_id="evt_1")
        >>> headers["Hookseal-Signature"]
        't=1763800000,v1=5f0c...'

    Args:
        body: The exact bytes that will be sent (``str`` is encoded as UTF-8).
        secret_or_secrets: One key or several. Each HMAC secret (``whsec_...``) adds a
            ``v1`` signature (two during a rotation overlap); each ``whsk_`` Ed25519
            signing key adds a ``v1a`` signature (needs ``hookseal[ed25519]``).
        profile: ``"hookseal-v1"`` (default) or ``"standard-webhooks"``.
        timestamp: Unix seconds to sign (default: now). Senders sign every attempt anew.
        msg_id: The webhook id (the event id: the same on every attempt and replay).
            Required for ``standard-webhooks`` (it is signed); sent as
            ``<prefix>-Webhook-Id`` in ``hookseal-v1`` (not signed there).
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
    signer = Signer(secret_or_secrets, profile=profile, header_prefix=header_prefix)
    return signer.sign(body, timestamp=timestamp, msg_id=msg_id, event_type=event_type)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
