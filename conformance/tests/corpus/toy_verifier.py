# ruff: noqa: SIM105, SIM110, SIM113  (deliberately naive code: the bugs must read plainly)
"""A self-contained verifier adapter (contract 5.1) with switchable bugs.

Run as ``python toy_verifier.py [BUG]``. With no bug it conforms, HMAC only: it declares
that it has no v1a by answering ``invalid_configuration`` to a ``whpk_`` key (contract
5.1). ``v1a`` conforms with Ed25519 too, and each ``v1a_*`` bug is a broken v1a verifier.
Every other bug is one classic mistake the conformance suite must catch. Stdlib only (and
``cryptography`` for Ed25519), on purpose: the corpus must not depend on the SDK it is
compared with.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import sys
import time
from typing import Any

BUGS = {
    "none": "conforming",
    "no_tolerance": "never checks the timestamp's age",
    "past_only_tolerance": "rejects stale timestamps but accepts any future one",
    "eq_compare": "compares signatures with ==",
    "early_exit_compare": "compares signatures with a loop that stops at the first difference",
    "first_signature_only": "checks only the first v1 value of the header",
    "first_secret_only": "uses only the first receiver secret",
    "timestamp_not_signed": "signs only the body (the timestamp is not covered)",
    "reserialized_body": "re-serializes JSON bodies before hashing",
    "truncated_accepted": "accepts any prefix of the right signature",
    "missing_header_accepted": "accepts a request without the signature header",
    "crash_on_malformed": "crashes on a header element without '='",
    "int_timestamp": "signs str(int(t)) instead of t's text (leading zeros accepted)",
    "lenient_timestamp": "parses t with int(), so '+123' and ' 123' pass",
    "uppercase_hex_accepted": "lower-cases the received hex before comparing",
    "future_as_stale": "reports future timestamps as timestamp_too_old",
    "hangs_on_huge_header": "hangs on a signature header over 100 kB",
    "stdout_chatter": "prints a debug line to stdout before some answers",
    "duplicate_header_merged": "keeps the last of two header names differing in case",
    "ms_timestamps": "takes a t of 12 or more digits for milliseconds",
    "loose_keys": "trims and lower-cases element keys, so ' v1' and 'V1' count as v1",
    "v1a": "conforming, with v1a (Ed25519)",
    "v1a_undeclared": "has no v1a but takes whpk_ keys as HMAC secrets (no declaration)",
    "v1a_wrong_content": "verifies v1a over the body alone",
    "v1a_first_key_only": "checks v1a with the first whpk_ key only",
    "v1a_skips_bad_key": "skips a whpk_ key that does not load instead of refusing it",
    "v1a_ignores_v1": "holding a secret and a public key, checks only v1a once one is present",
    "v1a_first_signature_only": "checks only the first v1a value of the header",
    "v1a_public_key_as_hmac": "also checks v1 values with the public key as an HMAC key",
    "v1a_lenient_value": "decodes v1a values leniently (unpadded, URL-safe base64 accepted)",
}

BUG = sys.argv[1] if len(sys.argv) > 1 else "none"
assert BUG in BUGS, f"unknown bug {BUG!r}; one of {sorted(BUGS)}"
V1A = BUG.startswith("v1a") and BUG != "v1a_undeclared"

_T = re.compile(r"[0-9]{1,18}")


class Reject(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def same(expected: str | bytes, received: str | bytes) -> bool:
    if BUG == "eq_compare":
        return expected == received
    if BUG == "early_exit_compare":
        if len(expected) != len(received):
            return False
        for x, y in zip(expected, received):
            if x != y:
                return False
        return True
    if BUG == "truncated_accepted" and 0 < len(received) < len(expected):
        expected = expected[: len(received)]
    return hmac.compare_digest(expected, received)


def headers_of(raw: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in raw.items():
        key = name.lower()
        if key in out and BUG != "duplicate_header_merged":
            raise Reject("malformed_header")
        out[key] = value
    return out


def timestamp(text: str, now: int, tolerance: int) -> str:
    if BUG == "lenient_timestamp":
        try:
            ts = int(text)
        except ValueError:
            raise Reject("malformed_header") from None
    else:
        if not _T.fullmatch(text):
            raise Reject("malformed_header")
        ts = int(text)
    if BUG == "ms_timestamps" and ts > 10**11:
        ts //= 1000
    if BUG != "no_tolerance":
        if now - ts > tolerance:
            raise Reject("timestamp_too_old")
        if ts - now > tolerance and BUG != "past_only_tolerance":
            raise Reject("timestamp_too_old" if BUG == "future_as_stale" else "timestamp_in_future")
    return str(int(text)) if BUG == "int_timestamp" else text


def content(prefix: str, body: bytes) -> bytes:
    if BUG == "reserialized_body":
        try:
            body = json.dumps(json.loads(body), separators=(",", ":")).encode()
        except ValueError:
            pass
    return body if BUG == "timestamp_not_signed" else prefix.encode() + body


def load_public_keys(secrets: list[str]) -> list[Any]:
    """The whpk_ keys among ``secrets``; one that does not load refuses the configuration."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    keys = []
    for secret in secrets:
        if not secret.startswith("whpk_"):
            continue
        try:
            raw = base64.b64decode(secret[5:], validate=True)
            if len(raw) != 32:
                raise ValueError("not 32 bytes")
            keys.append(Ed25519PublicKey.from_public_bytes(raw))
        except (binascii.Error, ValueError):
            if BUG == "v1a_skips_bad_key":
                continue
            raise Reject("invalid_configuration") from None
    if BUG == "v1a_first_key_only":
        keys = keys[:1]
    return keys


