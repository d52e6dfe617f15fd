"""The adapter protocol itself and robustness: order, time bound, garbage (contract 3, 5.1)."""

from __future__ import annotations

from hookseal.profiles import HOOKSEAL_V1
from hypothesis import given
from hypothesis import strategies as st

from hookseal_conformance import cases as c
from hookseal_conformance.report import ConformanceFailure, bug_report
from hookseal_conformance.verifier import VerifierAdapter

from .test_verifier_properties import prop

_ANY_REJECTION = c.VERIFICATION_CODES


@given(data=st.data())
def test_answers_in_order(verifier: VerifierAdapter, profile: str, data: st.DataObject) -> None:
    """Eight requests with different answers, written at once, are answered in order."""
    d = data.draw(c.deliveries(profile, rotation=False, tolerance=300, offset=0), label="delivery")
    sigs = d.signatures()
    wrong = [(k, c.tamper_signature(profile, k, v, 0, 1)) for k, v in sigs]
    name = c.required_headers(d)[-1]
    batch = [
        d.case(c.OK, "valid"),
        d.case(c.TOO_OLD, "stale", now=d.now + 301),
        d.case(c.MISSING, "no header", headers=c.without_header(d.headers, name)),
        d.case(c.IN_FUTURE, "future", now=d.now - 301),
        d.case(c.MISMATCH, "wrong signature", headers=d.with_signature(d.signature_value(wrong))),
        d.case(c.MALFORMED, "bad timestamp", headers=d.with_timestamp_text("x")),
        d.case(c.OK, "valid"),
        d.case(c.INVALID_CONFIGURATION, "no secrets", secrets=[]),
    ]
    try:
        answers = verifier.ask_many([case.request for case in batch])
    except Exception as exc:
        raise ConformanceFailure(bug_report(
            prop=prop(profile, "answers pipelined requests one line each, in order"),
            expected="eight answers", answered=f"{type(exc).__name__}: {exc}",
            command=verifier.command)) from None
    wanted = [next(iter(case.expected)) for case in batch]
    if answers != wanted:
        raise ConformanceFailure(bug_report(
            prop=prop(profile, "answers pipelined requests one line each, in order"),
            expected=", ".join(wanted), answered=", ".join(answers),
            why="eight requests were written at once; each answer must follow its request",
            command=verifier.command))


_HEADER_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=200)


@st.composite
def _garbage_headers(draw: st.DrawFn, profile: str) -> dict[str, str]:
    names = (["Hookseal-Signature", "hookseal-signature", "Hookseal-Webhook-Id"]
             if profile == HOOKSEAL_V1 else
             ["webhook-id", "webhook-timestamp", "webhook-signature", "Webhook-Signature"])
    value = st.one_of(
        _HEADER_TEXT,
        st.builds(lambda t, v: f"t={t},v1={v}", _HEADER_TEXT, _HEADER_TEXT),
        st.builds(lambda v, n: ",".join([v] * n), _HEADER_TEXT, st.integers(0, 2000)),
        st.builds(lambda v, n: " ".join([v] * n), _HEADER_TEXT, st.integers(0, 2000)),
        st.from_regex(r"(t=[0-9]{0,20},?|v1a?=[0-9a-f]{0,70},?|v1,[A-Za-z0-9+/=]{0,90} ?){0,40}",
                      fullmatch=True),
    )
    return draw(st.dictionaries(st.one_of(st.sampled_from(names), _HEADER_TEXT), value,
                                max_size=5))


@given(data=st.data())
def test_garbage_is_rejected_not_crashed(
    verifier: VerifierAdapter, profile: str, data: st.DataObject
) -> None:
    """Random headers and bodies get a documented error code, within the time bound."""
    d = data.draw(c.deliveries(profile, rotation=False, body=st.just(b"{}")), label="delivery")
    headers = data.draw(_garbage_headers(profile), label="headers")
    body = data.draw(st.binary(max_size=512), label="body")
    verifier.check(
        d.case(_ANY_REJECTION, "garbage headers: any documented rejection, never a crash",
               headers=headers, body=body),
        prop(profile, "answers garbage with a documented error, never a crash or hang"),
    )


def test_oversized_headers_are_bounded(verifier: VerifierAdapter, profile: str) -> None:
    """A valid header padded past 8192 bytes or 32 elements: accepted or malformed, quickly."""
    import hookseal

    body = b'{"id":"evt_1","type":"t","data":{}}'
    secret = hookseal.generate_secret()
    headers = c.sign(profile, body, [secret], timestamp=1_700_000_000, msg_id="msg_1",
                     prefix=None)
    d = c.Delivery(profile, body, (secret,), (secret,), "1700000000", 1_700_000_000, 300,
                   None, "msg_1", headers)
    sep = "," if profile == HOOKSEAL_V1 else " "
    junk = "v0=00" if profile == HOOKSEAL_V1 else "v2,AA=="
    base = c._get_header(headers, d.signature_header)
    for n in (40, 2000, 200_000):
        case = d.case([c.OK, c.MALFORMED], f"{n} extra elements: the contract allows rejecting "
                      "headers over 8192 bytes or 32 elements as malformed",
                      headers=d.with_signature(sep.join([base] + [junk] * n)))
        verifier.check(case, prop(profile, "bounds the work on oversized signature headers"))

