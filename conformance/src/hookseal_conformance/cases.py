"""Verifier cases: valid deliveries built with the SDK, and single faults derived from them.

A :class:`Case` is one adapter request (contract 5.1) plus the answers that conform. The
Hypothesis strategies here draw a valid :class:`Delivery` and turn it into a case; the
property tests in :mod:`hookseal_conformance.suite` send the cases to an adapter.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Optional

import hookseal
from hookseal.profiles import DEFAULT_HEADER_PREFIX, HOOKSEAL_V1
from hypothesis import strategies as st

from . import bodies

OK = "ok"
MISSING = "missing_header"
MALFORMED = "malformed_header"
TOO_OLD = "timestamp_too_old"
IN_FUTURE = "timestamp_in_future"
MISMATCH = "signature_mismatch"
INVALID_CONFIGURATION = "invalid_configuration"
UNSUPPORTED_PROFILE = "unsupported_profile"
VERIFICATION_CODES = frozenset({MISSING, MALFORMED, TOO_OLD, IN_FUTURE, MISMATCH})
ANSWER_CODES = VERIFICATION_CODES | {INVALID_CONFIGURATION, UNSUPPORTED_PROFILE}

MAX_HEADER_LENGTH = 8192
MAX_ELEMENTS = 32


@dataclass(frozen=True)
class Case:
    """One request for a verifier adapter and the answers that conform to the contract.

    Attributes:
        request: the adapter request object (contract 5.1), ready to send.
        expected: every conforming answer: ``"ok"`` or error codes.
        why: one line saying why those are the conforming answers.
    """

    request: dict[str, Any]
    expected: frozenset[str]
    why: str


@dataclass(frozen=True)
class Delivery:
    """A valid delivery as a sender would produce it, plus the receiver's configuration."""

    profile: str
    body: bytes
    signing_keys: tuple[str, ...]
    receiver_keys: tuple[str, ...]
    timestamp: str
    now: int
    tolerance: int
    prefix: Optional[str]
    msg_id: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def signature_header(self) -> str:
        """Name of the header holding the signatures."""
        if self.profile == HOOKSEAL_V1:
            return f"{self.prefix or DEFAULT_HEADER_PREFIX}-Signature"
        return "webhook-signature"

    def request(
        self,
        *,
        headers: Optional[Mapping[str, str]] = None,
        body: Optional[bytes] = None,
        secrets: Optional[Sequence[str]] = None,
        now: Optional[int] = None,
    ) -> dict[str, Any]:
        """Return the adapter request for this delivery, with any part replaced."""
        req: dict[str, Any] = {
            "profile": self.profile,
            "secrets": list(self.receiver_keys if secrets is None else secrets),
            "headers": dict(self.headers if headers is None else headers),
            "body_b64": base64.b64encode(self.body if body is None else body).decode(),
            "now": self.now if now is None else now,
            "tolerance": self.tolerance,
        }
        if self.prefix is not None:
            req["header_prefix"] = self.prefix
        return req

    def case(self, expected: str | Iterable[str], why: str, **changes: Any) -> Case:
        """Return a :class:`Case` of this delivery with ``changes`` applied to the request."""
        exp = frozenset([expected]) if isinstance(expected, str) else frozenset(expected)
        return Case(self.request(**changes), exp, why)

    def with_signature(self, value: str) -> dict[str, str]:
        """Return the headers with the signature header's value replaced."""
        return _replace_header(self.headers, self.signature_header, value)

    def signatures(self) -> list[tuple[str, str]]:
        """Return the signature header's ``(version, value)`` pairs, in order."""
        raw = _get_header(self.headers, self.signature_header)
        if self.profile == HOOKSEAL_V1:
            pairs = [tuple(e.split("=", 1)) for e in raw.split(",")]
            return [(k, v) for k, v in pairs if k != "t"]
        return [tuple(e.split(",", 1)) for e in raw.split(" ")]  # type: ignore[misc]

    def signature_value(self, sigs: Sequence[tuple[str, str]], *, t: Optional[str] = None) -> str:
        """Render a signature header value holding ``sigs`` (and timestamp ``t`` in v1)."""
        if self.profile == HOOKSEAL_V1:
            stamp = self.timestamp if t is None else t
            return ",".join([f"t={stamp}"] + [f"{k}={v}" for k, v in sigs])
        return " ".join(f"{k},{v}" for k, v in sigs)

    def with_timestamp_text(self, text: str) -> dict[str, str]:
        """Return the headers with the timestamp text replaced and the signatures kept."""
        if self.profile == HOOKSEAL_V1:
            return self.with_signature(self.signature_value(self.signatures(), t=text))
        return _replace_header(self.headers, "webhook-timestamp", text)


def _get_header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    raise KeyError(name)


