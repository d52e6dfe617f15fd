"""Verify Hookseal webhooks with nothing but the Python standard library.

Copy this file into your project. HMAC (``v1``) needs only the standard library;
Ed25519 public keys (``whpk_...``, ``v1a`` signatures) need the OPTIONAL dependency
``cryptography`` (``pip install cryptography``), used only when you pass such a key.

Usage::

    try:
        verify_hookseal_v1(raw_body, request.headers, os.environ["HOOKSEAL_SECRET"])
    except WebhookVerificationError as err:
        return 400, err.code        # missing_header, malformed_header, timestamp_too_old,
                                    # timestamp_in_future or signature_mismatch
    for event in parse_events(raw_body):   # a batch (JSON array) or one event, after verifying
        handle(event)
"""

from __future__ import annotations

# --8<-- [start:verify]
import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

try:  # OPTIONAL dependency, needed only for whpk_ (Ed25519) keys: pip install cryptography
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:  # HMAC secrets work without it
    Ed25519PublicKey = None  # type: ignore[assignment,misc]

TOLERANCE = 300  # seconds a signed timestamp may differ from our clock, either way
MAX_HEADER_BYTES = 8192  # bounded work: bigger signature headers are refused unparsed
MAX_ELEMENTS = 32
_TIMESTAMP = re.compile(r"[0-9]{1,18}")  # ASCII digits only: str.isdigit() accepts "²"
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")  # what may start an HTTP header name


class ConfigurationError(ValueError):
    """The secrets or options are wrong: a bug in your set-up, not a bad request."""

    code = "invalid_configuration"


