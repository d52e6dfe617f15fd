"""Hypothesis properties of signing and verifying, in both profiles."""

from __future__ import annotations

import base64

import hookseal
import pytest
from hookseal.keys import parse_verify_key
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

PROFILES = st.sampled_from(hookseal.PROFILES)
BODIES = st.one_of(st.binary(max_size=2048), st.text(max_size=512).map(lambda t: t.encode("utf-8", "surrogatepass")))
TIMESTAMPS = st.integers(min_value=0, max_value=10**12)
PREFIXES = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True)
TOLERANCES = st.integers(min_value=0, max_value=10**6)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def secrets_for(draw: st.DrawFn, profile: str) -> str:
    if profile == "hookseal-v1" and draw(st.booleans()):
        text = draw(st.text(min_size=1, max_size=64))
        assume(text != "whsec_" and not text.startswith(("whpk_", "whsk_")))
        return text
    raw = draw(st.binary(min_size=1, max_size=100))
    prefix = draw(st.sampled_from(["whsec_", ""]))
    return prefix + base64.b64encode(raw).decode()


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[str, str, bytes, int, str]:
    profile = draw(PROFILES)
    return profile, draw(secrets_for(profile)), draw(BODIES), draw(TIMESTAMPS), draw(PREFIXES)


def _sign(profile: str, secrets: object, body: bytes, ts: int, prefix: str) -> dict[str, str]:
    return hookseal.sign(body, secrets, profile=profile, timestamp=ts, msg_id="msg_1", header_prefix=prefix)  # type: ignore[arg-type]


@FAST
@given(deliveries(), TOLERANCES)
def test_sign_then_verify_round_trips(delivery: tuple[str, str, bytes, int, str], tolerance: int) -> None:
    profile, secret, body, ts, prefix = delivery
    headers = _sign(profile, secret, body, ts, prefix)
    hookseal.Webhook(secret, profile=profile, header_prefix=prefix, tolerance=tolerance).verify(body, headers, now=ts)


@FAST
@given(deliveries(), st.data())
def test_any_single_byte_change_to_the_body_rejects(
    delivery: tuple[str, str, bytes, int, str], data: st.DataObject
) -> None:
    profile, secret, body, ts, prefix = delivery
    assume(body)
    headers = _sign(profile, secret, body, ts, prefix)
    i = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    changed = body[:i] + bytes([body[i] ^ flip]) + body[i + 1 :]
    with pytest.raises(hookseal.SignatureMismatchError):
        hookseal.Webhook(secret, profile=profile, header_prefix=prefix).verify(changed, headers, now=ts)


@FAST
@given(deliveries(), st.data())
def test_any_single_character_change_to_the_signature_header_rejects(
    delivery: tuple[str, str, bytes, int, str], data: st.DataObject
) -> None:
    profile, secret, body, ts, prefix = delivery
    headers = _sign(profile, secret, body, ts, prefix)
    name = f"{prefix}-Signature" if profile == "hookseal-v1" else "webhook-signature"
    value = headers[name]
    i = data.draw(st.integers(0, len(value) - 1))
    replacement = data.draw(st.characters(codec="ascii").filter(lambda c: c != value[i]))
    headers[name] = value[:i] + replacement + value[i + 1 :]
    with pytest.raises(hookseal.WebhookVerificationError):
        hookseal.Webhook(secret, profile=profile, header_prefix=prefix).verify(body, headers, now=ts)


@FAST
@given(deliveries(), st.integers(1, 10**6))
def test_a_changed_timestamp_rejects(delivery: tuple[str, str, bytes, int, str], shift: int) -> None:
    profile, secret, body, ts, prefix = delivery
    headers = _sign(profile, secret, body, ts, prefix)
    fresh = ts + shift
    if profile == "hookseal-v1":
        name = f"{prefix}-Signature"
        headers[name] = headers[name].replace(f"t={ts},", f"t={fresh},", 1)
    else:
        headers["webhook-timestamp"] = str(fresh)
    with pytest.raises(hookseal.SignatureMismatchError):
        hookseal.Webhook(secret, profile=profile, header_prefix=prefix, tolerance=10**7).verify(
            body, headers, now=fresh
        )


@FAST
@given(PROFILES, st.data(), BODIES, TIMESTAMPS)
def test_rotation_combinations(profile: str, data: st.DataObject, body: bytes, ts: int) -> None:
    old, new, other = (data.draw(secrets_for(profile)) for _ in range(3))
    assume(len({parse_verify_key(s, profile) for s in (old, new, other)}) == 3)  # distinct key material
    signing = data.draw(st.permutations([old, new]))
    headers = _sign(profile, signing, body, ts, "Hookseal")
    for held in ([old], [new], [other, new], [old, other], [new, old]):
        hookseal.Webhook(held, profile=profile).verify(body, headers, now=ts)
    with pytest.raises(hookseal.SignatureMismatchError):
        hookseal.Webhook([other], profile=profile).verify(body, headers, now=ts)


@FAST
@given(deliveries(), TOLERANCES)
def test_exact_tolerance_boundaries_both_directions(delivery: tuple[str, str, bytes, int, str], tol: int) -> None:
    profile, secret, body, ts, prefix = delivery
    headers = _sign(profile, secret, body, ts, prefix)
    wh = hookseal.Webhook(secret, profile=profile, header_prefix=prefix, tolerance=tol)
    wh.verify(body, headers, now=ts + tol)
    wh.verify(body, headers, now=ts - tol)
    with pytest.raises(hookseal.TimestampTooOldError):
        wh.verify(body, headers, now=ts + tol + 1)
    with pytest.raises(hookseal.TimestampInFutureError):
        wh.verify(body, headers, now=ts - tol - 1)