def _replace_header(headers: Mapping[str, str], name: str, value: str) -> dict[str, str]:
    out = dict(headers)
    for key in headers:
        if key.lower() == name.lower():
            out[key] = value
            return out
    out[name] = value
    return out


def without_header(headers: Mapping[str, str], name: str) -> dict[str, str]:
    """Return the headers without ``name`` (matched case-insensitively)."""
    return {k: v for k, v in headers.items() if k.lower() != name.lower()}


def required_headers(delivery: Delivery) -> list[str]:
    """Return the headers a verifier of this profile needs."""
    if delivery.profile == HOOKSEAL_V1:
        return [delivery.signature_header]
    return ["webhook-id", "webhook-timestamp", "webhook-signature"]


def sign(
    profile: str,
    body: bytes,
    keys: Sequence[str],
    *,
    timestamp: int,
    msg_id: str,
    prefix: Optional[str],
) -> dict[str, str]:
    """Sign with the SDK: ``keys`` may mix ``whsec_``-style secrets and ``whsk_`` keys."""
    kwargs: dict[str, Any] = {"profile": profile, "timestamp": timestamp, "msg_id": msg_id}
    if prefix is not None:
        kwargs["header_prefix"] = prefix
    return dict(hookseal.sign(body, list(keys), **kwargs))


# -- strategies ----------------------------------------------------------------------------

_TEXT = st.characters(exclude_categories=["Cs"])


# Strategies are built once, at import: building them per draw dominates the run time.
_V1_SECRETS = st.one_of(
    st.binary(min_size=32, max_size=32).map(lambda raw: "whsec_" + base64.b64encode(raw).decode()),
    st.text(_TEXT, min_size=1, max_size=40).filter(
        lambda s: s != "whsec_" and not s.startswith(("whpk_", "whsk_"))
    ),
)
_STANDARD_SECRETS = st.builds(
    lambda raw, pad, prefix: ("whsec_" if prefix else "")
    + (base64.b64encode(raw).decode() if pad else base64.b64encode(raw).decode().rstrip("=")),
    st.binary(min_size=24, max_size=64),
    st.booleans(),
    st.booleans(),
)
_TOLERANCES = st.one_of(st.just(300), st.integers(1, 7 * 24 * 3600))
_NOWS = st.integers(1_000_000_000, 4_000_000_000)


def v1_secrets() -> st.SearchStrategy[str]:
    """A ``hookseal-v1`` secret: any non-empty string (most often a ``whsec_`` secret)."""
    return _V1_SECRETS


def standard_secrets() -> st.SearchStrategy[str]:
    """A Standard Webhooks secret: base64 of 24-64 bytes, padded or not, prefixed or not."""
    return _STANDARD_SECRETS


def key_of(profile: str, secret: str) -> object:
    """Return what a secret means as a key (two spellings of one key compare equal)."""
    if profile == HOOKSEAL_V1 or secret.startswith(("whpk_", "whsk_")):
        return secret
    text = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return secret


def distinct_secret(profile: str, taken: Iterable[str]) -> st.SearchStrategy[str]:
    """A receiver secret whose key differs from every key in ``taken``."""
    keys = {key_of(profile, t) for t in taken}
    return secrets_for(profile).filter(lambda s: key_of(profile, s) not in keys)


def secrets_for(profile: str) -> st.SearchStrategy[str]:
    """The strategy of receiver secrets for ``profile``."""
    return v1_secrets() if profile == HOOKSEAL_V1 else standard_secrets()


@st.composite
def signing_keys(draw: st.DrawFn) -> str:
    """An Ed25519 signing key (``whsk_`` + base64 of a 32-byte seed)."""
    return "whsk_" + base64.b64encode(draw(st.binary(min_size=32, max_size=32))).decode()


_PREFIXES = st.one_of(
    st.sampled_from([DEFAULT_HEADER_PREFIX, "Acme", "Stripe", "X-Acme-Co"]),
    st.from_regex(r"[A-Z][A-Za-z0-9]{0,11}(-[A-Z][A-Za-z0-9]{0,7})?", fullmatch=True),
)
_MSG_IDS = st.one_of(
    st.from_regex(r"msg_[A-Za-z0-9]{8,27}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_.:-]{1,40}", fullmatch=True),
)


@st.composite
def recased(draw: st.DrawFn, headers: Mapping[str, str]) -> dict[str, str]:
    """Return ``headers`` with each name in a drawn letter case (names are case-insensitive)."""
    out = {}
    for name, value in headers.items():
        style = draw(st.sampled_from(["as-is", "lower", "upper", "title"]))
        new = {"as-is": name, "lower": name.lower(), "upper": name.upper()}.get(style, name.title())
        out[new] = value
    return out


