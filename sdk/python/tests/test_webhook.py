"""hookseal.Webhook: construction, header forms, bodies, clocks, construct_event."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import hookseal
import pytest
from hookseal import Webhook
from hypothesis import given, settings
from hypothesis import strategies as st

SECRET = "whsec_" + "A" * 43 + "="
KEY = SECRET.encode()  # hookseal-v1 keys HMAC with the whole secret string
OTHER_SECRET = "whsec_" + "B" * 43 + "="
BODY = b'{"id":"evt_1","type":"test.ping","data":{}}'
NOW = 1_763_800_000


def signed(body: bytes = BODY, **kw: Any) -> dict[str, str]:
    return hookseal.sign(body, kw.pop("secret", SECRET), timestamp=kw.pop("timestamp", NOW), **kw)


class TestConstruction:
    @pytest.mark.parametrize("secrets", [[], (), "", "whsec_", [""], ["whsec_"], [SECRET, ""], None, 42, b"raw"])
    def test_refuses_bad_secrets(self, secrets: Any) -> None:
        with pytest.raises(hookseal.ConfigurationError) as info:
            Webhook(secrets)
        assert info.value.code == "invalid_configuration"
        assert isinstance(info.value, ValueError)

    @pytest.mark.parametrize(
        "kw",
        [
            {"profile": "stripe"},
            {"tolerance": -1},
            {"tolerance": True},
            {"tolerance": 1.5},
            {"header_prefix": ""},
            {"header_prefix": "Bad Prefix"},
            {"header_prefix": "A:B"},
        ],
    )
    def test_refuses_bad_options(self, kw: dict[str, Any]) -> None:
        with pytest.raises(hookseal.ConfigurationError):
            Webhook(SECRET, **kw)

    def test_refuses_a_signing_key_and_says_what_to_use(self) -> None:
        signing, _ = hookseal.generate_signing_key()
        with pytest.raises(hookseal.ConfigurationError, match="whpk_"):
            Webhook(signing)

    def test_repr_hides_secrets(self) -> None:
        text = repr(Webhook([SECRET, "whsec_other"]))
        assert SECRET not in text and "other" not in text
        assert "2 key(s)" in text

    def test_accepts_any_iterable_of_secrets(self) -> None:
        Webhook(iter([SECRET])).verify(BODY, signed(), now=NOW)
        Webhook((SECRET,)).verify(BODY, signed(), now=NOW)


class TestHeaders:
    def test_list_of_pairs(self) -> None:
        Webhook(SECRET).verify(BODY, list(signed().items()), now=NOW)

    def test_raw_asgi_bytes_pairs(self) -> None:
        raw = [(k.lower().encode(), v.encode()) for k, v in signed().items()]
        Webhook(SECRET).verify(BODY, raw, now=NOW)

    def test_bytes_keyed_dict(self) -> None:
        Webhook(SECRET).verify(BODY, {k.encode(): v.encode() for k, v in signed().items()}, now=NOW)

    def test_starlette_headers(self) -> None:
        from starlette.datastructures import Headers

        Webhook(SECRET).verify(BODY, Headers(headers=signed()), now=NOW)

    def test_werkzeug_headers(self) -> None:
        from werkzeug.datastructures import Headers

        Webhook(SECRET).verify(BODY, Headers(signed()), now=NOW)

    def test_django_headers(self) -> None:
        from django.http.request import HttpHeaders

        meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in signed().items()}
        Webhook(SECRET).verify(BODY, HttpHeaders(meta), now=NOW)

    def test_aiohttp_multidict_headers(self) -> None:
        from multidict import CIMultiDict, CIMultiDictProxy

        headers = CIMultiDict(signed())
        Webhook(SECRET).verify(BODY, headers, now=NOW)
        Webhook(SECRET).verify(BODY, CIMultiDictProxy(headers), now=NOW)

    def test_str_subclass_names_and_values(self) -> None:
        class Name(str):
            pass

        Webhook(SECRET).verify(BODY, {Name(k): Name(v) for k, v in signed().items()}, now=NOW)

    def test_http_client_message(self) -> None:
        import email.message

        msg = email.message.Message()
        for k, v in signed().items():
            msg[k] = v
        Webhook(SECRET).verify(BODY, msg, now=NOW)

    def test_same_name_twice_in_pairs_is_malformed(self) -> None:
        value = signed()["Hookseal-Signature"]
        with pytest.raises(hookseal.MalformedHeaderError):
            Webhook(SECRET).verify(BODY, [("Hookseal-Signature", value), ("Hookseal-Signature", value)], now=NOW)

    @pytest.mark.parametrize("headers", ["t=1,v1=x", b"raw", 42, None, [("only-one",)], [1, 2]])
    def test_headers_that_are_not_a_mapping_are_malformed(self, headers: Any) -> None:
        with pytest.raises(hookseal.MalformedHeaderError):
            Webhook(SECRET).verify(BODY, headers, now=NOW)

    def test_non_text_value_is_malformed(self) -> None:
        with pytest.raises(hookseal.MalformedHeaderError):
            Webhook(SECRET).verify(BODY, {"Hookseal-Signature": 123}, now=NOW)


class TestBodies:
    def test_str_body_is_utf8(self) -> None:
        text = '{"name":"Zoë ✓"}'
        Webhook(SECRET).verify(text, signed(text.encode()), now=NOW)

    @pytest.mark.parametrize("wrap", [bytearray, memoryview])
    def test_bytes_like_bodies(self, wrap: Any) -> None:
        Webhook(SECRET).verify(wrap(BODY), signed(), now=NOW)

    @pytest.mark.parametrize("body", [None, 42, {"id": "evt_1"}])
    def test_a_body_of_another_type_is_a_mismatch_not_a_crash(self, body: Any) -> None:
        with pytest.raises(hookseal.SignatureMismatchError, match="bytes or str"):
            Webhook(SECRET).verify(body, signed(), now=NOW)


class TestClock:
    def test_injected_clock(self) -> None:
        Webhook(SECRET, clock=lambda: NOW + 300).verify(BODY, signed())
        with pytest.raises(hookseal.TimestampTooOldError):
            Webhook(SECRET, clock=lambda: NOW + 301).verify(BODY, signed())

    def test_now_overrides_the_clock(self) -> None:
        Webhook(SECRET, clock=lambda: 0).verify(BODY, signed(), now=NOW)

    def test_fractional_now_is_floored(self) -> None:
        wh = Webhook(SECRET)
        wh.verify(BODY, signed(), now=NOW + 300.99)
        with pytest.raises(hookseal.TimestampInFutureError):
            wh.verify(BODY, signed(timestamp=NOW + 301), now=NOW + 0.5)

    def test_default_clock_is_wall_time(self) -> None:
        Webhook(SECRET).verify(BODY, hookseal.sign(BODY, SECRET))

    def test_stale_request_is_rejected_before_any_hmac(self) -> None:
        # A wrong signature on a stale request reports the timestamp: the cheap check ran first.
        headers = {"Hookseal-Signature": f"t={NOW - 1000},v1={'0' * 64}"}
        with pytest.raises(hookseal.TimestampTooOldError):
            Webhook(SECRET).verify(BODY, headers, now=NOW)


class TestConstructEvent:
    def test_returns_the_envelope(self) -> None:
        event = Webhook(SECRET).construct_event(BODY, signed(), now=NOW)
        assert event == json.loads(BODY)

    @pytest.mark.parametrize("body", [b"[1,2]", b'"text"', b"42", b"null", b"not json", b"\xff\xfe", b""])
    def test_non_object_body_is_invalid_payload_after_verification(self, body: bytes) -> None:
        wh = Webhook(SECRET)
        with pytest.raises(hookseal.InvalidPayloadError) as info:
            wh.construct_event(body, signed(body), now=NOW)
        assert info.value.code == "invalid_payload" and isinstance(info.value, ValueError)
        with pytest.raises(hookseal.SignatureMismatchError):
            wh.construct_event(body, signed(body, secret="whsec_other"), now=NOW)

    def test_deeply_nested_json_is_invalid_payload(self) -> None:
        body = b"[" * 100_000 + b"]" * 100_000
        with pytest.raises(hookseal.InvalidPayloadError):
            Webhook(SECRET).construct_event(body, signed(body), now=NOW)


BATCH = b'[{"id":"evt_1","type":"invoice.paid","data":{}},{"id":"evt_2","type":"invoice.paid","data":{}}]'


class TestConstructEvents:
    @pytest.mark.parametrize("profile", hookseal.PROFILES)
    def test_a_batch_is_a_list_of_events_in_order(self, profile: str) -> None:
        headers = hookseal.sign(BATCH, SECRET, profile=profile, msg_id="bat_1", event_type="batch", timestamp=NOW)
        events = Webhook(SECRET, profile=profile).construct_events(BATCH, headers, now=NOW)
        assert events == json.loads(BATCH)

    def test_a_single_event_is_a_one_element_list(self) -> None:
        assert Webhook(SECRET).construct_events(BODY, signed(), now=NOW) == [json.loads(BODY)]

    def test_an_empty_batch_is_an_empty_list(self) -> None:
        assert Webhook(SECRET).construct_events(b"[]", signed(b"[]"), now=NOW) == []

    def test_construct_event_on_a_batch_names_construct_events(self) -> None:
        with pytest.raises(hookseal.InvalidPayloadError, match=r"batch.*construct_events") as info:
            Webhook(SECRET).construct_event(BATCH, signed(BATCH), now=NOW)
        assert info.value.code == "invalid_payload"

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (b'[{"id":"evt_1"},2]', "element 1 of the verified batch is not a JSON object"),
            (b'[[{"id":"evt_1"}]]', "element 0 of the verified batch is not a JSON object"),
            (b'"text"', "neither a JSON object nor an array"),
            (b"null", "neither a JSON object nor an array"),
            (b"not json", "not valid JSON"),
        ],
    )
    def test_anything_else_is_invalid_payload_after_verification(self, body: bytes, message: str) -> None:
        wh = Webhook(SECRET)
        with pytest.raises(hookseal.InvalidPayloadError, match=message):
            wh.construct_events(body, signed(body), now=NOW)
        with pytest.raises(hookseal.SignatureMismatchError):
            wh.construct_events(body, signed(body, secret="whsec_other"), now=NOW)

    def test_verification_failures_are_raised_as_for_construct_event(self) -> None:
        with pytest.raises(hookseal.TimestampTooOldError):
            Webhook(SECRET).construct_events(BATCH, signed(BATCH, timestamp=NOW - 301), now=NOW)

    def test_typed_batch(self) -> None:
        pytest.importorskip("pydantic")
        from hookseal.examples import example_envelope
        from hookseal.models import InvoicePaidV1Event, TestPingV1Event

        body = json.dumps([example_envelope("invoice.paid"), example_envelope("test.ping")]).encode()
        events = Webhook(SECRET).construct_events(body, signed(body), now=NOW, typed=True)
        assert [type(e) for e in events] == [InvoicePaidV1Event, TestPingV1Event]
        broken = json.dumps([example_envelope("test.ping"), {**example_envelope("invoice.paid"), "data": {}}])
        with pytest.raises(hookseal.InvalidPayloadError, match="event 1 of the verified body") as info:
            Webhook(SECRET).construct_events(broken.encode(), signed(broken.encode()), now=NOW, typed=True)
        assert type(info.value.__cause__).__name__ == "ValidationError"


class TestStandardWebhooksProfile:
    def test_round_trip_with_event_type_ignored(self) -> None:
        headers = hookseal.sign(BODY, SECRET, profile="standard-webhooks", msg_id="msg_1", timestamp=NOW)
        assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
        Webhook(SECRET, profile="standard-webhooks").verify(BODY, headers, now=NOW)

    def test_hookseal_headers_do_not_satisfy_standard_profile(self) -> None:
        with pytest.raises(hookseal.MissingHeaderError):
            Webhook(SECRET, profile="standard-webhooks").verify(BODY, signed(msg_id="m"), now=NOW)


class TestEd25519:
    def test_mixed_keys_pick_scheme_by_prefix(self) -> None:
        signing, public = hookseal.generate_signing_key()
        headers = hookseal.sign(BODY, [SECRET, signing], timestamp=NOW)
        Webhook([public]).verify(BODY, headers, now=NOW)
        Webhook([SECRET]).verify(BODY, headers, now=NOW)
        Webhook(["whsec_other", public]).verify(BODY, headers, now=NOW)

    def test_public_key_round_trip(self) -> None:
        signing, public = hookseal.generate_signing_key()
        assert hookseal.public_key_for(signing) == public


def test_typed_event_that_breaks_its_schema_is_invalid_payload() -> None:
    pytest.importorskip("pydantic")
    body = b'{"id":"evt_12345678","type":"invoice.paid","version":1,"created":1,"livemode":false,"data":{}}'
    with pytest.raises(hookseal.InvalidPayloadError, match="event schema") as info:
        Webhook(SECRET).construct_event(body, signed(body), now=NOW, typed=True)
    assert type(info.value.__cause__).__name__ == "ValidationError"


class TestFastPathAgreesWithTheGeneralPath:
    """verify() has an inlined path for plain dicts and the canonical ``t=..,v1=..`` shape.

    Whatever it accepts or rejects, and with which code, must be exactly what the general
    path (header reader + full parser) decides for the same request.
    """

    @staticmethod
    def outcome(call: Any) -> str:
        try:
            call()
        except hookseal.WebhookVerificationError as exc:
            return exc.code
        return "ok"

    @settings(max_examples=400, deadline=None)
    @given(data=st.data())
    def test_same_result_and_code(self, data: st.DataObject) -> None:
        from hookseal import _headers

        good = signed(timestamp=NOW)["Hookseal-Signature"]
        digest = good.split("v1=")[1]
        stamp = data.draw(
            st.one_of(
                st.just(str(NOW)),
                st.just(str(NOW - 301)),
                st.just("0" * 8 + str(NOW)),  # 18 digits: the most a timestamp may have
                st.just("0" * 9 + str(NOW)),  # 19: malformed, even when correctly signed
                st.just("1" * 5000),  # past int()'s digit limit
                st.from_regex(r"[0-9]{0,20}", fullmatch=True),
                st.text(max_size=5),
            )
        )
        candidate = data.draw(
            st.one_of(
                st.just(digest),
                # Correct for this (maybe odd) timestamp text, so only its shape can fail.
                st.just(hmac.new(KEY, f"{stamp}.".encode("utf-8", "surrogatepass") + BODY, hashlib.sha256).hexdigest()),
                st.just(digest.upper()),
                st.just(digest[:63]),
                st.just(digest + "0"),
                st.just(digest[:30] + "," + digest[31:]),
                st.just(digest[:30] + ",t=1" + digest[34:]),
                st.just(digest[:63] + "é"),
                st.text(min_size=64, max_size=64),
                st.text(max_size=70),
            )
        )
        value = data.draw(
            st.one_of(
                st.just(f"t={stamp},v1={candidate}"),
                st.just(f"v1={candidate},t={stamp}"),
                st.just(f"t={stamp},v1={candidate},v1={digest}"),
                # One character off the canonical shape, outside the digits and the digest.
                st.just(f"x={stamp},v1={candidate}"),
                st.just(f"t={stamp},v2={candidate}"),
                st.just(f"t={stamp};v1={candidate}"),
                st.builds(lambda extra: f"t={stamp},v1={candidate}{extra}", st.text(max_size=10)),
            )
        )
        spellings = ["Hookseal-Signature", "hookseal-signature", "HOOKSEAL-signature", "X-Other"]
        names = data.draw(st.lists(st.sampled_from(spellings), max_size=3, unique=True))
        as_dict = {name: value for name in names}
        secrets = data.draw(st.sampled_from([[SECRET], [OTHER_SECRET, SECRET], [OTHER_SECRET]]))
        wh = Webhook(secrets)
        fast = self.outcome(lambda: wh.verify(BODY, as_dict, now=NOW))
        # The general path: the header reader over pairs, then the full parser.
        general = self.outcome(lambda: wh._verify_v1(BODY, _headers.find(list(as_dict.items()), wh._wanted)[0], NOW))
        assert fast == general

    @pytest.mark.parametrize("tail", [",t=1", ",v0=", ",,,,"])
    def test_a_comma_inside_the_last_64_characters_is_not_the_canonical_shape(self, tail: str) -> None:
        # "t=<now>,v1=<26 chars><tail><34 chars>" is as long as the canonical header, but
        # has more elements: whatever the general parser says of it, the fast path agrees.
        digest = signed(timestamp=NOW)["Hookseal-Signature"].split("v1=")[1]
        value = f"t={NOW},v1={digest[:30]}{tail}{digest[34:]}"
        wh = Webhook(SECRET)
        fast = self.outcome(lambda: wh.verify(BODY, {"Hookseal-Signature": value}, now=NOW))
        general = self.outcome(lambda: wh._verify_v1(BODY, value, NOW))
        assert fast == general

    @pytest.mark.parametrize("digits", [18, 19])
    def test_a_correctly_signed_timestamp_of_too_many_digits_is_malformed(self, digits: int) -> None:
        stamp = str(NOW).zfill(digits)
        mac = hmac.new(KEY, f"{stamp}.".encode() + BODY, hashlib.sha256).hexdigest()
        headers = {"Hookseal-Signature": f"t={stamp},v1={mac}"}
        expected = "ok" if digits <= 18 else "malformed_header"
        assert self.outcome(lambda: Webhook(SECRET).verify(BODY, headers, now=NOW)) == expected


class TestStandardFastPathAgreesWithTheGeneralPath:
    """verify() in ``standard-webhooks`` has an inlined path for plain dicts and one v1 entry.

    Whatever it decides for a request, with which code, the general path (header reader,
    parser, ``_check``) decides the same.
    """

    outcome = staticmethod(TestFastPathAgreesWithTheGeneralPath.outcome)

    @settings(max_examples=400, deadline=None)
    @given(data=st.data())
    def test_same_result_and_code(self, data: st.DataObject) -> None:
        key = base64.b64decode(SECRET[6:])
        msg_id = data.draw(st.one_of(st.just("msg_1"), st.just(""), st.text(max_size=6)))
        stamp = data.draw(
            st.one_of(
                st.just(str(NOW)),
                st.just(str(NOW - 301)),
                st.just(str(NOW + 301)),
                st.just("0" * 8 + str(NOW)),
                st.just("0" * 9 + str(NOW)),
                st.from_regex(r"[0-9]{0,20}", fullmatch=True),
                st.text(max_size=5),
            )
        )
        content = f"{msg_id}.{stamp}.".encode("utf-8", "surrogatepass") + BODY
        good = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
        candidate = data.draw(
            st.one_of(
                st.just(good),
                st.just(good.rstrip("=")),
                st.just(good[:20] + " " + good[21:]),
                st.just(good[:20] + "," + good[21:]),
                st.just(good[:43] + "é"),
                st.just(good.replace("+", "-")),
                st.text(min_size=44, max_size=44),
                st.text(max_size=50),
            )
        )
        value = data.draw(
            st.one_of(
                st.just(f"v1,{candidate}"),
                st.just(f"v1a,{candidate}"),
                st.just(f"v2,{candidate}"),
                st.just(f"v1,{candidate} v1,{good}"),
                st.just(f"v1 {candidate}"),
                st.builds(lambda extra: f"v1,{candidate}{extra}", st.text(max_size=4)),
            )
        )
        present = {"webhook-id": msg_id, "webhook-timestamp": stamp, "webhook-signature": value}
        headers: dict[str, Any] = {}
        for name, text in present.items():
            spelling = data.draw(st.sampled_from([name, name.upper(), name.title(), None, "twice"]))
            if spelling == "twice":
                headers[name] = text
                headers[name.upper()] = text
            elif spelling is not None:
                headers[spelling] = text
        if data.draw(st.booleans()):
            headers["Content-Type"] = "application/json"
        if data.draw(st.booleans()):
            headers[next(iter(headers), "webhook-id")] = data.draw(st.sampled_from([b"bytes", 7, None]))
        secrets = data.draw(st.sampled_from([[SECRET], [OTHER_SECRET, SECRET], [OTHER_SECRET]]))
        wh = Webhook(secrets, profile="standard-webhooks")
        fast = self.outcome(lambda: wh.verify(BODY, headers, now=NOW))
        # The general path: the header reader over pairs, then the full parser.
        general = self.outcome(lambda: wh._verify_standard(BODY, list(headers.items()), NOW))
        assert fast == general, (headers, fast, general)

    @pytest.mark.parametrize("stamp", [str(NOW), str(NOW - 301), "0" * 9 + str(NOW), "12a", ""])
    @pytest.mark.parametrize("shape", ["good", "unpadded", "space", "comma", "non-ascii", "urlsafe", "two", "v1a"])
    def test_every_shape_with_clean_headers(self, stamp: str, shape: str) -> None:
        # The property above spreads its examples over missing and repeated headers too;
        # here every signature shape meets well-formed headers.
        key = base64.b64decode(SECRET[6:])
        good = base64.b64encode(hmac.new(key, f"msg_1.{stamp}.".encode() + BODY, hashlib.sha256).digest()).decode()
        value = {
            "good": f"v1,{good}",
            "unpadded": f"v1,{good.rstrip('=')}",
            "space": f"v1,{good[:20]} {good[21:]}",
            "comma": f"v1,{good[:20]},{good[21:]}",
            "non-ascii": f"v1,{good[:43]}é",
            "urlsafe": f"v1,{good.replace('+', '-').replace('/', '_')}",
            "two": f"v1,{'A' * 43}= v1,{good}",
            "v1a": f"v1a,{good}",
        }[shape]
        headers = {"webhook-id": "msg_1", "Webhook-Timestamp": stamp, "WEBHOOK-SIGNATURE": value}
        wh = Webhook([OTHER_SECRET, SECRET], profile="standard-webhooks")
        fast = self.outcome(lambda: wh.verify(BODY, headers, now=NOW))
        general = self.outcome(lambda: wh._verify_standard(BODY, list(headers.items()), NOW))
        assert fast == general

    def test_a_lone_surrogate_in_the_id_is_signed_as_the_general_path_signs_it(self) -> None:
        msg_id = "msg_\ud800"
        headers = hookseal.sign(BODY, SECRET, profile="standard-webhooks", msg_id=msg_id, timestamp=NOW)
        assert self.outcome(lambda: Webhook(SECRET, profile="standard-webhooks").verify(BODY, headers, now=NOW)) == "ok"

    @pytest.mark.parametrize("body", [b'{"a":"\xed\xa0\x80"}', b'{"a":1}\x00', b'[1, {"a": 2}]  ', b'{"a":"\xc3\xa9"}'])
    def test_parsing_matches_json_loads(self, body: bytes) -> None:
        from hookseal.webhook import _parse_json

        try:
            expected: Any = json.loads(body)
        except ValueError:
            expected = "invalid"
        try:
            got: Any = _parse_json(body)
        except hookseal.InvalidPayloadError:
            got = "invalid"
        assert got == expected
