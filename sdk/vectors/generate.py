"""Generate sdk/vectors/vectors.json, the shared test vectors of every Hookseal implementation.

The signatures here are computed with :mod:`hmac`, :mod:`base64` and ``cryptography``
directly, never with the ``hookseal`` SDK, so the SDK is tested against an independent
computation (and the Standard Webhooks specification's own published example is included
verbatim). Every case's ``request`` is a contract 5.1 adapter request and its ``expected``
the adapter answer, so a case can be piped to any adapter as it is.

Usage:
    python sdk/vectors/generate.py           # rewrite vectors.json
    python sdk/vectors/generate.py --check   # exit 1 if vectors.json is stale
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = Path(__file__).resolve().parent
OUT = HERE / "vectors.json"

NOW = 1763800000
TOL = 300
V1 = "hookseal-v1"
SW = "standard-webhooks"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def secret(seed: int, size: int = 32) -> str:
    return "whsec_" + b64(bytes((seed * 7 + i) % 256 for i in range(size)))


S1, S2, S3 = secret(1), secret(2), secret(3)
SEED = bytes(range(100, 132))
SEED2 = bytes(range(200, 232))


def whsk(seed: bytes) -> str:
    return "whsk_" + b64(seed)


def whpk(seed: bytes) -> str:
    pub = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return "whpk_" + b64(pub.public_bytes(Encoding.Raw, PublicFormat.Raw))


PK1, PK2 = whpk(SEED), whpk(SEED2)

BODY = (
    b'{"id":"evt_1","type":"invoice.paid","created":1763800000,'
    b'"data":{"invoice_id":"in_1","amount":1999,"currency":"usd"}}'
)
UNICODE_BODY = '{"name":"Zoë Ünïcødé ✓ 日本語 🚀","note":"naïve café"}'.encode()
WHITESPACE_BODY = b'  {\n  "id" : "evt_2",\n\t"type": "test.ping"  }\n\n'
BINARY_BODY = bytes([0xFF, 0xFE, 0x00, 0x80, 0x7F, 0x0A, 0x0D])
LARGE_BODY = b'{"blob":"' + b"a" * 70000 + b'"}'
BATCH_BODY = b'[{"id":"evt_1","type":"invoice.paid","data":{}},{"id":"evt_2","type":"invoice.paid","data":{}}]'
MSG_ID = "msg_2bLhX0m0vE6AvOjdyn1mZ5lrnR8"
# Bodies every profile must accept as signed bytes, whatever they hold.
BODY_CASES = [
    ("empty body", b""),
    ("unicode body, signed as its UTF-8 bytes", UNICODE_BODY),
    ("whitespace is part of the signed bytes", WHITESPACE_BODY),
    ("a body that is not UTF-8 verifies as bytes", BINARY_BODY),
    ("a large body (70 KB)", LARGE_BODY),
    ("a batch body (a JSON array of events) verifies like any body", BATCH_BODY),
]


def v1_key(profile: str, sec: str) -> bytes:
    if profile == V1:
        return sec.encode()
    raw = sec[6:] if sec.startswith("whsec_") else sec
    return base64.b64decode(raw + "=" * (-len(raw) % 4))


def content(profile: str, ts: str, body: bytes, msg_id: str = MSG_ID) -> bytes:
    return (f"{ts}." if profile == V1 else f"{msg_id}.{ts}.").encode() + body


def mac(profile: str, sec: str, ts: str, body: bytes, msg_id: str = MSG_ID) -> str:
    digest = hmac.new(v1_key(profile, sec), content(profile, ts, body, msg_id), hashlib.sha256).digest()
    return digest.hex() if profile == V1 else b64(digest)


def ed(profile: str, seed: bytes, ts: str, body: bytes, msg_id: str = MSG_ID) -> str:
    return b64(Ed25519PrivateKey.from_private_bytes(seed).sign(content(profile, ts, body, msg_id)))


def v1_header(ts: str, *sigs: str, extra: tuple[str, ...] = ()) -> str:
    return ",".join([f"t={ts}", *extra, *(f"v1={s}" for s in sigs)])


class Builder:
    def __init__(self) -> None:
        self.groups: dict[str, list[dict[str, Any]]] = {V1: [], SW: []}

    def add(
        self,
        profile: str,
        comment: str,
        flags: list[str],
        headers: dict[str, str],
        body: bytes,
        secrets: list[str],
        expected: str | None,
        *,
        now: int = NOW,
        tolerance: int = TOL,
        header_prefix: str | None = None,
    ) -> None:
        request: dict[str, Any] = {
            "profile": profile,
            "secrets": secrets,
            "headers": headers,
            "body_b64": b64(body),
            "now": now,
            "tolerance": tolerance,
        }
        if header_prefix is not None:
            request["header_prefix"] = header_prefix
        exp: dict[str, Any] = {"ok": True} if expected is None else {"ok": False, "error": expected}
        self.groups[profile].append({"comment": comment, "flags": flags, "request": request, "expected": exp})

    # hookseal-v1 shorthand: one header, signed with `sign_with` at `ts`.
    def v1(
        self,
        comment: str,
        flags: list[str],
        expected: str | None,
        *,
        sign_with: list[str] | None = None,
        receive_with: list[str] | None = None,
        ts: str = str(NOW),
        body: bytes = BODY,
        header: str | None = None,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> None:
        sigs = [mac(V1, s, ts, body) for s in (sign_with or [S1])]
        hdrs = headers if headers is not None else {"Hookseal-Signature": header or v1_header(ts, *sigs)}
        self.add(V1, comment, flags, hdrs, body, receive_with if receive_with is not None else [S1], expected, **kw)

    def sw(
        self,
        comment: str,
        flags: list[str],
        expected: str | None,
        *,
        sign_with: list[str] | None = None,
        receive_with: list[str] | None = None,
        ts: str = str(NOW),
        body: bytes = BODY,
        msg_id: str = MSG_ID,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> None:
        sig = (
            signature
            if signature is not None
            else " ".join("v1," + mac(SW, s, ts, body, msg_id) for s in (sign_with or [S1]))
        )
        hdrs = (
            headers
            if headers is not None
            else {
                "webhook-id": msg_id,
                "webhook-timestamp": ts,
                "webhook-signature": sig,
            }
        )
        self.add(SW, comment, flags, hdrs, body, receive_with if receive_with is not None else [S1], expected, **kw)


def sig_with_char(profile: str, chars: str) -> tuple[bytes, str]:
    """A body whose standard-webhooks signature contains one of ``chars`` (for alphabet cases)."""
    for i in range(10_000):
        body = b'{"n":%d}' % i
        sig = mac(profile, S1, str(NOW), body)
        if any(c in sig for c in chars):
            return body, sig
    raise AssertionError("no such body")


def hookseal_v1_cases(b: Builder) -> None:
    ts = str(NOW)
    sig1 = mac(V1, S1, ts, BODY)
    # --- accepted ---
    b.v1("a valid delivery", ["valid"], None)
    for comment, body in BODY_CASES:
        b.v1(comment, ["valid", "body"], None, body=body)
    b.v1(
        "rotation: two v1 signatures (old, new); receiver holds the new secret",
        ["valid", "rotation"],
        None,
        sign_with=[S1, S2],
        receive_with=[S2],
    )
    b.v1(
        "rotation: two v1 signatures (old, new); receiver holds the old secret",
        ["valid", "rotation"],
        None,
        sign_with=[S1, S2],
        receive_with=[S1],
    )
    b.v1(
        "rotation: two v1 signatures in the other order",
        ["valid", "rotation"],
        None,
        sign_with=[S2, S1],
        receive_with=[S1],
    )
    b.v1(
        "receiver holds two secrets; the second one matches",
        ["valid", "rotation"],
        None,
        sign_with=[S1],
        receive_with=[S3, S1],
    )
    b.v1(
        "receiver holds two secrets; the first one matches",
        ["valid", "rotation"],
        None,
        sign_with=[S1],
        receive_with=[S1, S3],
    )
    b.v1(
        "two signatures, two receiver secrets, only the last pair matches",
        ["valid", "rotation"],
        None,
        sign_with=[S3, S2],
        receive_with=[S1, S2],
    )
    acme = v1_header(ts, sig1)
    b.v1("custom header prefix", ["valid", "prefix"], None, headers={"Acme-Signature": acme}, header_prefix="Acme")
    b.v1("header name in lower case", ["valid", "header-case"], None, headers={"hookseal-signature": acme})
    b.v1("header name in upper case", ["valid", "header-case"], None, headers={"HOOKSEAL-SIGNATURE": acme})
    b.v1(
        "other headers are present and ignored",
        ["valid"],
        None,
        headers={
            "Content-Type": "application/json",
            "Hookseal-Webhook-Id": MSG_ID,
            "Hookseal-Event-Type": "invoice.paid",
            "Hookseal-Signature": acme,
        },
    )
    b.v1("timestamp exactly tolerance seconds old", ["valid", "tolerance"], None, ts=str(NOW - TOL))
    b.v1("timestamp exactly tolerance seconds ahead", ["valid", "tolerance"], None, ts=str(NOW + TOL))
    b.v1("tolerance 0 and timestamp equal to now", ["valid", "tolerance"], None, tolerance=0)
    b.v1("leading zeros in t: the signed text is t exactly as received", ["valid", "timestamp"], None, ts="000" + ts)
    unknown = v1_header(ts, sig1, extra=("v0=deadbeef", "v1a=notchecked", " v1=bogus", "x", "scheme=v9"))
    b.v1(
        "unknown elements (v0, v1a without public keys, ' v1', bare words) are ignored",
        ["valid", "parsing"],
        None,
        header=unknown,
    )
    b.v1("an empty v1 element beside a valid one", ["valid", "parsing"], None, header=f"t={ts},v1=,v1={sig1}")
    b.v1("elements in any order (v1 before t)", ["valid", "parsing"], None, header=f"v1={sig1},t={ts}")
    legacy = "sk_legacy-secret from another provider"
    b.v1(
        "any non-empty string is a secret in hookseal-v1 (key = its UTF-8 bytes)",
        ["valid", "secret"],
        None,
        sign_with=[legacy],
        receive_with=[legacy],
    )
    uni_secret = "whsec_ünïcødé-sécret"
    b.v1(
        "a non-ASCII secret is keyed by its UTF-8 bytes",
        ["valid", "secret"],
        None,
        sign_with=[uni_secret],
        receive_with=[uni_secret],
    )
    stripe_secret = "whsec_test_secret"
    b.v1(
        "Stripe-compatible: the whole secret string, prefix included, is the key",
        ["valid", "stripe"],
        None,
        sign_with=[stripe_secret],
        receive_with=[stripe_secret],
    )
    # --- missing_header ---
    b.v1("no signature header", ["missing"], "missing_header", headers={})
    b.v1("empty signature header", ["missing"], "missing_header", headers={"Hookseal-Signature": ""})
    b.v1(
        "signature header under another prefix than the receiver's",
        ["missing", "prefix"],
        "missing_header",
        headers={"Acme-Signature": acme},
    )
    b.v1(
        "receiver expects a custom prefix; the default header is sent",
        ["missing", "prefix"],
        "missing_header",
        headers={"Hookseal-Signature": acme},
        header_prefix="Acme",
    )
    # --- malformed_header ---
    b.v1("no t element", ["malformed"], "malformed_header", header=f"v1={sig1}")
    b.v1("two t elements", ["malformed", "timestamp"], "malformed_header", header=f"t={ts},t={ts},v1={sig1}")
    for bad, why in [
        ("", "empty"),
        ("-" + ts, "negative"),
        ("+" + ts, "signed"),
        (" " + ts, "leading space"),
        (ts + " ", "trailing space"),
        ("1_763_800_000", "underscores"),
        (ts + ".0", "decimal point"),
        ("1" * 19, "19 digits"),
        ("１７６３８００００００", "non-ASCII (fullwidth) digits"),
        ("0x6920c6c0", "hex"),
        ("1.7638e9", "exponent"),
    ]:
        b.v1(
            f"t is not 1-18 ASCII digits: {why}",
            ["malformed", "timestamp"],
            "malformed_header",
            header=f"t={bad},v1={sig1}",
        )
    b.v1("no v1 element", ["malformed"], "malformed_header", header=f"t={ts}")
    b.v1("only v0 elements", ["malformed"], "malformed_header", header=f"t={ts},v0={sig1}")
    b.v1(
        "' v1' (leading space) is an unknown key, so there is no v1",
        ["malformed", "parsing"],
        "malformed_header",
        header=f"t={ts}, v1={sig1}",
    )
    b.v1(
        "'V1' (upper case key) is an unknown key, so there is no v1",
        ["malformed", "parsing"],
        "malformed_header",
        header=f"t={ts},V1={sig1}",
    )
    b.v1(
        "the signature header appears twice with different case",
        ["malformed", "header-case"],
        "malformed_header",
        headers={"Hookseal-Signature": acme, "hookseal-signature": acme},
    )
    b.v1(
        "a header longer than 8192 characters",
        ["malformed", "bounds"],
        "malformed_header",
        header=v1_header(ts, sig1, extra=("x=" + "a" * 8200,)),
    )
    b.v1(
        "a header of 5000 non-ASCII characters is 10000 UTF-8 bytes: over the bound",
        ["malformed", "bounds"],
        "malformed_header",
        header=v1_header(ts, sig1, extra=("x=" + "é" * 5000,)),
    )
    b.v1(
        "a header of 3000 non-ASCII characters (6000 UTF-8 bytes) is within the bound",
        ["valid", "bounds"],
        None,
        header=v1_header(ts, sig1, extra=("x=" + "é" * 3000,)),
    )
    b.v1(
        "more than 32 elements",
        ["malformed", "bounds"],
        "malformed_header",
        header=v1_header(ts, sig1, extra=tuple(f"v0={i}" for i in range(40))),
    )
    # --- timestamps ---
    b.v1(
        "timestamp one second past the tolerance (old)",
        ["timestamp", "tolerance"],
        "timestamp_too_old",
        ts=str(NOW - TOL - 1),
    )
    b.v1(
        "timestamp one second past the tolerance (future)",
        ["timestamp", "tolerance"],
        "timestamp_in_future",
        ts=str(NOW + TOL + 1),
    )
    b.v1("a day old", ["timestamp"], "timestamp_too_old", ts=str(NOW - 86400))
    b.v1("timestamp 0", ["timestamp"], "timestamp_too_old", ts="0")
    b.v1("a day ahead", ["timestamp"], "timestamp_in_future", ts=str(NOW + 86400))
    b.v1(
        "tolerance 0 means zero: one second old is too old",
        ["timestamp", "tolerance"],
        "timestamp_too_old",
        ts=str(NOW - 1),
        tolerance=0,
    )
    b.v1(
        "tolerance 0: one second ahead is in the future",
        ["timestamp", "tolerance"],
        "timestamp_in_future",
        ts=str(NOW + 1),
        tolerance=0,
    )
    b.v1("18-digit timestamp far in the future", ["timestamp"], "timestamp_in_future", ts="9" * 18)
    # --- signature_mismatch ---
    b.v1("wrong secret", ["mismatch"], "signature_mismatch", sign_with=[S2])
    b.v1(
        "receiver holds two secrets, neither matches",
        ["mismatch", "rotation"],
        "signature_mismatch",
        sign_with=[S3],
        receive_with=[S1, S2],
    )
    tampered = bytearray(BODY)
    tampered[10] ^= 0x01
    b.add(
        V1,
        "one body byte changed",
        ["mismatch", "tamper"],
        {"Hookseal-Signature": v1_header(ts, sig1)},
        bytes(tampered),
        [S1],
        "signature_mismatch",
    )
    b.add(
        V1,
        "a byte appended to the body",
        ["mismatch", "tamper"],
        {"Hookseal-Signature": v1_header(ts, sig1)},
        BODY + b" ",
        [S1],
        "signature_mismatch",
    )
    reserialized = json.dumps(json.loads(BODY), indent=2).encode()
    b.add(
        V1,
        "body parsed and re-serialized before verifying",
        ["mismatch", "tamper"],
        {"Hookseal-Signature": v1_header(ts, sig1)},
        reserialized,
        [S1],
        "signature_mismatch",
    )
    fresh = str(NOW - 60)
    b.v1(
        "a captured signature replayed with a fresh timestamp",
        ["mismatch", "replay"],
        "signature_mismatch",
        ts=fresh,
        header=v1_header(fresh, mac(V1, S1, str(NOW - 3600), BODY)),
    )
    body_only = hmac.new(S1.encode(), BODY, hashlib.sha256).hexdigest()
    b.v1(
        "a signature over the body alone (timestamp not covered)",
        ["mismatch"],
        "signature_mismatch",
        header=v1_header(ts, body_only),
    )
    b.v1(
        "signature in upper-case hex",
        ["mismatch", "encoding"],
        "signature_mismatch",
        header=v1_header(ts, sig1.upper()),
    )
    b.v1(
        "signature truncated by one character",
        ["mismatch", "length"],
        "signature_mismatch",
        header=v1_header(ts, sig1[:-1]),
    )
    b.v1(
        "signature truncated to 32 characters",
        ["mismatch", "length"],
        "signature_mismatch",
        header=v1_header(ts, sig1[:32]),
    )
    b.v1(
        "signature extended by one character",
        ["mismatch", "length"],
        "signature_mismatch",
        header=v1_header(ts, sig1 + "0"),
    )
    b.v1(
        "one signature character changed",
        ["mismatch", "tamper"],
        "signature_mismatch",
        header=v1_header(ts, sig1[:20] + ("0" if sig1[20] != "0" else "1") + sig1[21:]),
    )
    b.v1("an empty v1 element only", ["mismatch", "parsing"], "signature_mismatch", header=f"t={ts},v1=")
    b.v1("a non-hex v1 element", ["mismatch", "encoding"], "signature_mismatch", header=f"t={ts},v1={'z' * 64}")
    b.v1("a non-ASCII v1 element", ["mismatch", "encoding"], "signature_mismatch", header=f"t={ts},v1={'é' * 64}")
    b.v1(
        "signature in base64 instead of hex",
        ["mismatch", "encoding"],
        "signature_mismatch",
        header=v1_header(ts, b64(bytes.fromhex(sig1))),
    )
    b.v1(
        "signed with the standard-webhooks key derivation",
        ["mismatch"],
        "signature_mismatch",
        header=v1_header(ts, hmac.new(v1_key(SW, S1), f"{ts}.".encode() + BODY, hashlib.sha256).hexdigest()),
    )
    b.v1(
        "signature computed over a timestamp without leading zeros",
        ["mismatch", "timestamp"],
        "signature_mismatch",
        header=v1_header("0" + ts, sig1),
    )
    # --- configuration ---
    b.v1(
        "no secrets",
        ["configuration"],
        "invalid_configuration",
        receive_with=[],
        headers={"Hookseal-Signature": v1_header(ts, sig1)},
    )
    b.add(
        V1,
        "an empty secret",
        ["configuration"],
        {"Hookseal-Signature": v1_header(ts, sig1)},
        BODY,
        [""],
        "invalid_configuration",
    )
    b.add(
        V1,
        "'whsec_' alone",
        ["configuration"],
        {"Hookseal-Signature": v1_header(ts, sig1)},
        BODY,
        ["whsec_"],
        "invalid_configuration",
    )


def standard_cases(b: Builder) -> None:
    ts = str(NOW)
    # The Standard Webhooks specification's own example, verbatim.
    b.add(
        SW,
        "the Standard Webhooks specification's published example",
        ["valid", "interop"],
        {
            "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "webhook-timestamp": "1614265330",
            "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        },
        b'{"test": 2432232314}',
        ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        None,
        now=1614265330,
    )
    b.add(
        SW,
        "the specification's example, secret without the whsec_ prefix",
        ["valid", "interop", "secret"],
        {
            "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "webhook-timestamp": "1614265330",
            "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        },
        b'{"test": 2432232314}',
        ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        None,
        now=1614265330,
    )
    sig = "v1," + mac(SW, S1, ts, BODY)
    b.sw("a valid delivery", ["valid"], None)
    for comment, body in BODY_CASES:
        b.sw(comment, ["valid", "body"], None, body=body)
    b.sw(
        "rotation: two v1 entries (old, new); receiver holds the new secret",
        ["valid", "rotation"],
        None,
        sign_with=[S1, S2],
        receive_with=[S2],
    )
    b.sw(
        "rotation: two v1 entries; receiver holds the old secret",
        ["valid", "rotation"],
        None,
        sign_with=[S1, S2],
        receive_with=[S1],
    )
    b.sw("rotation: the other order", ["valid", "rotation"], None, sign_with=[S2, S1], receive_with=[S1])
    b.sw("receiver holds two secrets; the second matches", ["valid", "rotation"], None, receive_with=[S3, S1])
    b.sw("entries of other versions are ignored", ["valid", "parsing"], None, signature="v2,abc v1a,notchecked " + sig)
    b.sw(
        "a wrong v1 entry before a right one",
        ["valid", "parsing"],
        None,
        signature="v1," + mac(SW, S2, ts, BODY) + " " + sig,
    )
    b.sw(
        "header names in mixed case",
        ["valid", "header-case"],
        None,
        headers={"Webhook-Id": MSG_ID, "WEBHOOK-TIMESTAMP": ts, "Webhook-Signature": sig},
    )
    unpadded = "whsec_" + b64(bytes(range(25))).rstrip("=")
    b.sw("a secret in unpadded base64", ["valid", "secret"], None, sign_with=[unpadded], receive_with=[unpadded])
    short = "whsec_" + b64(bytes(range(24)))
    b.sw("a 24-byte secret (the shortest allowed)", ["valid", "secret"], None, sign_with=[short], receive_with=[short])
    long = "whsec_" + b64(bytes(range(64)))
    b.sw("a 64-byte secret (the longest allowed)", ["valid", "secret"], None, sign_with=[long], receive_with=[long])
    b.sw("timestamp exactly tolerance seconds old", ["valid", "tolerance"], None, ts=str(NOW - TOL))
    b.sw("timestamp exactly tolerance seconds ahead", ["valid", "tolerance"], None, ts=str(NOW + TOL))
    b.sw("a message id with unicode (signed as UTF-8)", ["valid"], None, msg_id="msg_ünï")
    # missing
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        hdrs = {"webhook-id": MSG_ID, "webhook-timestamp": ts, "webhook-signature": sig}
        del hdrs[name]
        b.sw(f"no {name} header", ["missing"], "missing_header", headers=hdrs)
        hdrs = {"webhook-id": MSG_ID, "webhook-timestamp": ts, "webhook-signature": sig, name: ""}
        b.sw(f"empty {name} header", ["missing"], "missing_header", headers=hdrs)
    # malformed
    for bad, why in [
        ("-" + ts, "negative"),
        ("abc", "letters"),
        (ts + ".5", "decimal"),
        ("1" * 19, "19 digits"),
        (" " + ts, "leading space"),
    ]:
        b.sw(
            f"webhook-timestamp is not 1-18 ASCII digits: {why}",
            ["malformed", "timestamp"],
            "malformed_header",
            headers={"webhook-id": MSG_ID, "webhook-timestamp": bad, "webhook-signature": sig},
        )
    b.sw("an entry without a comma", ["malformed", "parsing"], "malformed_header", signature="v1")
    b.sw(
        "an entry without a comma beside a valid one",
        ["malformed", "parsing"],
        "malformed_header",
        signature=sig + " garbage",
    )
    b.sw(
        "two spaces between entries (an empty entry)",
        ["malformed", "parsing"],
        "malformed_header",
        signature=sig + "  " + sig,
    )
    b.sw("no v1 entry", ["malformed"], "malformed_header", signature="v2," + mac(SW, S1, ts, BODY))
    b.sw(
        "more than 32 entries",
        ["malformed", "bounds"],
        "malformed_header",
        signature=" ".join([sig] + [f"v2,{i}" for i in range(40)]),
    )
    b.sw(
        "a header longer than 8192 characters",
        ["malformed", "bounds"],
        "malformed_header",
        signature=sig + " v2," + "a" * 8200,
    )
    b.sw(
        "webhook-id appears twice with different case",
        ["malformed", "header-case"],
        "malformed_header",
        headers={"webhook-id": MSG_ID, "Webhook-Id": MSG_ID, "webhook-timestamp": ts, "webhook-signature": sig},
    )
    # timestamps
    b.sw("one second past the tolerance (old)", ["timestamp", "tolerance"], "timestamp_too_old", ts=str(NOW - TOL - 1))
    b.sw(
        "one second past the tolerance (future)",
        ["timestamp", "tolerance"],
        "timestamp_in_future",
        ts=str(NOW + TOL + 1),
    )
    # mismatch
    b.sw("wrong secret", ["mismatch"], "signature_mismatch", sign_with=[S2])
    b.add(
        SW,
        "body changed",
        ["mismatch", "tamper"],
        {"webhook-id": MSG_ID, "webhook-timestamp": ts, "webhook-signature": sig},
        BODY.replace(b"1999", b"1998"),
        [S1],
        "signature_mismatch",
    )
    b.sw(
        "the message id changed after signing",
        ["mismatch", "tamper"],
        "signature_mismatch",
        headers={"webhook-id": MSG_ID + "x", "webhook-timestamp": ts, "webhook-signature": sig},
    )
    b.sw(
        "the timestamp changed after signing",
        ["mismatch", "tamper"],
        "signature_mismatch",
        headers={"webhook-id": MSG_ID, "webhook-timestamp": str(NOW - 1), "webhook-signature": sig},
    )
    value = sig[3:]
    b.sw(
        "signature without its base64 padding",
        ["mismatch", "encoding"],
        "signature_mismatch",
        signature="v1," + value.rstrip("="),
    )
    b.sw(
        "signature truncated to 31 bytes",
        ["mismatch", "length"],
        "signature_mismatch",
        signature="v1," + b64(base64.b64decode(value)[:31]),
    )
    b.sw(
        "signature extended to 33 bytes",
        ["mismatch", "length"],
        "signature_mismatch",
        signature="v1," + b64(base64.b64decode(value) + b"\x00"),
    )
    b.sw(
        "signature in hex instead of base64",
        ["mismatch", "encoding"],
        "signature_mismatch",
        signature="v1," + base64.b64decode(value).hex(),
    )
    body_alpha, sig_alpha = sig_with_char(SW, "+/")
    urlsafe = sig_alpha.replace("+", "-").replace("/", "_")
    b.sw(
        "signature in the URL-safe base64 alphabet",
        ["mismatch", "encoding"],
        "signature_mismatch",
        body=body_alpha,
        signature="v1," + urlsafe,
    )
    last = value[42]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    noncanonical = value[:42] + alphabet[alphabet.index(last) + 1] + "="
    b.sw(
        "non-canonical base64 (non-zero padding bits)",
        ["mismatch", "encoding"],
        "signature_mismatch",
        signature="v1," + noncanonical,
    )
    b.sw("an empty v1 value", ["mismatch", "parsing"], "signature_mismatch", signature="v1,")
    b.sw(
        "signed with the hookseal-v1 key derivation (the secret's UTF-8 bytes)",
        ["mismatch"],
        "signature_mismatch",
        signature="v1," + b64(hmac.new(S1.encode(), content(SW, ts, BODY), hashlib.sha256).digest()),
    )
    # configuration
    b.sw(
        "a secret that is not base64",
        ["configuration", "secret"],
        "invalid_configuration",
        receive_with=["whsec_not*base64!"],
    )
    # Any key length from one byte verifies (contract 1): the specification asks senders for
    # 24 to 64 bytes, but its own libraries verify with shorter and longer keys.
    for size in (1, 23, 65, 100):
        short = secret(size + 10, size)
        b.sw(f"a secret of {size} bytes", ["valid", "secret"], None, sign_with=[short], receive_with=[short])
    unpadded = secret(40, 23)[6:].rstrip("=")
    b.sw(
        "a secret of 23 bytes, unpadded and without whsec_",
        ["valid", "secret"],
        None,
        sign_with=[unpadded],
        receive_with=[unpadded],
    )
    b.sw(
        "a secret of 23 bytes: a signature under another 23-byte key matches nothing",
        ["mismatch", "secret"],
        "signature_mismatch",
        sign_with=[secret(41, 23)],
        receive_with=[secret(40, 23)],
    )
    b.sw(
        "a secret that is not base64 (padding first)",
        ["configuration", "secret"],
        "invalid_configuration",
        receive_with=["whsec_===="],
    )
    b.sw("'whsec_' alone", ["configuration", "secret"], "invalid_configuration", receive_with=["whsec_"])
    b.sw("an empty secret", ["configuration", "secret"], "invalid_configuration", receive_with=[""])
    b.sw("no secrets", ["configuration"], "invalid_configuration", receive_with=[])


def ed25519_cases(b: Builder) -> None:
    ts = str(NOW)
    f = ["ed25519"]
    # hookseal-v1
    va = ed(V1, SEED, ts, BODY)
    hv = mac(V1, S1, ts, BODY)
    b.v1("v1a only, receiver holds the public key", [*f, "valid"], None, receive_with=[PK1], header=f"t={ts},v1a={va}")
    b.v1(
        "v1 and v1a side by side, receiver holds only the HMAC secret",
        [*f, "valid", "migration"],
        None,
        receive_with=[S1],
        header=f"t={ts},v1={hv},v1a={va}",
    )
    b.v1(
        "v1 and v1a side by side, receiver holds only the public key",
        [*f, "valid", "migration"],
        None,
        receive_with=[PK1],
        header=f"t={ts},v1={hv},v1a={va}",
    )
    b.v1(
        "receiver holds both kinds; only the v1a signature is right",
        [*f, "valid", "migration"],
        None,
        receive_with=[S2, PK1],
        header=f"t={ts},v1={hv},v1a={va}",
    )
    b.v1(
        "two v1a signatures (key rotation), receiver holds the second key",
        [*f, "valid", "rotation"],
        None,
        receive_with=[PK2],
        header=f"t={ts},v1a={va},v1a={ed(V1, SEED2, ts, BODY)}",
    )
    b.v1(
        "v1a only, receiver holds only an HMAC secret",
        [*f, "malformed"],
        "malformed_header",
        receive_with=[S1],
        header=f"t={ts},v1a={va}",
    )
    b.v1(
        "v1 only, receiver holds only a public key",
        [*f, "malformed"],
        "malformed_header",
        receive_with=[PK1],
        header=f"t={ts},v1={hv}",
    )
    b.v1(
        "v1a with the wrong public key",
        [*f, "mismatch"],
        "signature_mismatch",
        receive_with=[PK2],
        header=f"t={ts},v1a={va}",
    )
    b.add(
        V1,
        "v1a over a tampered body",
        [*f, "mismatch", "tamper"],
        {"Hookseal-Signature": f"t={ts},v1a={va}"},
        BODY + b" ",
        [PK1],
        "signature_mismatch",
    )
    b.v1(
        "v1a with the timestamp changed after signing",
        [*f, "mismatch", "tamper"],
        "signature_mismatch",
        receive_with=[PK1],
        ts=str(NOW - 1),
        header=f"t={NOW - 1},v1a={va}",
    )
    b.v1(
        "v1a value that is not base64",
        [*f, "mismatch", "encoding"],
        "signature_mismatch",
        receive_with=[PK1],
        header=f"t={ts},v1a=not-base64!",
    )
    b.v1(
        "v1a value of 63 bytes",
        [*f, "mismatch", "length"],
        "signature_mismatch",
        receive_with=[PK1],
        header=f"t={ts},v1a={b64(base64.b64decode(va)[:63])}",
    )
    b.v1(
        "v1a value hex-encoded",
        [*f, "mismatch", "encoding"],
        "signature_mismatch",
        receive_with=[PK1],
        header=f"t={ts},v1a={base64.b64decode(va).hex()}",
    )
    b.v1(
        "v1a one second past the tolerance",
        [*f, "timestamp"],
        "timestamp_too_old",
        receive_with=[PK1],
        ts=str(NOW - TOL - 1),
        header=f"t={NOW - TOL - 1},v1a={ed(V1, SEED, str(NOW - TOL - 1), BODY)}",
    )
    b.v1(
        "a public key that is not base64",
        [*f, "configuration"],
        "invalid_configuration",
        receive_with=["whpk_***"],
        header=f"t={ts},v1a={va}",
    )
    b.v1(
        "a public key of 31 bytes",
        [*f, "configuration"],
        "invalid_configuration",
        receive_with=["whpk_" + b64(bytes(31))],
        header=f"t={ts},v1a={va}",
    )
    # standard-webhooks
    sa = ed(SW, SEED, ts, BODY)
    sv = mac(SW, S1, ts, BODY)
    b.sw("v1a only, receiver holds the public key", [*f, "valid"], None, receive_with=[PK1], signature=f"v1a,{sa}")
    b.sw(
        "v1 and v1a side by side, receiver holds only the HMAC secret",
        [*f, "valid", "migration"],
        None,
        receive_with=[S1],
        signature=f"v1,{sv} v1a,{sa}",
    )
    b.sw(
        "v1 and v1a side by side, receiver holds only the public key",
        [*f, "valid", "migration"],
        None,
        receive_with=[PK1],
        signature=f"v1,{sv} v1a,{sa}",
    )
    b.sw(
        "receiver holds an HMAC secret and an unrelated public key: the v1 entry matches",
        [*f, "valid"],
        None,
        receive_with=[S1, PK2],
        signature=f"v1,{sv} v1a,{sa}",
    )
    b.sw(
        "v1a only, receiver holds only an HMAC secret",
        [*f, "malformed"],
        "malformed_header",
        receive_with=[S1],
        signature=f"v1a,{sa}",
    )
    b.sw(
        "v1 only, receiver holds only a public key",
        [*f, "malformed"],
        "malformed_header",
        receive_with=[PK1],
        signature=f"v1,{sv}",
    )
    b.sw(
        "v1a with the wrong public key",
        [*f, "mismatch"],
        "signature_mismatch",
        receive_with=[PK2],
        signature=f"v1a,{sa}",
    )
    b.sw(
        "v1a with the message id changed",
        [*f, "mismatch", "tamper"],
        "signature_mismatch",
        receive_with=[PK1],
        msg_id=MSG_ID + "x",
        signature=f"v1a,{sa}",
    )
    b.sw(
        "v1a with the timestamp changed",
        [*f, "mismatch", "tamper"],
        "signature_mismatch",
        receive_with=[PK1],
        ts=str(NOW + 1),
        signature=f"v1a,{sa}",
    )
    b.add(
        SW,
        "v1a over a tampered body",
        [*f, "mismatch", "tamper"],
        {"webhook-id": MSG_ID, "webhook-timestamp": ts, "webhook-signature": f"v1a,{sa}"},
        b"{}",
        [PK1],
        "signature_mismatch",
    )
    b.sw(
        "v1a value without padding",
        [*f, "mismatch", "encoding"],
        "signature_mismatch",
        receive_with=[PK1],
        signature=f"v1a,{sa.rstrip('=')}",
    )


NOTES = {
    "valid": "The request must be accepted.",
    "body": "Exercises body bytes: empty, unicode, whitespace, non-UTF-8, large, a batch (JSON array).",
    "rotation": "Several signatures in the header and/or several secrets at the receiver.",
    "prefix": "A custom hookseal-v1 header prefix.",
    "header-case": "Header names are matched case-insensitively; a name twice in different case is malformed.",
    "tolerance": "The exact tolerance boundaries: +-tolerance accepted, one second past rejected.",
    "timestamp": "Timestamp syntax (1 to 18 ASCII digits) and window.",
    "parsing": "The header grammar: split on ',' (or ' '), each element at its first '=' (or ','), no trimming.",
    "secret": "Secret forms each profile accepts.",
    "stripe": "Byte-compatible with Stripe's scheme.",
    "interop": "Published by the Standard Webhooks specification.",
    "missing": "A required header is absent or empty: missing_header.",
    "malformed": "A header present but unparseable: malformed_header.",
    "bounds": "Work bounds: more than 8192 characters or 32 elements is malformed.",
    "mismatch": "No signature matches: signature_mismatch.",
    "tamper": "Body, timestamp, id or signature changed after signing.",
    "replay": "A captured signature replayed with a fresh timestamp.",
    "encoding": "A signature in the wrong encoding (case, alphabet, padding, hex vs base64) matches nothing.",
    "length": "A truncated or extended signature matches nothing.",
    "configuration": "The verifier refuses its configuration: invalid_configuration.",
    "migration": "v1 (HMAC) and v1a (Ed25519) side by side, as during a migration.",
    "ed25519": "v1a Ed25519 signatures (contract 2.3): needs an Ed25519 implementation.",
}


def build() -> dict[str, Any]:
    b = Builder()
    hookseal_v1_cases(b)
    standard_cases(b)
    ed25519_cases(b)
    groups = []
    tc = 0
    for profile in (V1, SW):
        tests = []
        for case in b.groups[profile]:
            tc += 1
            tests.append({"tcId": tc, **case})
        groups.append({"profile": profile, "tests": tests})
    for case in (t for g in groups for t in g["tests"]):
        unknown = set(case["flags"]) - set(NOTES)
        assert not unknown, unknown
    return {
        "algorithm": "hookseal webhook signatures (hookseal-v1, standard-webhooks, v1a Ed25519)",
        "schema": "vectors.schema.json",
        "version": "1",
        "generatedBy": "sdk/vectors/generate.py",
        "numberOfTests": tc,
        "header": [
            "Each case's request is a contract 5.1 verifier-adapter request; expected is the answer.",
            "Compare only 'ok' and 'error'. Cases flagged ed25519 need an Ed25519 implementation.",
        ],
        "notes": NOTES,
        "testGroups": groups,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if vectors.json is stale")
    args = parser.parse_args()
    doc = build()
    text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is stale: run `make generate`", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({doc['numberOfTests']} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