@st.composite
def deliveries(
    draw: st.DrawFn,
    profile: str,
    *,
    body: Optional[st.SearchStrategy[bytes]] = None,
    rotation: Optional[bool] = None,
    ed25519: bool = False,
    extra_hmac: bool = False,
    offset: Optional[int] = None,
    tolerance: Optional[int] = None,
) -> Delivery:
    """Draw a valid delivery of ``profile`` that the receiver must accept.

    Args:
        profile: the signature profile.
        body: strategy of raw bodies (default: the catalog's example events serialized
            many ways, text and bytes; pass :func:`bodies.bodies` for generated events).
        rotation: force (True) or forbid (False) a rotation overlap; drawn when None.
        ed25519: sign with an Ed25519 key and give the receiver its public key.
        extra_hmac: with ``ed25519``, also sign with an HMAC secret the receiver lacks.
        offset: fixed ``timestamp - now``; drawn within the tolerance when None.
        tolerance: fixed tolerance; drawn when None.
    """
    tol = tolerance if tolerance is not None else draw(_TOLERANCES)
    now = draw(_NOWS)
    off = offset if offset is not None else draw(
        st.one_of(st.just(0), st.integers(-tol, tol))
    )
    ts = now + off
    prefix = None
    if profile == HOOKSEAL_V1 and draw(st.booleans()):
        prefix = draw(_PREFIXES)
    raw_body = draw(body if body is not None else bodies.quick_bodies())
    msg_id = draw(_MSG_IDS)
    if ed25519:
        sk = draw(signing_keys())
        keys: tuple[str, ...] = (sk,)
        receiver: tuple[str, ...] = (hookseal.public_key_for(sk),)
        if extra_hmac:
            keys = (*keys, draw(secrets_for(profile)))
        keys = tuple(draw(st.permutations(keys)))
    else:
        rotating = draw(st.booleans()) if rotation is None else rotation
        first = draw(secrets_for(profile))
        if rotating:
            second = draw(distinct_secret(profile, [first]))
            keys = tuple(draw(st.permutations([first, second])))
            receiver_options = [(first,), (second,), (first, second), (second, first)]
            receiver = draw(st.sampled_from(receiver_options))
        else:
            keys = (first,)
            receiver = (first,)
            if draw(st.booleans()):
                # The receiver rotates its own secret: it holds an unrelated one too.
                other = draw(distinct_secret(profile, [first]))
                receiver = tuple(draw(st.permutations([first, other])))
    headers = sign(profile, raw_body, keys, timestamp=ts, msg_id=msg_id, prefix=prefix)
    headers = draw(recased(headers))
    return Delivery(
        profile=profile,
        body=raw_body,
        signing_keys=keys,
        receiver_keys=receiver,
        timestamp=str(ts),
        now=now,
        tolerance=tol,
        prefix=prefix,
        msg_id=msg_id,
        headers=headers,
    )


# -- signature value manipulation ----------------------------------------------------------


def decode_b64(value: str) -> bytes:
    """Strictly decode standard base64 (raises ``binascii.Error`` on anything else)."""
    return base64.b64decode(value, validate=True)


def flip_bit(data: bytes, index: int, bit: int) -> bytes:
    """Return ``data`` with one bit flipped."""
    index %= len(data)
    return data[:index] + bytes([data[index] ^ (1 << (bit % 8))]) + data[index + 1 :]


def change_hex_char(value: str, index: int, delta: int) -> str:
    """Return lowercase hex ``value`` with one digit replaced by a different digit."""
    index %= len(value)
    digits = "0123456789abcdef"
    new = digits[(digits.index(value[index]) + 1 + delta % 15) % 16]
    return value[:index] + new + value[index + 1 :]


def tamper_signature(profile: str, version: str, value: str, index: int, bit: int) -> str:
    """Return a signature value that differs from ``value`` in one byte, same length."""
    if profile == HOOKSEAL_V1 and version == "v1":
        return change_hex_char(value, index, bit)
    return base64.b64encode(flip_bit(decode_b64(value), index, bit)).decode()


def resize_signature(profile: str, version: str, value: str, new_len: int, filler: bytes) -> str:
    """Return ``value`` truncated or extended to ``new_len`` bytes (hex digits in v1)."""
    if profile == HOOKSEAL_V1 and version == "v1":
        ext = value + binascii.hexlify(filler).decode() * 200
        return ext[:new_len]
    raw = decode_b64(value)
    ext_raw = raw + filler * 200
    return base64.b64encode(ext_raw[:new_len]).decode()


def seeded_bytes(seed: int, size: int) -> bytes:
    """Return ``size`` reproducible pseudo-random bytes (test data, not secrets)."""
    return random.Random(seed).randbytes(size)  # noqa: S311


def as_json_line(request: Mapping[str, Any]) -> str:
    """Render a request as the exact JSON line sent to the adapter."""
    return json.dumps(request, ensure_ascii=True)


def delivery_with(delivery: Delivery, **changes: Any) -> Delivery:
    """Return a copy of ``delivery`` with fields replaced."""
    return replace(delivery, **changes)
