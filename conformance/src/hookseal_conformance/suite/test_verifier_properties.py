"""Hypothesis properties every verifier must have, in each profile (contract 2 and 3).

Each test draws valid deliveries signed by the SDK, derives one fault (or none) and checks
the adapter's answer. A failure prints the shrunk request as a JSON line to rerun.
"""

from __future__ import annotations

import base64
from dataclasses import replace

from hookseal.profiles import HOOKSEAL_V1
from hypothesis import assume, given
from hypothesis import strategies as st

from hookseal_conformance import bodies
from hookseal_conformance import cases as c
from hookseal_conformance.verifier import VerifierAdapter

V1 = HOOKSEAL_V1


def prop(profile: str, text: str) -> str:
    """Name a property for the report."""
    return f"[{profile}] {text}"


# -- accepting ----------------------------------------------------------------------------


@given(data=st.data())
def test_accepts_valid_deliveries(verifier: VerifierAdapter, profile: str, data: st.DataObject) -> None:
    """Any body, secret, header-name case and prefix; one or two signatures and secrets."""
    d = data.draw(c.deliveries(profile, body=bodies.bodies()), label="delivery")
    verifier.check(
        d.case(c.OK, "a correctly signed, fresh delivery for a secret the receiver holds"),
        prop(profile, "accepts every valid delivery"),
    )


@given(data=st.data())
def test_accepts_rotation_overlap(verifier: VerifierAdapter, profile: str, data: st.DataObject) -> None:
    """Two signatures in either order, against one or two receiver secrets in either order."""
    d = data.draw(c.deliveries(profile, rotation=True), label="delivery")
    verifier.check(
        d.case(c.OK, "during a rotation overlap any one matching signature is enough"),
        prop(profile, "accepts deliveries signed during a rotation overlap"),
    )


