"""``v1a`` (Ed25519) properties, in each profile, when the adapter verifies them (contract 2.3).

Skipped, with the reason, only when the adapter declares it has no ``v1a``: it answers
``invalid_configuration`` to a receiver holding a ``whpk_`` key (contract 5.1). Any other
answer is judged, so a verifier that takes ``whpk_`` keys and rejects valid ``v1a``
deliveries fails. ``--require-ed25519`` turns the declared skip into a failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import hookseal
from hookseal.profiles import HOOKSEAL_V1
from hypothesis import given
from hypothesis import strategies as st

from hookseal_conformance import bodies
from hookseal_conformance import cases as c
from hookseal_conformance.verifier import VerifierAdapter

from .test_verifier_properties import _mutated, prop


@given(data=st.data())
def test_v1a_accepts_valid_deliveries(
    ed25519_verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """Signed with a ``whsk_`` key (maybe beside an HMAC secret); receiver holds ``whpk_``."""
    d = data.draw(c.deliveries(profile, ed25519=True, extra_hmac=data.draw(st.booleans()),
                               body=bodies.bodies()), label="delivery")
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


# -- contract 2.3, rule by rule: keys, values, mixed receivers, rotation -----------------


def _resigned(d: c.Delivery, keys: list[str]) -> dict[str, str]:
    """``d``'s headers signed anew with ``keys`` (same body, timestamp, id and prefix)."""
    return c.sign(d.profile, d.body, keys, timestamp=int(d.timestamp), msg_id=d.msg_id,
                  prefix=d.prefix)


def _public_keys(n: int) -> st.SearchStrategy[list[str]]:
    return st.lists(c.signing_keys(), min_size=n, max_size=n, unique=True).map(
        lambda sks: [hookseal.public_key_for(k) for k in sks])


