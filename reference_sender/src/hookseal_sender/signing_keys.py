"""Signing keys: an endpoint's public keys and the rotation of its secret and key pair."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import hookseal

from . import _inputs as inputs
from .audit import AuditLog
from .config import SenderConfig
from .endpoints import EndpointService
from .models import EndpointKey, new_id
from .storage import Store

__all__ = ["Rotation", "SigningKeyService"]


@dataclass(frozen=True)
class Rotation:
    """The result of a rotation.

    Attributes:
        secret: The new ``whsec_`` secret (shown once).
        public_key: The current ``whpk_`` public key (new if the signing key rotated).
        overlap_ends_at: Unix time when the old keys stop signing.
    """

    secret: str
    public_key: Optional[str]
    overlap_ends_at: float


class SigningKeyService:
    """Reads and rotates endpoints' keys.

    Args:
        store: The store.
        config: The sender's configuration (the facade replaces it when its own changes).
        endpoints: Finds a tenant's endpoints (an unknown one is refused).
        audit: Records each rotation.
    """

    def __init__(self, store: Store, config: SenderConfig, endpoints: EndpointService,
                 audit: AuditLog) -> None:
        self.store = store
        self.config = config
        self.endpoints = endpoints
        self.audit = audit

    def public_keys(self, tenant_id: str, endpoint_id: str) -> list[str]:
        """An endpoint's current ``whpk_`` public keys (not secret; publishable).

        Args:
            tenant_id: The tenant.
            endpoint_id: The endpoint.

        Returns:
            The public keys still signing, oldest first.
        """
        self.endpoints.get_endpoint(tenant_id, endpoint_id)
        return [k.public_key for k in self.store.keys(endpoint_id, now=time.time())
                if k.kind == "ed25519" and k.public_key]

    def rotate_secret(
        self, tenant_id: str, endpoint_id: str, *, overlap: Optional[float] = None,
        actor: str = "api",
    ) -> Rotation:
        """Rotate an endpoint's secret (and its signing key if it signs with Ed25519).

        The new keys sign at once; the old ones keep signing beside them until the
        overlap ends, so receivers holding either secret accept every delivery.

        Args:
            tenant_id: The tenant.
            endpoint_id: The endpoint.
            overlap: Seconds the old keys keep signing (default: config, 24 h), from 0
                to ``MAX_ROTATION_OVERLAP`` (30 days).
            actor: Who rotated (audit log).

        Returns:
            The new secret, the public key and the overlap's end.

        Raises:
            InvalidRequestError: A bad overlap or actor (checked before anything changes).
            NotFoundError: No such endpoint.
        """
        inputs.check_name(actor, "actor", inputs.MAX_ACTOR)
        ep = self.endpoints.get_endpoint(tenant_id, endpoint_id)
        if overlap is not None:
            inputs.check_overlap(overlap, "overlap")
        now = time.time()
        ends = now + (self.config.rotation_overlap if overlap is None else float(overlap))
        secret = hookseal.generate_secret()
        new = [EndpointKey(new_id("key"), endpoint_id, "hmac", secret, None, now)]
        public_key = None
        if ep.signing in ("ed25519", "both"):
            signing_key, public_key = hookseal.generate_signing_key()
            if self.config.signing_keys == "tenant":
                # The customer's one key pair rotates on all its endpoints at once.
                for other in self.store.list_endpoints(tenant_id):
                    if other.id != endpoint_id:
                        self.store.rotate_keys(other.id, [EndpointKey(
                            new_id("key"), other.id, "ed25519", signing_key, public_key,
                            now)], ends)
            new.append(EndpointKey(new_id("key"), endpoint_id, "ed25519", signing_key,
                                   public_key, now))
        self.store.rotate_keys(endpoint_id, new, ends)
        self.audit.record(tenant_id, actor, "rotate", "", {"endpoint_id": endpoint_id,
                                                           "overlap_ends_at": ends})
        if public_key is None:
            keys = self.public_keys(tenant_id, endpoint_id)
            public_key = keys[-1] if keys else None
        return Rotation(secret=secret, public_key=public_key, overlap_ends_at=ends)
