# ruff: noqa: SIM105, SIM110, SIM113  (deliberately naive code: the bugs must read plainly)
"""A self-contained verifier adapter (contract 5.1) with switchable bugs.

Run as ``python toy_verifier.py [BUG]``. With no bug it conforms (HMAC only: it does not
implement v1a); each bug is one classic mistake the conformance suite must catch.
Stdlib only, on purpose: the corpus must not depend on the SDK it is compared with.
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
}

BUG = sys.argv[1] if len(sys.argv) > 1 else "none"
assert BUG in BUGS, f"unknown bug {BUG!r}; one of {sorted(BUGS)}"

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


def verify_v1(req: dict[str, Any], h: dict[str, str], body: bytes, secrets: list[str]) -> None:
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
    ts_list, sigs = [], []
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
    if len(ts_list) != 1 or not sigs:
        raise Reject("malformed_header")
    signed_ts = timestamp(ts_list[0], req["now"], req.get("tolerance", 300))
    if BUG == "first_signature_only":
        sigs = sigs[:1]
    if BUG == "uppercase_hex_accepted":
        sigs = [s.lower() for s in sigs]
    msg = content(signed_ts + ".", body)
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


def verify_sw(req: dict[str, Any], h: dict[str, str], body: bytes, secrets: list[str]) -> None:
    keys = [sw_key(s) for s in secrets]
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
    sigs = []
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
    if not sigs:
        raise Reject("malformed_header")
    signed_ts = timestamp(ts_text, req["now"], req.get("tolerance", 300))
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
    if BUG == "first_secret_only":
        secrets = secrets[:1]
    body = base64.b64decode(req.get("body_b64", ""))
    try:
        h = headers_of(req.get("headers") or {})
        if profile == "hookseal-v1":
            verify_v1(req, h, body, secrets)
        else:
            verify_sw(req, h, body, secrets)
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
