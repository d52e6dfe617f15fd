"""Signatures are compared in constant time (contract 3).

Python, Node and Ruby adapters are observed directly: a preload wraps the runtime's
constant-time primitive and logs every call. Go and PHP adapters get a source check. The
dudect-style statistical test is opt-in (``--timing-stats N``).
"""

from __future__ import annotations

import random
import time

import hookseal
import pytest
from hookseal.profiles import HOOKSEAL_V1, STANDARD_WEBHOOKS

from hookseal_conformance import cases as c
from hookseal_conformance import timing
from hookseal_conformance.report import ConformanceFailure, bug_report
from hookseal_conformance.verifier import VerifierAdapter

from .test_verifier_properties import prop

# Operand sizes of a v1 signature comparison: hex text or raw digest (v1), raw digest or
# base64 text (standard-webhooks).
_SIZES = {HOOKSEAL_V1: {64, 32}, STANDARD_WEBHOOKS: {32, 44}}
_BODY = b'{"id":"evt_timing","type":"invoice.paid","data":{"amount":100}}'


def _delivery(profile: str, keys: list[str], receiver: list[str]) -> c.Delivery:
    now = int(time.time())
    headers = c.sign(profile, _BODY, keys, timestamp=now, msg_id="msg_timing", prefix=None)
    return c.Delivery(profile, _BODY, tuple(keys), tuple(receiver), str(now), now, 300, None,
                      "msg_timing", headers)


def _observed(verifier: VerifierAdapter, case: c.Case, what: str) -> list[timing.Call]:
    log = verifier.compare_log
    assert log is not None
    log.mark()
    verifier.check(case, what)
    return log.calls_since_mark()


def test_signatures_compared_in_constant_time(
    request: pytest.FixtureRequest, verifier: VerifierAdapter, profile: str
) -> None:
    """Every signature check goes through the runtime's constant-time primitive."""
    name = prop(profile, "compares signatures in constant time")
    a, b = hookseal.generate_secret(), hookseal.generate_secret()
    good = _delivery(profile, [a], [a])
    calls_ok = [] if verifier.compare_log is None else _observed(
        verifier, good.case(c.OK, "valid"), name)
    log = verifier.compare_log
    runtime = timing.runtime_of(verifier.command)
    if log is None or not log.runtimes:
        if log is not None and runtime in timing.OBSERVED_RUNTIMES:
            raise ConformanceFailure(bug_report(
                prop=name, expected=f"the {runtime} comparison probe to load in the adapter",
                answered="no probe reported loading (PYTHONPATH / NODE_OPTIONS / RUBYOPT "
                "cleared or ignored?)", command=verifier.command))
        files = timing.source_files(verifier.command,
                                    request.config.getoption("--hookseal-source"))
        verdict = timing.source_check(files)
        if verdict is None:
            pytest.skip("cannot observe the comparison: the adapter is not a Python, Node or "
                        "Ruby program and no Go or PHP source was found (name it with "
                        "--source PATH, or run the statistical test with --timing-stats N)")
        if not verdict.ok:
            raise ConformanceFailure(bug_report(
                prop=name + f" (source check, {verdict.language})",
                expected="signatures compared only with hmac.Equal / "
                "subtle.ConstantTimeCompare (Go) or hash_equals (PHP)",
                answered="the source compares otherwise", extra="\n".join(verdict.evidence),
                command=verifier.command))
        return
    sizes = _SIZES[profile]
    fitting = [x for x in calls_ok if x.size_a in sizes and x.size_b in sizes]
    if not fitting:
        raise ConformanceFailure(bug_report(
            prop=name, expected="at least one constant-time comparison of signature-sized "
            f"operands ({sorted(sizes)} bytes) while verifying a valid delivery",
            answered=f"{len(calls_ok)} recorded calls: {calls_ok}",
            why="a verifier that compares with == or a loop never calls the primitive",
            request=good.case(c.OK, "").request, command=verifier.command))
    # Full mismatch: two signatures, two receiver secrets -> every pair must be compared.
    x, y = hookseal.generate_secret(), hookseal.generate_secret()
    signed = _delivery(profile, [x, y], [a, b])
    bad = [(k, c.tamper_signature(profile, k, v, 5, 1)) for k, v in signed.signatures()]
    case = signed.case(c.MISMATCH, "two changed signatures against two receiver secrets",
                       headers=signed.with_signature(signed.signature_value(bad)))
    calls_bad = [z for z in _observed(verifier, case, name)
                 if z.size_a in sizes and z.size_b in sizes]
    if len(calls_bad) < 4:
        raise ConformanceFailure(bug_report(
            prop=name, expected="at least 4 constant-time comparisons (2 signatures x 2 "
            "secrets) for a request that matches nothing",
            answered=f"{len(calls_bad)} signature-sized calls recorded: {calls_bad}",
            why="each candidate signature must be compared with each expected one through "
            "the primitive; fewer calls mean some comparisons used == or `in`",
            request=case.request, command=verifier.command))


def test_timing_statistics(request: pytest.FixtureRequest, verifier: VerifierAdapter,
                           profile: str) -> None:
    """Opt-in dudect-style test: early- vs late-mismatching signatures, Welch's t-test."""
    samples = int(request.config.getoption("--hookseal-timing-stats"))
    if samples <= 0:
        pytest.skip("statistical timing test not asked for (--timing-stats N)")
    secret = hookseal.generate_secret()
    d = _delivery(profile, [secret], [secret])
    ((version, value),) = d.signatures()
    n = 64 if profile == HOOKSEAL_V1 else 32
    early = d.case(c.MISMATCH, "early", headers=d.with_signature(
        d.signature_value([(version, c.tamper_signature(profile, version, value, 0, 1))])))
    late = d.case(c.MISMATCH, "late", headers=d.with_signature(
        d.signature_value([(version, c.tamper_signature(profile, version, value, n - 1, 1))])))
    for _ in range(50):  # warm up
        verifier.ask(early.request)
        verifier.ask(late.request)
    times: dict[str, list[float]] = {"early": [], "late": []}
    order = ["early"] * samples + ["late"] * samples
    random.Random(0).shuffle(order)  # noqa: S311  (test order, not a secret)
    for which in order:
        req = early.request if which == "early" else late.request
        start = time.perf_counter()
        verifier.ask(req)
        times[which].append(time.perf_counter() - start)
    result = timing.dudect_verdict(times["early"], times["late"])
    print(f"\n[{profile}] {result.describe()}")
    if result.leak:
        raise ConformanceFailure(bug_report(
            prop=prop(profile, "timing does not depend on where a signature differs"),
            expected="|t| <= 4.5", answered=f"|t| = {result.max_abs_t:.2f}",
            extra=result.describe(), request=early.request, command=verifier.command))
