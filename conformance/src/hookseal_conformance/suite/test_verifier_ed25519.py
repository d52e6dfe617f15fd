"""``v1a`` (Ed25519) properties, in each profile, when the adapter verifies them (contract 2.3).

Skipped with a clear reason when a valid ``v1a`` delivery is not accepted, unless
``--require-ed25519`` makes that a failure.
"""

from __future__ import annotations

import base64

import hookseal
from hypothesis import given
from hypothesis import strategies as st

from hookseal_conformance import cases as c
from hookseal_conformance.verifier import VerifierAdapter

from .test_verifier_properties import _mutated, prop


@given(data=st.data())
def test_v1a_accepts_valid_deliveries(
    ed25519_verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """Signed with a ``whsk_`` key (maybe beside an HMAC secret); receiver holds ``whpk_``."""
    d = data.draw(c.deliveries(profile, ed25519=True, extra_hmac=data.draw(st.booleans())),
                  label="delivery")
    ed25519_verifier.check(
        d.case(c.OK, "a valid v1a signature for the public key the receiver holds"),
        prop(profile, "v1a: accepts every valid delivery"),
    )


@given(data=st.data())
def test_v1a_mixed_header_for_hmac_receiver(
    ed25519_verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """``v1`` and ``v1a`` side by side; the receiver holds only the HMAC secret."""
    d = data.draw(c.deliveries(profile, ed25519=True, extra_hmac=True), label="delivery")
    hmac_secret = next(k for k in d.signing_keys if not k.startswith("whsk_"))
    ed25519_verifier.check(
        d.case(c.OK, "the v1 signature matches the receiver's HMAC secret; v1a is ignored",
               secrets=[hmac_secret]),
        prop(profile, "v1a: a receiver with only the HMAC secret accepts a mixed header"),
    )


@given(data=st.data())
def test_v1a_rejects_changed_body(
    ed25519_verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """A body changed in one byte."""
    d = data.draw(c.deliveries(profile, ed25519=True), label="delivery")
    body = data.draw(_mutated(d.body), label="changed body")
    ed25519_verifier.check(
        d.case(c.MISMATCH, "the body differs from the signed one", body=body),
        prop(profile, "v1a: rejects a changed body"),
    )


@given(data=st.data())
def test_v1a_rejects_changed_timestamp(
    ed25519_verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """Another fresh timestamp: the signature covers it."""
    d = data.draw(c.deliveries(profile, ed25519=True, offset=0), label="delivery")
    other = str(d.now + data.draw(st.sampled_from([-1, 1])))
    ed25519_verifier.check(
        d.case(c.MISMATCH, "the timestamp is covered by the v1a signature",
               headers=d.with_timestamp_text(other)),
        prop(profile, "v1a: rejects a changed timestamp"),
    )


@given(data=st.data())
def test_v1a_rejects_changed_signature(
    ed25519_verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """The v1a signature with one bit flipped."""
    d = data.draw(c.deliveries(profile, ed25519=True), label="delivery")
    i, bit = data.draw(st.integers(0, 63)), data.draw(st.integers(0, 7))
    sigs = [(k, base64.b64encode(c.flip_bit(c.decode_b64(v), i, bit)).decode()) for k, v in
            d.signatures()]
    ed25519_verifier.check(
        d.case(c.MISMATCH, "the v1a signature was changed in one bit",
               headers=d.with_signature(d.signature_value(sigs))),
        prop(profile, "v1a: rejects a changed signature"),
    )


@given(data=st.data())
def test_v1a_rejects_wrong_public_key(
    ed25519_verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """The receiver holds another public key."""
    d = data.draw(c.deliveries(profile, ed25519=True), label="delivery")
    other = data.draw(c.signing_keys().filter(lambda k: k not in d.signing_keys))
    ed25519_verifier.check(
        d.case(c.MISMATCH, "signed with another key pair",
               secrets=[hookseal.public_key_for(other)]),
        prop(profile, "v1a: rejects a delivery for another public key"),
    )


@given(data=st.data())
def test_v1a_public_key_receiver_without_v1a_is_malformed(
    ed25519_verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """Only ``v1`` in the header, only ``whpk_`` keys at the receiver."""
    d = data.draw(c.deliveries(profile, rotation=False), label="delivery")
    _, pk = hookseal.generate_signing_key()
    ed25519_verifier.check(
        d.case(c.MALFORMED, "the header has no entry of a kind the receiver holds keys for",
               secrets=[pk]),
        prop(profile, "v1a: a header with no v1a is malformed for a public-key receiver"),
    )


@given(data=st.data(), beyond=st.one_of(st.just(1), st.integers(1, 10**6)))
def test_v1a_rejects_stale_timestamp(
    ed25519_verifier: VerifierAdapter, profile: str, data: st.DataObject, beyond: int
) -> None:
    """Tolerance applies to v1a as to v1."""
    d = data.draw(c.deliveries(profile, ed25519=True, tolerance=300, offset=-(300 + beyond)),
                  label="delivery")
    ed25519_verifier.check(
        d.case(c.TOO_OLD, f"now - t = {300 + beyond} > 300"),
        prop(profile, "v1a: rejects a stale timestamp"),
    )