class WebhookVerificationError(Exception):
    """The request is not a genuine, fresh Hookseal delivery: answer 400 and drop it.

    Attributes:
        code: ``missing_header``, ``malformed_header``, ``timestamp_too_old``,
            ``timestamp_in_future`` or ``signature_mismatch`` (or, from
            :func:`parse_events`, ``invalid_payload``).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# --8<-- [start:hookseal-v1]
def verify_hookseal_v1(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Union[str, Sequence[str]],
    *,
    tolerance: int = TOLERANCE,
    now: Optional[int] = None,
    header_prefix: str = "Hookseal",
) -> None:
    """Verify a ``hookseal-v1`` delivery (``Hookseal-Signature: t=<ts>,v1=<hex>``).

    Args:
        body: The raw request body bytes, exactly as received (never re-serialized JSON).
        headers: The request headers; names are matched case-insensitively.
        secrets: Your ``whsec_...`` secret, or several while you rotate; ``whpk_...``
            Ed25519 public keys verify ``v1a`` signatures.
        tolerance: Seconds the signed timestamp may be off, either way.
        now: The current Unix time; defaults to the system clock (set it in tests).
        header_prefix: ``Hookseal`` unless your provider renamed the headers.

    Raises:
        WebhookVerificationError: The request must be rejected (see ``.code``).
        ConfigurationError: No secrets, an empty one, or a bad option.
    """
    _check_raw(body)
    hmac_keys, public_keys = _keys(secrets, tolerance, standard=False)
    if not _TOKEN.fullmatch(header_prefix):
        raise ConfigurationError("header_prefix must be an HTTP header name token")
    header = _header(headers, header_prefix + "-Signature")
    elements = _split(header, ",")
    # Split each element at its first "=", no trimming; unknown keys are ignored.
    pairs = [element.partition("=") for element in elements]
    timestamps = [value for key, _, value in pairs if key == "t"]
    v1 = [value for key, _, value in pairs if key == "v1"]
    v1a = [value for key, _, value in pairs if key == "v1a"]
    if len(timestamps) != 1:
        raise WebhookVerificationError("malformed_header", "need exactly one t= element")
    _check_kinds(hmac_keys, v1, public_keys, v1a)
    timestamp = _check_timestamp(timestamps[0], tolerance, now)

    signed = timestamp.encode() + b"." + bytes(body)
    for key in hmac_keys:
        # hexdigest() is lowercase, so uppercase hex never matches, as the contract says.
        expected = hmac.new(key, signed, hashlib.sha256).hexdigest().encode()
        for value in v1:
            if hmac.compare_digest(expected, _utf8(value)):
                return
    if _any_ed25519(public_keys, v1a, signed):
        return
    raise WebhookVerificationError("signature_mismatch", "no signature matches")
# --8<-- [end:hookseal-v1]


# --8<-- [start:standard-webhooks]
def verify_standard_webhooks(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Union[str, Sequence[str]],
    *,
    tolerance: int = TOLERANCE,
    now: Optional[int] = None,
) -> None:
    """Verify a Standard Webhooks delivery (``webhook-id``/``-timestamp``/``-signature``).

    Args and Raises are those of :func:`verify_hookseal_v1`; a secret is base64 of at
    least one byte (padded or not), with or without the ``whsec_`` prefix.
    """
    _check_raw(body)
    hmac_keys, public_keys = _keys(secrets, tolerance, standard=True)
    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    entries = [entry.partition(",") for entry in _split(_header(headers, "webhook-signature"), " ")]
    if any(not comma for _, comma, _ in entries):
        raise WebhookVerificationError("malformed_header", "an entry has no comma")
    v1 = [value for version, _, value in entries if version == "v1"]
    v1a = [value for version, _, value in entries if version == "v1a"]
    _check_kinds(hmac_keys, v1, public_keys, v1a)
    _check_timestamp(timestamp, tolerance, now)

    signed = _utf8(f"{msg_id}.{timestamp}.") + bytes(body)
    for key in hmac_keys:
        expected = hmac.new(key, signed, hashlib.sha256).digest()
        for value in v1:
            received = _strict_base64(value, 32)  # anything else matches nothing
            if received is not None and hmac.compare_digest(expected, received):
                return
    if _any_ed25519(public_keys, v1a, signed):
        return
    raise WebhookVerificationError("signature_mismatch", "no signature matches")
# --8<-- [end:standard-webhooks]


# --8<-- [start:batches]
def parse_events(body: bytes) -> list[dict[str, Any]]:
    """The events of a VERIFIED body: a batch (a JSON array of events) or one event.

    Call it only after ``verify_*`` accepted ``body``. A batch keeps the sender's order;
    a single event comes back as a one-element list. Deduplicate by each event's ``id``.

    Raises:
        WebhookVerificationError: code ``invalid_payload``: not JSON, or not an object
            or an array of objects.
    """
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        raise WebhookVerificationError("invalid_payload", "the body is not JSON") from None
    events = parsed if isinstance(parsed, list) else [parsed]
    if not all(isinstance(event, dict) for event in events):
        raise WebhookVerificationError("invalid_payload", "the body is not an event or an array of events")
    return events
# --8<-- [end:batches]


def _check_raw(body: object) -> None:
    # The classic mistake is passing the parsed JSON (or its re-serialized text).
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError("pass the raw request body bytes, not a parsed object or str")


def _keys(
    secrets: Union[str, Sequence[str]], tolerance: int, *, standard: bool
) -> tuple[list[bytes], list[Ed25519PublicKey]]:
    if isinstance(secrets, str):
        secrets = [secrets]
    if not secrets or not isinstance(tolerance, int) or tolerance < 0:
        raise ConfigurationError("need at least one secret and a tolerance >= 0")
    hmac_keys: list[bytes] = []
    public_keys: list[Ed25519PublicKey] = []
    for secret in secrets:
        if not isinstance(secret, str) or secret in ("", "whsec_"):
            raise ConfigurationError("a secret must be a non-empty string")
        if secret.startswith("whpk_"):
            public_keys.append(_load_public_key(_lenient_base64(secret[5:], 32)))
        elif secret.startswith("whsk_"):
            raise ConfigurationError("whsk_ is the sender's private key: use its whpk_ key")
        elif standard:
            # Standard Webhooks keys are the base64-decoded bytes after "whsec_", of any
            # length (the specification's own libraries verify with short keys too).
            hmac_keys.append(_lenient_base64(secret.removeprefix("whsec_")))
        else:
            # hookseal-v1 (like Stripe) keys HMAC with the whole string, prefix included.
            hmac_keys.append(_utf8(secret))
    return hmac_keys, public_keys


def _header(headers: Mapping[str, str], name: str) -> str:
    found: Optional[str] = None
    for key, value in headers.items():
        if key.lower() == name.lower():
            if found is not None:  # e.g. "Hookseal-Signature" and "hookseal-signature"
                raise WebhookVerificationError("malformed_header", f"{name} appears twice")
            found = value
    if not found:
        raise WebhookVerificationError("missing_header", f"{name} is missing")
    return found


def _split(header: str, separator: str) -> list[str]:
    # Bounded work: never parse (or let a sender make us hash for) a huge header.
    parts = header.split(separator, MAX_ELEMENTS)
    if len(_utf8(header)) > MAX_HEADER_BYTES or len(parts) > MAX_ELEMENTS:
        raise WebhookVerificationError("malformed_header", "signature header too large")
    return parts


def _check_timestamp(text: str, tolerance: int, now: Optional[int]) -> str:
    if not _TIMESTAMP.fullmatch(text):
        raise WebhookVerificationError("malformed_header", "timestamp is not 1-18 digits")
    now = int(time.time()) if now is None else now
    if now - int(text) > tolerance:  # an old, possibly replayed, request
        raise WebhookVerificationError("timestamp_too_old", "timestamp too old")
    if int(text) - now > tolerance:
        raise WebhookVerificationError("timestamp_in_future", "timestamp in the future")
    return text  # sign the text exactly as received (leading zeros included)


def _check_kinds(
    hmac_keys: list[bytes], v1: list[str], public_keys: list[Ed25519PublicKey], v1a: list[str]
) -> None:
    if not (hmac_keys and v1) and not (public_keys and v1a):
        raise WebhookVerificationError("malformed_header", "no signature we hold a key for")


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # never fails, whatever the header holds


def _strict_base64(text: str, size: int) -> Optional[bytes]:
    """Decode padded standard base64 of exactly ``size`` bytes, or return None."""
    if not text.isascii() or not _BASE64.fullmatch(text):
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    # Re-encoding rejects non-canonical spellings of the same bytes.
    return raw if len(raw) == size and base64.b64encode(raw).decode() == text else None


def _lenient_base64(text: str, size: Optional[int] = None) -> bytes:
    """Decode a configured key: standard base64, padded or not, of ``size`` bytes (or any)."""
    padded = text + "=" * (-len(text) % 4)
    try:
        if not text.isascii() or len(text) % 4 == 1 or not _BASE64.fullmatch(padded):
            raise ValueError
        raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError("a key is not valid base64") from None
    if not raw:
        raise ConfigurationError("a key is not valid base64")
    if size is not None and len(raw) != size:
        raise ConfigurationError(f"a key must decode to {size} bytes")
    return raw


def _load_public_key(raw: bytes) -> Ed25519PublicKey:
    if Ed25519PublicKey is None:
        raise ConfigurationError("whpk_ keys need: pip install cryptography")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise ConfigurationError("a whpk_ key is not an Ed25519 public key") from None


def _any_ed25519(public_keys: list[Ed25519PublicKey], v1a: list[str], signed: bytes) -> bool:
    for value in v1a:
        signature = _strict_base64(value, 64)
        if signature is None:
            continue  # not a signature at all: it matches nothing
        for key in public_keys:
            try:
                key.verify(signature, signed)
                return True
            except InvalidSignature:
                pass
    return False


# --8<-- [end:verify]