def ed25519_signature(value: str) -> bytes | None:
    """A v1a value: canonical padded standard base64 of 64 bytes, else it matches nothing."""
    if BUG == "v1a_lenient_value":
        try:
            raw = base64.urlsafe_b64decode(value.replace("+", "-").replace("/", "_")
                                           + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            return None
        return raw if len(raw) == 64 else None
    if not re.fullmatch(r"[A-Za-z0-9+/]{85}[AQgw]==", value):
        return None
    return base64.b64decode(value)


def check_v1a(public_keys: list[Any], sigs: list[str], signed: bytes, body: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    if BUG == "v1a_first_signature_only":
        sigs = sigs[:1]
    message = body if BUG == "v1a_wrong_content" else signed + body
    for key in public_keys:
        for value in sigs:
            raw = ed25519_signature(value)
            if raw is None:
                continue
            try:
                key.verify(raw, message)
                return True
            except InvalidSignature:
                pass
    return False


def kinds_present(secrets: list[str], public_keys: list[Any], v1: list[str],
                  v1a: list[str]) -> tuple[bool, bool]:
    """Which signature kinds to check: those the receiver holds keys for and the header has."""
    use_hmac = bool(v1) and bool(secrets)
    if BUG == "v1a_public_key_as_hmac":
        use_hmac = bool(v1)
    use_v1a = bool(v1a) and bool(public_keys)
    if not (use_hmac or use_v1a):
        raise Reject("malformed_header")
    if BUG == "v1a_ignores_v1" and use_v1a:
        use_hmac = False
    return use_hmac, use_v1a


def verify_v1(req: dict[str, Any], h: dict[str, str], body: bytes, secrets: list[str],
              public_keys: list[Any]) -> None:
    name = (req.get("header_prefix") or "Hookseal").lower() + "-signature"
    value = h.get(name, "")
    if not value:
        if BUG == "missing_header_accepted":
            return
        raise Reject("missing_header")
    if len(value.encode()) > 8192:
        if BUG == "hangs_on_huge_header" and len(value) > 100_000:
            time.sleep(60)
        raise Reject("malformed_header")
    elements = value.split(",")
    if len(elements) > 32:
        raise Reject("malformed_header")
    ts_list, sigs, v1a = [], [], []
    for element in elements:
        if BUG == "crash_on_malformed":
            key, val = element.split("=", 1)  # ValueError without '=' -> crash
        else:
            key, _, val = element.partition("=")
        if BUG == "loose_keys":
            key = key.strip().lower()
        if key == "t":
            ts_list.append(val)
        elif key == "v1":
            sigs.append(val)
        elif key == "v1a" and V1A:
            v1a.append(val)
    if len(ts_list) != 1:
        raise Reject("malformed_header")
    use_hmac, use_v1a = kinds_present(secrets, public_keys, sigs, v1a)
    signed_ts = timestamp(ts_list[0], req["now"], req.get("tolerance", 300))
    if use_v1a and check_v1a(public_keys, v1a, (signed_ts + ".").encode(), body):
        return
    if not use_hmac:
        raise Reject("signature_mismatch")
    if BUG == "first_signature_only":
        sigs = sigs[:1]
    if BUG == "uppercase_hex_accepted":
        sigs = [s.lower() for s in sigs]
    msg = content(signed_ts + ".", body)
    if BUG == "v1a_public_key_as_hmac":
        secrets = secrets + [s for s in req["secrets"] if s.startswith("whpk_")]
    for secret in secrets:
        expected = hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()
        for sig in sigs:
            if sig.isascii() and same(expected, sig):
                return
    raise Reject("signature_mismatch")


def sw_key(secret: str) -> bytes:
    text = secret[6:] if secret.startswith("whsec_") else secret
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise Reject("invalid_configuration") from None
    if not key:  # any length from one byte (contract 1)
        raise Reject("invalid_configuration")
    return key


def verify_sw(req: dict[str, Any], h: dict[str, str], body: bytes, secrets: list[str],
              public_keys: list[Any]) -> None:
    keys = [sw_key(s) for s in secrets]
    if BUG == "v1a_public_key_as_hmac":
        keys += [base64.b64decode(s[5:]) for s in req["secrets"] if s.startswith("whpk_")]
    msg_id, ts_text, value = (h.get(n, "") for n in
                              ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and ts_text and value):
        if BUG == "missing_header_accepted" and msg_id and ts_text:
            return
        raise Reject("missing_header")
    if len(value.encode()) > 8192:
        if BUG == "hangs_on_huge_header" and len(value) > 100_000:
            time.sleep(60)
        raise Reject("malformed_header")
    entries = value.split(" ")
    if len(entries) > 32:
        raise Reject("malformed_header")
    sigs, v1a = [], []
    for entry in entries:
        if "," not in entry:
            if BUG == "crash_on_malformed":
                raise SystemExit("cannot parse entry")
            raise Reject("malformed_header")
        version, val = entry.split(",", 1)
        if BUG == "loose_keys":
            version = version.strip().lower()
        if version == "v1":
            sigs.append(val)
        elif version == "v1a" and V1A:
            v1a.append(val)
    use_hmac, use_v1a = kinds_present(keys, public_keys, sigs, v1a)
    signed_ts = timestamp(ts_text, req["now"], req.get("tolerance", 300))
    if use_v1a and check_v1a(public_keys, v1a, f"{msg_id}.{signed_ts}.".encode(), body):
        return
    if not use_hmac:
        raise Reject("signature_mismatch")
    if BUG == "first_signature_only":
        sigs = sigs[:1]
    msg = content(f"{msg_id}.{signed_ts}.", body) if BUG != "timestamp_not_signed" else \
        content(f"{msg_id}.", body)
    for key in keys:
        expected = hmac.new(key, msg, hashlib.sha256).digest()
        for sig in sigs:
            if not re.fullmatch(r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=", sig):
                if BUG == "truncated_accepted":
                    try:
                        got = base64.b64decode(sig, validate=True)
                    except (binascii.Error, ValueError):
                        continue
                    if got and same(expected, got):
                        return
                continue
            if same(expected, base64.b64decode(sig)):
                return
    raise Reject("signature_mismatch")


def answer(req: dict[str, Any]) -> dict[str, Any]:
    profile = req.get("profile")
    if profile not in ("hookseal-v1", "standard-webhooks"):
        return {"ok": False, "error": "unsupported_profile"}
    secrets = list(req.get("secrets") or [])
    if not secrets or any(s in ("", "whsec_") for s in secrets):
        return {"ok": False, "error": "invalid_configuration"}
    body = base64.b64decode(req.get("body_b64", ""))
    try:
        public_keys: list[Any] = []
        if BUG != "v1a_undeclared" and any(s.startswith("whpk_") for s in secrets):
            if not V1A:
                # The declaration of contract 5.1: no v1a here.
                return {"ok": False, "error": "invalid_configuration", "detail": "no v1a"}
            public_keys = load_public_keys(secrets)
            secrets = [s for s in secrets if not s.startswith("whpk_")]
        if BUG == "first_secret_only":
            secrets = secrets[:1]
        h = headers_of(req.get("headers") or {})
        if profile == "hookseal-v1":
            verify_v1(req, h, body, secrets, public_keys)
        else:
            verify_sw(req, h, body, secrets, public_keys)
    except Reject as exc:
        return {"ok": False, "error": exc.code}
    return {"ok": True}


def main() -> None:
    count = 0
    for line in sys.stdin:
        count += 1
        reply = answer(json.loads(line))
        if BUG == "stdout_chatter" and count % 7 == 0:
            sys.stdout.write("debug: verifying\n")
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
