"""Probe what a verifier adapter implements: which profiles, and whether ``v1a`` works."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import hookseal

from .errors import AdapterError

if TYPE_CHECKING:
    from .verifier import VerifierAdapter

_BODY = b'{"id":"evt_probe","type":"conformance.probe","data":{}}'


@dataclass
class Support:
    """Answers to the probes: for each profile, an HMAC delivery and a ``v1a`` delivery."""

    hmac: dict[str, str] = field(default_factory=dict)
    ed25519: dict[str, str] = field(default_factory=dict)

    def profile_supported(self, profile: str) -> bool:
        """False only when the adapter said ``unsupported_profile``."""
        return self.hmac.get(profile) != "unsupported_profile"

    def ed25519_supported(self, profile: str) -> bool:
        """True when the adapter accepted a valid ``v1a``-only delivery."""
        return self.ed25519.get(profile) == "ok"


def _request(profile: str, key: str, receiver: str, now: int) -> dict[str, object]:
    headers = hookseal.sign(_BODY, [key], profile=profile, timestamp=now, msg_id="msg_probe")
    return {
        "profile": profile,
        "secrets": [receiver],
        "headers": dict(headers),
        "body_b64": base64.b64encode(_BODY).decode(),
        "now": now,
        "tolerance": 300,
    }


def probe(verifier: VerifierAdapter, profiles: list[str]) -> Support:
    """Ask the adapter a valid HMAC and a valid ``v1a`` delivery in each profile."""
    support = Support()
    now = int(time.time())
    for profile in profiles:
        secret = hookseal.generate_secret()
        try:
            support.hmac[profile] = verifier.ask(_request(profile, secret, secret, now))
        except AdapterError as exc:
            support.hmac[profile] = f"{exc.code}: {exc}"
        try:
            signing_key, public_key = hookseal.generate_signing_key()
            support.ed25519[profile] = verifier.ask(
                _request(profile, signing_key, public_key, now)
            )
        except AdapterError as exc:
            support.ed25519[profile] = f"{exc.code}: {exc}"
        except Exception as exc:
            support.ed25519[profile] = f"could not sign v1a with the SDK: {exc}"
    return support
