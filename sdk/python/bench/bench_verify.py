"""Benchmark: hookseal's verify against the floor and three rival libraries, in one run.

For each body size, every contender verifies an equivalent valid request many times; the
rounds are interleaved so machine noise hits all of them alike, and the table shows the
median ns per call and (per-round, paired) ratios against:

* the floor: ``hmac.new(...)`` + ``hmac.compare_digest`` over the same signed bytes (what
  any verifier must at least do), and one bare ``hmac.digest`` (the stricter target); the
  ``standard-webhooks`` rows are measured against one bare ``hmac.digest`` of *their*
  signed bytes (``<id>.<ts>.<body>`` under the decoded key), in the same rounds;
* ``stripe`` (``WebhookSignature.verify_header``), ``svix`` and ``standardwebhooks``
  (``Webhook.verify``; note both of those also parse the JSON body).

It also measures ``construct_event`` (verify and parse), how cheaply a stale or malformed
request is rejected in both profiles, and Ed25519 (``v1a``) verify and sign against bare
``cryptography`` calls.

Run with ``make bench`` (or ``python sdk/python/bench/bench_verify.py --quick``; add
``--only standard-webhooks`` for just that profile's rows and their floors).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import platform
import statistics
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hookseal

SIZES = {"200 B": 200, "1 KiB": 1024, "64 KiB": 65536, "1 MiB": 1 << 20}
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
RESULTS = Path(__file__).with_name("RESULTS.md")
# CPU time of this thread, not wall time: on a shared, noisy machine time spent
# descheduled would otherwise land on whichever contender happened to be running.
CLOCK = time.thread_time
FLOOR = "floor: hmac.new + compare_digest"
DIGEST = "one bare hmac.digest (target <= 1.15x)"
OURS = "hookseal verify (hookseal-v1)"
SW = "standard-webhooks"
DIGEST_SW = "one bare hmac.digest, standard-webhooks content"
OURS_SW = "hookseal verify (standard-webhooks)"
MSG_ID = "msg_2bLhX0m0vE6AvOjdyn1mZ5lrnR8"  # a realistic webhook-id (27 characters)
TARGETS_SW = "target: verify <= 1.2x at 1 KiB, <= 1.05x from 64 KiB"


def body_of(size: int) -> bytes:
    head = b'{"id":"evt_1","type":"invoice.paid","data":{"blob":"'
    tail = b'"}}'
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


def contenders(body: bytes, now: int, only_sw: bool = False) -> dict[str, Callable[[], Any]]:
    v1_headers = hookseal.sign(body, SECRET, timestamp=now, msg_id=MSG_ID, event_type="invoice.paid")
    sw_headers = hookseal.sign(body, SECRET, profile=SW, timestamp=now, msg_id=MSG_ID)
    key = SECRET.encode()
    signed = b"%d." % now + body
    sw_key = base64.b64decode(SECRET[len("whsec_"):])
    sw_signed = f"{MSG_ID}.{now}.".encode() + body
    expected = v1_headers["Hookseal-Signature"].split("v1=")[1]
    wh = hookseal.Webhook(SECRET)
    wh_sw = hookseal.Webhook(SECRET, profile=SW)

    def floor() -> None:
        hmac.compare_digest(hmac.new(key, signed, hashlib.sha256).hexdigest(), expected)

    found: dict[str, Callable[[], Any]] = {
        FLOOR: floor,
        DIGEST: lambda: hmac.digest(key, signed, "sha256"),
        OURS: lambda: wh.verify(body, v1_headers, now=now),
        "hookseal construct_event (hookseal-v1)": lambda: wh.construct_event(body, v1_headers, now=now),
        DIGEST_SW: lambda: hmac.digest(sw_key, sw_signed, "sha256"),
        OURS_SW: lambda: wh_sw.verify(body, sw_headers, now=now),
        "hookseal construct_event (standard-webhooks)": lambda: wh_sw.construct_event(body, sw_headers, now=now),
    }
    if only_sw:
        return {name: func for name, func in found.items() if SW in name or name in (FLOOR, DIGEST, OURS)}
    try:
        import stripe

        header = v1_headers["Hookseal-Signature"]
        text = body.decode()
        found["stripe verify_header"] = lambda: stripe.WebhookSignature.verify_header(text, header, SECRET, 10**10)
    except ImportError:
        pass
    for name in ("standardwebhooks", "svix"):
        try:
            if name == "svix":
                from svix.webhooks import Webhook as Rival
            else:
                from standardwebhooks import Webhook as Rival
        except ImportError:
            continue
        rival = Rival(SECRET)
        # These libraries check against the wall clock only: sign at the real time.
        fresh = hookseal.sign(body, SECRET, profile="standard-webhooks", msg_id="msg_1")
        found[f"{name} verify (parses JSON too)"] = lambda r=rival, h=fresh: r.verify(body, h)
    return found


def measure(funcs: dict[str, Callable[[], Any]], budget: float, rounds: int) -> dict[str, list[float]]:
    """ns per call of each function in each of ``rounds`` interleaved rounds."""
    numbers = {}
    for name, func in funcs.items():
        func()  # warm up, and fail loudly if a contender rejects its request
        n, took = timeit.Timer(func, timer=CLOCK).autorange()
        numbers[name] = max(1, int(n * budget / max(took, 1e-9) / rounds))
    samples: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(rounds):
        for name, func in funcs.items():
            took = timeit.Timer(func, timer=CLOCK).timeit(numbers[name])
            samples[name].append(took / numbers[name] * 1e9)
    return samples


def median(samples: dict[str, list[float]], name: str) -> float:
    """Median ns per call of one contender."""
    return statistics.median(samples[name])


def ratio(samples: dict[str, list[float]], name: str, base: str) -> float:
    """Median over rounds of ``name``'s time over ``base``'s time in the same round.

    Paired per round, so a slow stretch of a shared machine (which hits every contender
    of that round alike) cancels out instead of widening the spread of the ratio.
    """
    return statistics.median(a / b for a, b in zip(samples[name], samples[base]))


def rejection_costs(now: int, budget: float, rounds: int, profile: str = "hookseal-v1") -> dict[str, list[float]]:
    """Valid, stale and malformed requests of one profile (1 KiB), the same verifier for all."""
    body = body_of(1024)
    wh = hookseal.Webhook(SECRET, profile=profile)
    valid = hookseal.sign(body, SECRET, profile=profile, timestamp=now, msg_id=MSG_ID)
    stale = hookseal.sign(body, SECRET, profile=profile, timestamp=now - 3600, msg_id=MSG_ID)
    if profile == SW:
        cases = {
            "malformed timestamp": {**valid, "webhook-timestamp": "abc"},
            "malformed signature (no comma)": {**valid, "webhook-signature": "v1" + valid["webhook-signature"][3:]},
            "missing webhook-id": {k: v for k, v in valid.items() if k != "webhook-id"},
        }
    else:
        cases = {"malformed": {"Hookseal-Signature": "t=abc,v1=" + "0" * 64}}

    def reject(headers: dict[str, str]) -> Callable[[], None]:
        def run() -> None:
            try:  # noqa: SIM105 - contextlib.suppress would add its own cost to the timing
                wh.verify(body, headers, now=now)
            except hookseal.WebhookVerificationError:
                pass

        return run

    funcs = {"valid": reject(valid), "stale": reject(stale)}
    funcs.update((name, reject(headers)) for name, headers in cases.items())
    return measure(funcs, budget, rounds)


def ed25519_costs(now: int, budget: float, rounds: int) -> dict[str, list[float]] | None:
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    except ImportError:
        return None
    body = body_of(1024)
    signing, public = hookseal.generate_signing_key()
    seed = base64.b64decode(signing[5:])
    private = Ed25519PrivateKey.from_private_bytes(seed)
    pub = private.public_key()
    headers = hookseal.sign(body, signing, timestamp=now)
    raw_sig = private.sign(b"%d." % now + body)
    wh = hookseal.Webhook(public)
    return measure(
        {
            "bare cryptography verify": lambda: pub.verify(raw_sig, b"%d." % now + body),
            "hookseal verify v1a": lambda: wh.verify(body, headers, now=now),
            "bare cryptography sign": lambda: private.sign(b"%d." % now + body),
            "hookseal sign v1a": lambda: hookseal.sign(body, signing, timestamp=now),
        },
        budget,
        rounds,
    )


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    parser = argparse.ArgumentParser(description="hookseal verify benchmark")
    parser.add_argument("--quick", action="store_true", help="small budget (a smoke run)")
    parser.add_argument("--write", action="store_true", help=f"also write the tables to {RESULTS.name}")
    parser.add_argument("--only", choices=[SW], help="only this profile's rows (with the hookseal-v1 floor rows)")
    args = parser.parse_args()
    only_sw = args.only == SW
    budget, rounds = (0.02, 3) if args.quick else (0.3, 15)
    now = int(time.time())
    lines = [
        "# hookseal SDK benchmark",
        "",
        f"Machine: {machine()}. Thread CPU time over {rounds} interleaved rounds: ns/call is the median"
        " of the rounds; each ratio is the median of the per-round ratios. \"vs one hmac.digest\" is"
        " against the digest of the row's own profile: `<ts>.<body>` under the secret string for"
        " hookseal-v1, `<id>.<ts>.<body>` under the decoded key for standard-webhooks"
        f" ({TARGETS_SW}).",
        "",
    ]
    for label, size in SIZES.items():
        body = body_of(size)
        result = measure(contenders(body, now, only_sw), budget if size < (1 << 20) else budget * 2, rounds)
        lines += [f"## Verify, {label} body", "",
                  "| contender | ns/call | vs floor | vs one hmac.digest | vs hookseal verify |",
                  "|---|---:|---:|---:|---:|"]  # fmt: skip
        for name in result:
            digest = DIGEST_SW if SW in name else DIGEST
            lines.append(
                f"| {name} | {median(result, name):,.0f} | {ratio(result, name, FLOOR):.2f}x"
                f" | {ratio(result, name, digest):.2f}x | {ratio(result, name, OURS):.2f}x |"
            )
        lines.append("")
    for profile in (["hookseal-v1"] if not only_sw else []) + [SW]:
        rej = rejection_costs(now, budget, rounds, profile)
        lines += [f"## Rejecting cheaply ({profile}, 1 KiB)", "", "| request | ns | vs valid |", "|---|---:|---:|"]
        for name in rej:
            lines.append(f"| {name} | {median(rej, name):,.0f} | {ratio(rej, name, 'valid'):.2f}x |")
        lines.append("")
    ed = None if only_sw else ed25519_costs(now, budget, rounds)
    if ed is not None:
        lines += ["## Ed25519 (v1a), 1 KiB", "", "| operation | ns | vs bare cryptography |", "|---|---:|---:|"]
        for name in ed:
            base = "bare cryptography verify" if "verify" in name else "bare cryptography sign"
            lines.append(f"| {name} | {median(ed, name):,.0f} | {ratio(ed, name, base):.2f}x |")
        lines.append("")
    lines.append("Reproduce: `make bench` (writes this file with `--write`).")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        if only_sw:
            raise SystemExit("--write needs the full run (without --only)")
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