@given(data=st.data())
def test_accepts_second_receiver_secret(
    verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """The receiver holds two secrets and the delivery matches the second one."""
    d = data.draw(c.deliveries(profile, rotation=False), label="delivery")
    other = data.draw(c.distinct_secret(profile, d.signing_keys), label="first secret")
    verifier.check(
        d.case(c.OK, "the receiver's second secret signed it; every secret must be tried",
               secrets=[other, d.signing_keys[0]]),
        prop(profile, "accepts a delivery matching the receiver's second secret"),
    )


@given(data=st.data())
def test_accepts_second_signature(
    verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """The header holds a foreign signature first and the matching one second."""
    d = data.draw(c.deliveries(profile, rotation=False), label="delivery")
    other = data.draw(c.distinct_secret(profile, d.receiver_keys), label="foreign secret")
    foreign = c.sign(profile, d.body, [other], timestamp=int(d.timestamp),
                     msg_id=d.msg_id, prefix=d.prefix)
    first = c.delivery_with(d, headers=foreign).signatures()
    verifier.check(
        d.case(c.OK, "the second signature matches; every signature must be tried",
               headers=d.with_signature(d.signature_value(first + d.signatures()))),
        prop(profile, "accepts a delivery whose second signature matches"),
    )


@given(data=st.data())
def test_accepts_json_bodies_verbatim(
    verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """Catalog events serialized with odd whitespace, key order and escapes."""
    d = data.draw(c.deliveries(profile, body=bodies.json_bodies()), label="delivery")
    verifier.check(
        d.case(c.OK, "the signature covers the raw bytes, however the JSON is written"),
        prop(profile, "accepts catalog events verbatim (no re-serialization)"),
    )


@given(data=st.data(), size=st.sampled_from([0, 1, 65_536, 1_048_576]))
def test_accepts_empty_and_large_bodies(
    verifier: VerifierAdapter, profile: str, data: st.DataObject, size: int
) -> None:
    """Empty bodies and bodies up to 1 MiB."""
    body = c.seeded_bytes(size, size)
    d = data.draw(c.deliveries(profile, body=st.just(body), rotation=False), label="delivery")
    verifier.check(
        d.case(c.OK, f"a valid delivery with a {size}-byte body"),
        prop(profile, "accepts empty and large bodies"),
    )


@given(data=st.data(), sign=st.sampled_from([-1, 1]))
def test_accepts_timestamp_exactly_at_tolerance(
    verifier: VerifierAdapter, profile: str, data: st.DataObject, sign: int
) -> None:
    """|now - t| == tolerance is still fresh."""
    tol = data.draw(st.one_of(st.just(300), st.integers(1, 86_400)), label="tolerance")
    d = data.draw(c.deliveries(profile, tolerance=tol, offset=sign * tol), label="delivery")
    verifier.check(
        d.case(c.OK, f"t - now = {sign * tol} and the tolerance is {tol}: exactly at the edge"),
        prop(profile, "accepts a timestamp exactly at the tolerance"),
    )


# -- timestamps ---------------------------------------------------------------------------


_BEYOND = st.one_of(st.just(1), st.integers(1, 10**7))


@given(data=st.data(), beyond=_BEYOND)
def test_rejects_stale_timestamp(
    verifier: VerifierAdapter, profile: str, data: st.DataObject, beyond: int
) -> None:
    """now - t = tolerance + k (k >= 1, one second included) is ``timestamp_too_old``."""
    tol = data.draw(st.one_of(st.just(300), st.integers(1, 86_400)), label="tolerance")
    d = data.draw(c.deliveries(profile, tolerance=tol, offset=-(tol + beyond)), label="delivery")
    verifier.check(
        d.case(c.TOO_OLD, f"now - t = {tol + beyond} > tolerance {tol}"),
        prop(profile, "rejects a stale timestamp (from one second past the tolerance)"),
    )


@given(data=st.data(), beyond=_BEYOND)
def test_rejects_future_timestamp(
    verifier: VerifierAdapter, profile: str, data: st.DataObject, beyond: int
) -> None:
    """t - now = tolerance + k (k >= 1, one second included) is ``timestamp_in_future``."""
    tol = data.draw(st.one_of(st.just(300), st.integers(1, 86_400)), label="tolerance")
    d = data.draw(c.deliveries(profile, tolerance=tol, offset=tol + beyond), label="delivery")
    verifier.check(
        d.case(c.IN_FUTURE, f"t - now = {tol + beyond} > tolerance {tol}"),
        prop(profile, "rejects a future timestamp (from one second past the tolerance)"),
    )


@given(data=st.data(), unit=st.sampled_from([1000, 1_000_000]))
def test_rejects_timestamps_in_smaller_units(
    verifier: VerifierAdapter, profile: str, data: st.DataObject, unit: int
) -> None:
    """A timestamp in milliseconds (or microseconds) of now is far in the future.

    ``t`` is whole seconds: a verifier that takes a long one for milliseconds and divides
    it accepts a signature made at any time within the tolerance of a date in 55,000 AD.
    """
    d = data.draw(c.deliveries(profile, rotation=False), label="delivery")
    off = data.draw(st.integers(-d.tolerance, d.tolerance), label="offset")
    ts = (d.now + off) * unit
    d = replace(d, timestamp=str(ts), headers=c.sign(
        profile, d.body, d.signing_keys, timestamp=ts, msg_id=d.msg_id, prefix=d.prefix))
    verifier.check(
        d.case(c.IN_FUTURE, f"t = {ts}, now times {unit}: seconds, so far in the future"),
        prop(profile, "rejects a timestamp given in milliseconds or microseconds"),
    )


# -- signatures ---------------------------------------------------------------------------


@given(data=st.data())
def test_rejects_wrong_secret(verifier: VerifierAdapter, profile: str, data: st.DataObject) -> None:
    """The receiver holds none of the secrets the delivery was signed with."""
    d = data.draw(c.deliveries(profile), label="delivery")
    n = data.draw(st.integers(1, 2), label="receiver secrets")
    wrong = data.draw(
        st.lists(
            c.distinct_secret(profile, d.signing_keys),
            min_size=n, max_size=n, unique=True,
        ),
        label="receiver's secrets",
    )
    verifier.check(
        d.case(c.MISMATCH, "no signature was made with any secret the receiver holds",
               secrets=wrong),
        prop(profile, "rejects a delivery signed with another secret"),
    )


@st.composite
def _mutated(draw: st.DrawFn, body: bytes) -> bytes:
    kinds = ["flip", "insert", "delete", "append", "prepend"] if body else ["append", "insert"]
    kind = draw(st.sampled_from(kinds))
    i = draw(st.integers(0, max(0, len(body) - 1)))
    byte = draw(st.binary(min_size=1, max_size=1))
    if kind == "flip":
        return c.flip_bit(body, i, draw(st.integers(0, 7)))
    if kind == "insert":
        return body[:i] + byte + body[i:]
    if kind == "delete":
        return body[:i] + body[i + 1 :]
    if kind == "append":
        return body + byte
    return byte + body


@given(data=st.data())
def test_rejects_changed_body(verifier: VerifierAdapter, profile: str, data: st.DataObject) -> None:
    """Any one byte of the body flipped, inserted or deleted."""
    d = data.draw(c.deliveries(profile), label="delivery")
    body = data.draw(_mutated(d.body), label="changed body")
    verifier.check(
        d.case(c.MISMATCH, "the body differs from the signed one in one byte", body=body),
        prop(profile, "rejects a body changed in one byte"),
    )


@given(data=st.data())
def test_rejects_changed_timestamp(
    verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """Another fresh timestamp, or the same one with a leading zero (signed as text)."""
    d = data.draw(c.deliveries(profile), label="delivery")
    ts = int(d.timestamp)
    other = data.draw(
        st.one_of(
            st.integers(d.now - d.tolerance, d.now + d.tolerance)
            .filter(lambda x: x != ts)
            .map(str),
            st.just("0" + d.timestamp),
        ),
        label="new timestamp text",
    )
    verifier.check(
        d.case(
            c.MISMATCH,
            f"the timestamp text {other!r} is fresh but the signature covers {d.timestamp!r}",
            headers=d.with_timestamp_text(other),
        ),
        prop(profile, "rejects a changed timestamp (it is covered by the signature)"),
    )


@given(data=st.data())
def test_rejects_changed_signature(
    verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """Every signature value changed in one byte (or hex digit), same length."""
    d = data.draw(c.deliveries(profile), label="delivery")
    sigs = [
        (k, c.tamper_signature(profile, k, v, data.draw(st.integers(0, 63)),
                               data.draw(st.integers(0, 7))))
        if k == "v1" else (k, v)
        for k, v in d.signatures()
    ]
    verifier.check(
        d.case(c.MISMATCH, "every v1 value differs from the right one in one place",
               headers=d.with_signature(d.signature_value(sigs))),
        prop(profile, "rejects a signature changed in one byte"),
    )


@given(data=st.data())
def test_rejects_only_one_changed_of_several(
    verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """Rotation: the one signature made with the receiver's secret is changed, the other not."""
    d = data.draw(c.deliveries(profile, rotation=False), label="delivery")
    other = data.draw(c.distinct_secret(profile, d.receiver_keys))
    foreign = c.sign(profile, d.body, [other], timestamp=int(d.timestamp),
                     msg_id=d.msg_id, prefix=d.prefix)
    foreign_sig = c.Delivery(
        profile, d.body, (other,), (other,), d.timestamp, d.now, d.tolerance, d.prefix,
        d.msg_id, foreign).signatures()
    own = [(k, c.tamper_signature(profile, k, v, data.draw(st.integers(0, 63)), 1))
           for k, v in d.signatures()]
    sigs = data.draw(st.permutations(own + foreign_sig), label="signatures")
    verifier.check(
        d.case(c.MISMATCH, "the receiver's signature was changed; the other one is for a "
               "secret the receiver does not hold",
               headers=d.with_signature(d.signature_value(sigs))),
        prop(profile, "checks every signature against every secret, and only accepts a match"),
    )


@given(data=st.data())
def test_rejects_truncated_signature(
    verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """A signature cut short, down to empty."""
    d = data.draw(c.deliveries(profile, rotation=False), label="delivery")
    full = 64 if profile == V1 else 32
    n = data.draw(st.integers(0, full - 1), label="kept length")
    sigs = [(k, c.resize_signature(profile, k, v, n, b"")) for k, v in d.signatures()]
    verifier.check(
        d.case(c.MISMATCH, f"the signature keeps only {n} of its {full} "
               f"{'hex digits' if profile == V1 else 'bytes'}",
               headers=d.with_signature(d.signature_value(sigs))),
        prop(profile, "rejects a truncated signature"),
    )


@given(data=st.data())
def test_rejects_extended_signature(
    verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """A right signature with more digits or bytes appended."""
    d = data.draw(c.deliveries(profile, rotation=False), label="delivery")
    full = 64 if profile == V1 else 32
    n = data.draw(st.integers(full + 1, full + 64), label="new length")
    filler = data.draw(st.binary(min_size=1, max_size=1), label="filler")
    sigs = [(k, c.resize_signature(profile, k, v, n, filler)) for k, v in d.signatures()]
    verifier.check(
        d.case(c.MISMATCH, f"the right signature followed by {n - full} more "
               f"{'hex digits' if profile == V1 else 'bytes'}",
               headers=d.with_signature(d.signature_value(sigs))),
        prop(profile, "rejects an extended signature"),
    )


@given(data=st.data())
def test_rejects_non_canonical_signature_encoding(
    verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """hookseal-v1: uppercase hex; standard-webhooks: unpadded or URL-safe base64."""
    d = data.draw(c.deliveries(profile, rotation=False), label="delivery")
    if profile == V1:
        sigs = [(k, v.upper()) for k, v in d.signatures()]
        assume(sigs != d.signatures())
        why = "hex is compared as lowercase text, so uppercase hex matches nothing"
    else:
        how = data.draw(st.sampled_from(["unpadded", "urlsafe"]), label="encoding")
        if how == "unpadded":
            sigs = [(k, v.rstrip("=")) for k, v in d.signatures()]
        else:
            sigs = [(k, base64.urlsafe_b64encode(base64.b64decode(v)).decode())
                    for k, v in d.signatures()]
            assume(sigs != d.signatures())
        why = f"only strict, padded standard base64 is compared; this one is {how}"
    verifier.check(
        d.case(c.MISMATCH, why, headers=d.with_signature(d.signature_value(sigs))),
        prop(profile, "rejects non-canonical signature encodings"),
    )


@given(data=st.data())
def test_rejects_replayed_signature_with_fresh_timestamp(
    verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """A captured old signature sent again with a fresh timestamp."""
    d = data.draw(c.deliveries(profile, rotation=False, offset=0), label="delivery")
    age = data.draw(st.integers(1, 10**6), label="age of the captured signature")
    old = c.sign(profile, d.body, list(d.signing_keys), timestamp=d.now - age,
                 msg_id=d.msg_id, prefix=d.prefix)
    captured = c.Delivery(profile, d.body, d.signing_keys, d.receiver_keys, str(d.now - age),
                          d.now, d.tolerance, d.prefix, d.msg_id, old).signatures()
    verifier.check(
        d.case(c.MISMATCH, f"the signature was made {age} s earlier for another timestamp",
               headers=d.with_signature(d.signature_value(captured))),
        prop(profile, "rejects a captured signature replayed with a fresh timestamp"),
    )


@given(data=st.data())
def test_rejects_with_any_code_of_several_faults(
    verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """Stale and wrongly signed: either code conforms, acceptance does not."""
    tol = data.draw(st.one_of(st.just(300), st.integers(1, 86_400)), label="tolerance")
    d = data.draw(c.deliveries(profile, tolerance=tol, offset=-(tol + 1)), label="delivery")
    body = data.draw(_mutated(d.body), label="changed body")
    verifier.check(
        d.case([c.TOO_OLD, c.MISMATCH], "stale by one second and the body was changed",
               body=body),
        prop(profile, "rejects a request with several faults with one of their codes"),
    )


# -- headers ------------------------------------------------------------------------------


@given(data=st.data())
def test_rejects_missing_header(verifier: VerifierAdapter, profile: str, data: st.DataObject) -> None:
    """Each required header removed (with a custom prefix, the default-named one is absent)."""
    d = data.draw(c.deliveries(profile), label="delivery")
    name = data.draw(st.sampled_from(c.required_headers(d)), label="removed header")
    headers = c.without_header(d.headers, name)
    why = f"{name} is required and absent"
    if profile == V1 and d.prefix and d.prefix.lower() != "hookseal" and data.draw(st.booleans()):
        headers["Hookseal-Signature"] = c._get_header(d.headers, name)
        why = f"the receiver is configured with prefix {d.prefix!r}; only Hookseal-Signature came"
    verifier.check(d.case(c.MISSING, why, headers=headers),
                   prop(profile, "rejects a request without a required header"))


@given(data=st.data())
def test_rejects_empty_header(verifier: VerifierAdapter, profile: str, data: st.DataObject) -> None:
    """Each required header present with an empty value."""
    d = data.draw(c.deliveries(profile), label="delivery")
    name = data.draw(st.sampled_from(c.required_headers(d)), label="emptied header")
    headers = c._replace_header(d.headers, name, "")
    verifier.check(d.case(c.MISSING, f"{name} is empty, which counts as absent", headers=headers),
                   prop(profile, "rejects a request with an empty required header"))


_BAD_T = st.one_of(
    st.sampled_from(["+{t}", "-{t}", " {t}", "{t} ", "{t}.0", "{t}e0", "0x{t}", "{t}_0",
                     "1_{t}", "{t}s", "٣{t}", "１{t}", "{t}\n", "t{t}", "{t},"]),
    st.just("1234567890123456789"),  # 19 digits: more than the 18 allowed
    st.from_regex(r"[0-9]{0,5}[^0-9,][0-9]{0,5}", fullmatch=True),
)


@given(data=st.data(), form=_BAD_T)
def test_rejects_malformed_timestamp(
    verifier: VerifierAdapter, profile: str, data: st.DataObject, form: str
) -> None:
    """A timestamp that is not 1 to 18 ASCII digits."""
    d = data.draw(c.deliveries(profile), label="delivery")
    text = form.replace("{t}", d.timestamp)
    if profile == V1:
        assume("," not in text)
    verifier.check(
        d.case(c.MALFORMED, f"the timestamp {text!r} is not 1 to 18 ASCII digits",
               headers=d.with_timestamp_text(text)),
        prop(profile, "rejects a malformed or non-integer timestamp"),
    )


@given(data=st.data())
def test_rejects_malformed_signature_header(
    verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """No ``t``, duplicated ``t``, empty ``t``, no ``v1`` (v1); no comma or no v1 entry (sw).

    "No v1" includes valid signatures under keys that only look like it (``V1``, `` v1``).
    """
    d = data.draw(c.deliveries(profile), label="delivery")
    sigs = d.signatures()
    if profile == V1:
        t = f"t={d.timestamp}"
        body = [f"{k}={v}" for k, v in sigs]
        other_t = f"t={data.draw(st.sampled_from([d.timestamp, str(int(d.timestamp) + 1)]))}"
        variants = {
            "no t element": ",".join(body),
            "t given twice": ",".join([t, *body, other_t]),
            "t given twice, first": ",".join([t, other_t, *body]),
            "empty t": ",".join(["t=", *body]),
            "no v1 element": ",".join([t, *(f"v0={v}" for _, v in sigs)]),
            # Keys are matched exactly: these valid signatures are under other keys.
            "no v1 element, only V1": ",".join([t, *(f"V1={v}" for _, v in sigs)]),
            "no v1 element, only ' v1'": ",".join([t, *(f" v1={v}" for _, v in sigs)]),
            "only the timestamp": t,
        }
    else:
        body = [f"{k},{v}" for k, v in sigs]
        variants = {
            "an entry without a comma": " ".join([*body, "v1"]),
            "an entry without a comma (first)": " ".join([sigs[0][1], *body]),
            "no v1 entry": " ".join(f"v2,{v}" for _, v in sigs),
            "no v1 entry, only V1": " ".join(f"V1,{v}" for _, v in sigs),
        }
    what = data.draw(st.sampled_from(sorted(variants)), label="fault")
    verifier.check(
        d.case(c.MALFORMED, f"the signature header has {what}",
               headers=d.with_signature(variants[what])),
        prop(profile, "rejects a malformed signature header"),
    )


@given(data=st.data())
def test_ignores_unknown_elements(
    verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """Elements with other keys (``v0``, `` v1``, ``v1a`` junk, ``x``) are ignored."""
    d = data.draw(c.deliveries(profile, rotation=False), label="delivery")
    sigs = d.signatures()
    if profile == V1:
        junk = data.draw(st.lists(st.sampled_from(
            ["v0=00", " v1=" + sigs[0][1], "x=y", "v2=ab", "v1a=notbase64", "V1=" + sigs[0][1],
             "no-equals-sign", ""]), min_size=1, max_size=4), label="unknown elements")
        elements = [f"{k}={v}" for k, v in sigs] + junk
        elements = data.draw(st.permutations(elements))
        value = ",".join([f"t={d.timestamp}", *elements])
    else:
        junk = data.draw(st.lists(st.sampled_from(
            ["v2,abc", "v1a,notbase64", "v0,00", "V1," + sigs[0][1]]),
            min_size=1, max_size=4), label="unknown entries")
        value = " ".join(data.draw(st.permutations([f"{k},{v}" for k, v in sigs] + junk)))
    verifier.check(
        d.case(c.OK, "elements of unknown versions are ignored and a valid v1 remains",
               headers=d.with_signature(value)),
        prop(profile, "ignores signature elements of other versions"),
    )


@given(data=st.data())
def test_rejects_duplicate_header_names(
    verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """The signature header twice, in two letter cases."""
    d = data.draw(c.deliveries(profile, rotation=False), label="delivery")
    name = d.signature_header
    headers = c.without_header(d.headers, name)
    value = c._get_header(d.headers, name)
    headers[name.lower()] = value
    headers[name.upper()] = data.draw(st.sampled_from([value, value + "0"]))
    verifier.check(
        d.case(c.MALFORMED, f"{name} appears twice with different case", headers=headers),
        prop(profile, "rejects a header name given twice with different case"),
    )


def test_rejects_empty_secret_configuration(verifier: VerifierAdapter, profile: str) -> None:
    """No secrets, an empty secret or ``whsec_`` alone are configuration errors."""
    import hookseal

    body = b'{"id":"evt_1","type":"t","data":{}}'
    secret = hookseal.generate_secret()
    d = c.Delivery(profile, body, (secret,), (secret,), "1700000000", 1700000000, 300, None,
                   "msg_1", c.sign(profile, body, [secret], timestamp=1700000000,
                                   msg_id="msg_1", prefix=None))
    for secrets in ([], [""], ["whsec_"]):
        verifier.check(
            d.case(c.INVALID_CONFIGURATION, f"secrets {secrets!r} cannot configure a verifier",
                   secrets=secrets),
            prop(profile, "refuses an empty secret configuration"),
        )