@given(data=st.data())
def test_v1a_accepts_any_of_several_public_keys(
    ed25519_verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """The receiver holds several ``whpk_`` keys (it rotates them); the signer's is not first."""
    d = data.draw(c.deliveries(profile, ed25519=True), label="delivery")
    others = data.draw(_public_keys(data.draw(st.integers(1, 3))), label="other keys")
    at = data.draw(st.integers(1, len(others)), label="position of the signer's key")
    receiver = [*others[:at], *d.receiver_keys, *others[at:]]
    ed25519_verifier.check(
        d.case(c.OK, "every whpk_ key the receiver holds must be tried", secrets=receiver),
        prop(profile, "v1a: accepts a delivery matching any of several public keys"),
    )


_BAD_PUBLIC_KEYS = st.one_of(
    st.just("whpk_"),
    st.sampled_from([31, 33, 48, 64]).flatmap(
        lambda n: st.binary(min_size=n, max_size=n)).map(
        lambda raw: "whpk_" + base64.b64encode(raw).decode()),
    st.from_regex(r"whpk_[A-Za-z0-9+/]{20,42}[!*.~ ][A-Za-z0-9+/]{0,4}=?", fullmatch=True),
)


@given(data=st.data())
def test_v1a_refuses_a_public_key_that_does_not_load(
    ed25519_verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """A ``whpk_`` key that is not base64 of 32 bytes, among good ones: a configuration error."""
    d = data.draw(c.deliveries(profile, ed25519=True), label="delivery")
    bad = data.draw(_BAD_PUBLIC_KEYS, label="bad key")
    receiver = data.draw(st.permutations([*d.receiver_keys, bad]), label="receiver keys")
    ed25519_verifier.check(
        d.case(c.INVALID_CONFIGURATION, f"{bad!r} is not whpk_ + base64 of 32 bytes; a key "
               "that does not load is refused, never skipped", secrets=receiver),
        prop(profile, "v1a: refuses a configuration holding a whpk_ key that does not load"),
    )


@given(data=st.data())
def test_v1a_mixed_receiver_accepts_v1_beside_a_foreign_v1a(
    ed25519_verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """Receiver: a secret and a public key. Header: a valid ``v1`` and a ``v1a`` from a key
    the receiver does not hold. The ``v1`` matches: accepted."""
    d = data.draw(c.deliveries(profile, rotation=False), label="delivery")
    foreign = data.draw(c.signing_keys(), label="foreign signing key")
    mine = data.draw(_public_keys(1), label="receiver public key")
    signers = data.draw(st.permutations([d.signing_keys[0], foreign]), label="signers")
    receiver = data.draw(st.permutations([d.signing_keys[0], *mine]), label="receiver keys")
    ed25519_verifier.check(
        d.case(c.OK, "the v1 signature matches the receiver's secret; a v1a from another "
               "key does not undo that", headers=_resigned(d, signers), secrets=receiver),
        prop(profile, "v1a: a receiver with a secret and a public key accepts a valid v1 "
             "beside a v1a from a key it does not hold"),
    )


@given(data=st.data())
def test_v1a_mixed_receiver_accepts_v1a_beside_a_foreign_v1(
    ed25519_verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """Receiver: a secret and a public key. Header: a ``v1`` from another secret and a valid
    ``v1a``: accepted."""
    d = data.draw(c.deliveries(profile, ed25519=True), label="delivery")
    theirs = data.draw(c.secrets_for(profile), label="the sender's secret")
    mine = data.draw(c.distinct_secret(profile, [theirs]), label="the receiver's secret")
    signers = data.draw(st.permutations([*d.signing_keys, theirs]), label="signers")
    receiver = data.draw(st.permutations([*d.receiver_keys, mine]), label="receiver keys")
    ed25519_verifier.check(
        d.case(c.OK, "the v1a signature matches the receiver's public key",
               headers=_resigned(d, signers), secrets=receiver),
        prop(profile, "v1a: a receiver with a secret and a public key accepts a valid v1a "
             "beside a v1 from another secret"),
    )


@given(data=st.data())
def test_v1a_accepts_key_rotation_overlap(
    ed25519_verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """Two ``v1a`` values (old and new signing key, either order); the receiver holds one."""
    d = data.draw(c.deliveries(profile, ed25519=True), label="delivery")
    other = data.draw(c.signing_keys().filter(lambda k: k not in d.signing_keys), label="other")
    signers = data.draw(st.permutations([*d.signing_keys, other]), label="signers")
    held = data.draw(st.sampled_from(signers[1:]), label="the key whose whpk_ is held")
    ed25519_verifier.check(
        d.case(c.OK, "one of the two v1a values matches the receiver's public key; every "
               "v1a value must be tried", headers=_resigned(d, signers),
               secrets=[hookseal.public_key_for(held)]),
        prop(profile, "v1a: accepts a key rotation (two v1a values, the second matching)"),
    )


def _reencoded(raw: bytes, form: str) -> str:
    text = base64.b64encode(raw).decode()
    if form == "unpadded":
        return text.rstrip("=")
    if form == "url-safe":
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return text


@given(data=st.data())
def test_v1a_value_must_be_canonical_base64_of_64_bytes(
    ed25519_verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """The ``v1a`` value re-encoded unpadded or URL-safe, or cut or extended by a byte:
    it matches nothing."""
    d = data.draw(c.deliveries(profile, ed25519=True), label="delivery")
    (version, value), = d.signatures()
    raw = c.decode_b64(value)
    form = data.draw(st.sampled_from(["unpadded", "url-safe", "63 bytes", "65 bytes"]),
                     label="form")
    if form == "63 bytes":
        changed = base64.b64encode(raw[:63]).decode()
    elif form == "65 bytes":
        changed = base64.b64encode(raw + data.draw(st.binary(min_size=1, max_size=1))).decode()
    else:
        changed = _reencoded(raw, form)
    ed25519_verifier.check(
        d.case(c.MISMATCH, f"a v1a value is padded standard base64 of exactly 64 bytes; "
               f"this one is {form}", headers=d.with_signature(
                   d.signature_value([(version, changed)]))),
        prop(profile, "v1a: a value that is not padded base64 of 64 bytes matches nothing"),
    )


@given(data=st.data(), with_v1a=st.booleans())
def test_v1a_public_key_never_checks_v1(
    ed25519_verifier: VerifierAdapter, profile: str, data: st.DataObject, with_v1a: bool
) -> None:
    """A ``v1`` made with the public key as HMAC key (anyone can compute it) never counts."""
    d = data.draw(c.deliveries(profile, ed25519=True), label="delivery")
    pk = d.receiver_keys[0]
    if profile == HOOKSEAL_V1:
        key, signed = pk.encode(), f"{d.timestamp}.".encode()
        forged = hmac.new(key, signed + d.body, hashlib.sha256).hexdigest()
    else:
        key, signed = c.decode_b64(pk[5:]), f"{d.msg_id}.{d.timestamp}.".encode()
        forged = base64.b64encode(hmac.new(key, signed + d.body, hashlib.sha256).digest()).decode()
    sigs = [("v1", forged)]
    if with_v1a:
        (version, value), = d.signatures()
        sigs.append((version, base64.b64encode(c.flip_bit(c.decode_b64(value), 0, 0)).decode()))
    ed25519_verifier.check(
        d.case(c.MISMATCH if with_v1a else c.MALFORMED,
               "a whpk_ key checks only v1a values; the v1 here is keyed with the public key"
               + ("" if with_v1a else ", so the header has no entry the receiver can check"),
               headers=d.with_signature(d.signature_value(sigs))),
        prop(profile, "v1a: a public key never verifies a v1 value"),
    )


@given(data=st.data())
def test_v1a_only_header_is_malformed_for_hmac_receiver(
    verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """Only ``v1a`` in the header, only an HMAC secret at the receiver (every verifier)."""
    d = data.draw(c.deliveries(profile, ed25519=True), label="delivery")
    secret = data.draw(c.secrets_for(profile), label="receiver secret")
    verifier.check(
        d.case(c.MALFORMED, "the header has no v1 entry, the one kind the receiver holds keys "
               "for", secrets=[secret]),
        prop(profile, "v1a: a header with only v1a is malformed for an HMAC receiver"),
    )
