"""Ask what a verifier adapter declares it implements: which profiles, and ``v1a`` or not.

Contract 5.1 gives each a declaration: ``unsupported_profile`` for a profile, and
``invalid_configuration`` for a receiver holding a ``whpk_`` key for ``v1a``. Only those
answers make properties skip; any other answer is judged.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import hookseal

from .cases import INVALID_CONFIGURATION
from .errors import AdapterError

if TYPE_CHECKING:
    from .verifier import VerifierAdapter

#: How a probe answer starts when the suite itself could not sign ``v1a`` (no Ed25519).
SUITE_CANNOT_SIGN = "could not sign v1a with the SDK"
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
        """False only when the adapter declared it has no ``v1a`` (contract 5.1).

        The one declaration is ``invalid_configuration`` for a receiver holding a ``whpk_``
        key. Any other answer, ``signature_mismatch`` or ``malformed_header`` to a valid
        ``v1a`` delivery or a crash included, is judged by the ``v1a`` properties: a skip
        needs a declaration, never an inference from a wrong answer.
        """
        return self.ed25519.get(profile) != INVALID_CONFIGURATION and not self.ed25519.get(
            profile, "").startswith(SUITE_CANNOT_SIGN)


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


def probe_request(profile: str) -> dict[str, object]:
    """A valid HMAC delivery in ``profile``: the first request a run sends."""
    secret = hookseal.generate_secret()
    return _request(profile, secret, secret, int(time.time()))


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
            support.ed25519[profile] = f"{SUITE_CANNOT_SIGN}: {exc}"
    return support
