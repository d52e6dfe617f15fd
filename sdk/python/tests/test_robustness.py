"""Hostile input: nothing but the documented errors escapes, and work stays bounded."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import hookseal
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

SECRET = hookseal.generate_secret()
_, PUBLIC = hookseal.generate_signing_key()
VERIFIERS = [
    hookseal.Webhook(SECRET),
    hookseal.Webhook([SECRET, PUBLIC]),
    hookseal.Webhook(SECRET, profile="standard-webhooks"),
    hookseal.Webhook([PUBLIC], profile="standard-webhooks"),
]
NAMES = ["Hookseal-Signature", "hookseal-signature", "webhook-id", "webhook-timestamp", "webhook-signature", "X-Other"]
TEXT = st.one_of(
    st.text(max_size=300),
    st.from_regex(r"(t=[0-9]{0,20}|v1a?=[0-9a-zA-Z+/=]{0,90}|v[0-9],[^ ]{0,50}|[ ,=]){0,12}", fullmatch=True),
)
VALUES = st.one_of(TEXT, st.binary(max_size=200), st.integers(), st.none())
HEADERS = st.one_of(
    st.dictionaries(st.one_of(st.sampled_from(NAMES), st.text(max_size=20)), VALUES, max_size=6),
    st.lists(st.tuples(st.one_of(st.sampled_from(NAMES), st.binary(max_size=20)), VALUES), max_size=6),
    st.one_of(st.none(), st.integers(), st.text(max_size=20), st.binary(max_size=20)),
)
BODIES: st.SearchStrategy[Any] = st.one_of(st.binary(max_size=300), st.text(max_size=300), st.none(), st.integers())


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(VERIFIERS), HEADERS, BODIES, st.one_of(st.none(), st.integers(-(10**20), 10**20)))
def test_arbitrary_input_raises_only_documented_errors(wh: hookseal.Webhook, headers: Any, body: Any, now: Any) -> None:
    # Anything else escaping (TypeError, IndexError, ...) fails the test.
    with contextlib.suppress(hookseal.WebhookVerificationError, hookseal.InvalidPayloadError):
        wh.construct_event(body, headers, now=now)


def _elapsed(wh: hookseal.Webhook, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    with pytest.raises(hookseal.MalformedHeaderError):
        wh.verify(b"{}", headers, now=0)
    return time.perf_counter() - start


@pytest.mark.parametrize("profile", hookseal.PROFILES)
def test_one_megabyte_header_is_rejected_without_parsing_it(profile: str) -> None:
    wh = hookseal.Webhook(SECRET, profile=profile)
    huge = "t=0," + "v1=" + "a" * 1_000_000
    headers = {"Hookseal-Signature": huge, "webhook-id": "m", "webhook-timestamp": "0", "webhook-signature": huge}
    # Generous bound: the point is that it is not proportional to parsing 1 MB many times.
    assert _elapsed(wh, headers) < 0.5


@pytest.mark.parametrize("profile", hookseal.PROFILES)
def test_ten_thousand_signatures_are_rejected_not_checked(profile: str) -> None:
    wh = hookseal.Webhook(SECRET, profile=profile)
    v1 = "t=0," + ",".join(["v1=" + "0" * 64] * 10_000)
    std = " ".join(["v1," + "A" * 43 + "="] * 10_000)
    headers = {"Hookseal-Signature": v1, "webhook-id": "m", "webhook-timestamp": "0", "webhook-signature": std}
    assert _elapsed(wh, headers) < 0.5


def test_element_count_is_capped_even_when_the_header_is_short() -> None:
    with pytest.raises(hookseal.MalformedHeaderError, match="elements"):
        hookseal.Webhook(SECRET).verify(b"", {"Hookseal-Signature": "t=0" + "," * 40}, now=0)


def test_bytes_and_str_mixed_under_python_bb_raise_only_documented_errors() -> None:
    # ``python -bb`` turns every str/bytes comparison into a BytesWarning exception; bytes
    # header names and values must still come out as verification results.
    script = """
import hookseal
wh = hookseal.Webhook("whsec_" + "A" * 43 + "=")
good = hookseal.sign(b"{}", "whsec_" + "A" * 43 + "=", timestamp=100)["Hookseal-Signature"]
cases = [
    {b"Hookseal-Signature": good.encode()},
    {b"hookseal-signature": b""},
    {"Hookseal-Signature": b""},
    {b"X": "y", "Hookseal-Signature": good},
    [(b"Hookseal-Signature", good.encode()), ("X", b"")],
]
codes = []
for headers in cases:
    try:
        wh.verify(b"{}", headers, now=100)
        codes.append("ok")
    except hookseal.WebhookVerificationError as exc:
        codes.append(exc.code)
print(",".join(codes))
"""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-bb", "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["ok,missing_header,missing_header,ok,ok"]
