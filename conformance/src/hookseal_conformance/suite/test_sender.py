"""Sender properties (contract 4), through a sender adapter, received on loopback.

Each test creates its own endpoints under fresh tenants, scripts the receiver's replies
and waits (with timeouts) for what the sender does. Timing checks are tolerant: they
allow scheduler noise but not a missing timeout, an ignored Retry-After or a reused
timestamp.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Sequence
from email.utils import formatdate, parsedate_to_datetime
from typing import Any, Optional

import pytest
from hookseal.profiles import DEFAULT_HEADER_PREFIX, HOOKSEAL_V1, PROFILES, STANDARD_WEBHOOKS
from hypothesis import given, settings
from hypothesis import strategies as st

from hookseal_conformance import _catalog
from hookseal_conformance.errors import AdapterError
from hookseal_conformance.sender import (
    DroppingServer,
    Endpoint,
    Received,
    Reply,
    SenderHarness,
    TricklingServer,
)
from hookseal_conformance.suite._checks import (
    EARLY,
    LATE,
    WAIT,
    _check_all,
    _check_retries,
    _data,
    _event_type,
    _fail,
    _signing_keys,
    request_problems,
)

# -- protocol -----------------------------------------------------------------------------


def test_hello_and_unknown_op(hookseal_sender: SenderHarness) -> None:
    """``hello`` names the sender (``name`` and ``version``, non-empty strings) and lists
    its profiles and signing modes (non-empty lists of the contract's names) and optional
    features; an unknown op answers ``unknown_op`` and nothing breaks."""
    prop = "answers hello with its name, version, profiles and signing modes"
    h = hookseal_sender
    hello = h.hello()
    problems = [f"{key}: {hello.get(key)!r} is not a non-empty string"
                for key in ("name", "version")
                if not isinstance(hello.get(key), str) or not hello.get(key)]
    for key, known in (("profiles", PROFILES), ("signing", ("hmac", "ed25519", "both"))):
        value = hello.get(key)
        if not isinstance(value, list) or not value or not all(v in known for v in value):
            problems.append(f"{key}: {value!r} is not a non-empty list of {list(known)}")
    features = hello.get("features", [])
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        problems.append(f"features: {features!r} is not a list of feature names (optional)")
    if problems:
        raise _fail(h, prop, "name, version, profiles, signing (and optionally features, "
                    "retry_jitter) as the adapter protocol says", "; ".join(problems),
                    extra=f"hello answered {hello!r}")
    answer = h.call({"op": "no_such_op"}, "unknown op")
    if answer.get("ok") is not False or answer.get("error") != "unknown_op":
        raise _fail(h, "answers an unknown op with unknown_op",
                    '{"ok": false, "error": "unknown_op"}', repr(answer))
    h.require({"op": "hello"}, "answers hello after an unknown op")


def test_answers_malformed_requests_with_invalid_request(hookseal_sender: SenderHarness) -> None:
    """A request that is not a JSON object, or has a field of the wrong type, answers
    ``invalid_request`` (adapter protocol), and the adapter keeps answering."""
    prop = "answers malformed adapter requests with invalid_request, never a crash"
    h = hookseal_sender
    ep = h.endpoint(prop=prop)
    bad: list[Any] = [
        [1, 2], "text", {"no": "op"},
        {"op": "create_endpoint", "tenant": ep.tenant, "url": ep.url, "allow_local": True,
         "retry_schedule": "soon"},
        {"op": "create_endpoint", "tenant": ep.tenant, "url": ep.url, "allow_local": True,
         "timeout": "long"},
        {"op": "send", "tenant": ep.tenant, "type": 5, "data": _data()},
        {"op": "get_delivery", "delivery_id": 7},
        {"op": "rotate_secret", "endpoint_id": ep.endpoint_id, "overlap_seconds": "x"},
    ]
    problems = []
    for request in bad:
        try:
            answer = h.adapter.request(request)
        except AdapterError as exc:
            raise _fail(h, prop, '{"ok": false, "error": "invalid_request"}',
                        f"{exc.code}: {exc}", extra=f"request: {json.dumps(request)}") from None
        if answer.get("ok") is not False or answer.get("error") != "invalid_request":
            problems.append(f"{json.dumps(request)} -> {answer!r}")
    h.hello()
    if problems:
        raise _fail(h, prop, '{"ok": false, "error": "invalid_request"} for each',
                    "; ".join(problems))


# -- delivery -----------------------------------------------------------------------------


def test_delivers_signed_catalog_events(hookseal_sender: SenderHarness,
                                        request: pytest.FixtureRequest) -> None:
    """Generated catalog payloads arrive as POSTed JSON, signed, with matching headers."""
    prop = "delivers every event as a signed POST of a valid catalog envelope"
    h = hookseal_sender
    ep = h.endpoint(prop=prop)
    types = _catalog.event_types()
    n = max(1, min(6, int(request.config.getoption("--hookseal-examples")) // 10))

    @settings(max_examples=n)
    @given(event=st.sampled_from(types).flatmap(lambda t: st.tuples(st.just(t), _catalog.data(t))))
    def run(event: tuple[str, dict[str, Any]]) -> None:
        count = len(ep.received)
        h.send(ep, event[0], event[1], prop)
        got = h.wait_requests(ep, count + 1, WAIT)
        if len(got) <= count:
            raise _fail(h, prop, "a request", f"nothing within {WAIT} s for {event[0]}")
        new = got[count:]
        _check_all(h, ep, new, prop)
        body = json.loads(new[0].body)
        if body.get("type") != event[0] or body.get("data") != event[1]:
            raise _fail(h, prop, f"type {event[0]} with the data sent",
                        f"type {body.get('type')!r}, data {body.get('data')!r}", new)

    run()


@pytest.mark.parametrize("wire,prefix", [(STANDARD_WEBHOOKS, None), (HOOKSEAL_V1, "Acme")])
def test_profiles_and_prefix(hookseal_sender: SenderHarness, wire: str,
                             prefix: Optional[str]) -> None:
    """Standard Webhooks endpoints and a custom header prefix are signed accordingly."""
    profile = wire
    prop = f"signs {profile} deliveries" + (f" with prefix {prefix}" if prefix else "")
    h = hookseal_sender
    if profile not in h.hello().get("profiles", []):
        pytest.skip(f"the sender does not list {profile} in hello's profiles")
    options: dict[str, Any] = {"profile": profile}
    if prefix:
        options["header_prefix"] = prefix
    ep = h.endpoint(prop=prop, **options)
    h.send(ep, _event_type(), _data(), prop)
    got = h.wait_requests(ep, 1, WAIT)
    if not got:
        raise _fail(h, prop, "a request", f"nothing within {WAIT} s")
    _check_all(h, ep, got, prop)


def test_event_type_filter(hookseal_sender: SenderHarness) -> None:
    """An event reaches the endpoints subscribed to its type (any of several listed) and
    no other: an endpoint subscribed to other types has no delivery in ``send``'s answer
    and receives nothing, until an event of its own type comes."""
    prop = "delivers only the event types an endpoint subscribed to"
    h = hookseal_sender
    types = _catalog.event_types()
    mine, other = _event_type(), next(t for t in types if t != _event_type())
    ep = h.endpoint(prop=prop, event_types=[other])
    both = h.endpoint(prop=prop, tenant=ep.tenant, event_types=[other, mine])
    answer = h.require({"op": "send", "tenant": ep.tenant, "type": mine, "data": _data()}, prop)
    targets = [d.get("endpoint_id") for d in answer.get("deliveries", [])]
    if ep.endpoint_id in targets or both.endpoint_id not in targets:
        raise _fail(h, prop, f"a {mine} delivery for the endpoint subscribed to [{other}, "
                    f"{mine}] and none for the one subscribed to [{other}]", repr(answer))
    got = h.wait_requests(both, 1, WAIT)
    if not got:
        raise _fail(h, prop, f"the {mine} event at the endpoint subscribed to it", "nothing")
    _check_all(h, both, got, prop)
    stray = h.quiet_for(ep, 0, 0.5)
    if stray:
        raise _fail(h, prop, f"nothing at the endpoint subscribed to [{other}] only",
                    f"{len(stray)} request(s)", stray)
    answer = h.require({"op": "send", "tenant": ep.tenant, "type": other,
                        "data": _data(other)}, prop)
    got = h.wait_requests(ep, 1, WAIT)
    if ep.endpoint_id not in [d.get("endpoint_id") for d in answer.get("deliveries", [])] \
            or len(got) != 1:
        raise _fail(h, prop, f"the {other} event delivered to the endpoint subscribed to it",
                    f"{answer!r}; {len(got)} request(s)", got)
    _check_all(h, ep, got, prop)


def test_rejects_invalid_payload(hookseal_sender: SenderHarness) -> None:
    """Data that does not validate against the catalog schema is refused."""
    prop = "refuses event data that does not match the catalog schema"
    h = hookseal_sender
    ep = h.endpoint(prop=prop)
    bad = {"this field": "is not in the schema", "amount": "not a number"}
    assert not _catalog.catalog().is_valid(_event_type(), bad)
    answer = h.call({"op": "send", "tenant": ep.tenant, "type": _event_type(), "data": bad}, prop)
    if answer.get("ok") is not False or answer.get("error") != "invalid_payload":
        raise _fail(h, prop, '{"ok": false, "error": "invalid_payload"}', repr(answer))


# -- retries ------------------------------------------------------------------------------

TRANSIENT = [500, 502, 503, 504, 429]


# Each status on its own profile and signing mode, so retries are checked in every one.
_RETRY_WIRES = {500: ("hookseal-v1", "hmac"), 502: ("standard-webhooks", "hmac"),
                503: ("hookseal-v1", "both"), 504: ("standard-webhooks", "ed25519"),
                429: ("standard-webhooks", "both")}


def _wire(h: SenderHarness, profile: str, mode: str) -> tuple[str, str]:
    """``profile`` and ``mode`` where the sender lists them in ``hello``, else the defaults."""
    return (profile if profile in _profiles(h) else "hookseal-v1",
            mode if mode in _modes(h) else "hmac")


@pytest.mark.parametrize("status", TRANSIENT)
def test_retries_transient_status(hookseal_sender: SenderHarness, status: int) -> None:
    """5xx and 429 are retried, with the same webhook id and a fresh signature."""
    h = hookseal_sender
    profile, mode = _wire(h, *_RETRY_WIRES[status])
    prop = (f"retries a {status} with the same webhook id and a fresh signature "
            f"({profile}, {mode})")
    ep = h.endpoint([Reply(status), Reply(200)], prop=prop, retry_schedule=[1.2, 1.2],
                    profile=profile, signing=mode)
    did = h.send(ep, _event_type(), _data(), prop)
    got = h.wait_requests(ep, 2, WAIT)
    if len(got) < 2:
        raise _fail(h, prop, "a second attempt after the first got " + str(status),
                    f"{len(got)} request(s) within {WAIT} s", got)
    _check_all(h, ep, got, prop)
    _check_retries(h, ep, got, prop)
    record = h.wait_status(did, ["delivered"], WAIT, prop)
    if record.get("status") != "delivered" or len(record.get("attempts", [])) < 2:
        raise _fail(h, prop, "status delivered after 2 attempts", repr(record), got)


@pytest.mark.parametrize("wire", ["hookseal-v1", "standard-webhooks"])
def test_retry_timestamps_are_fresh(hookseal_sender: SenderHarness, wire: str) -> None:
    """A retry 2 s later carries a timestamp at least a second newer, in each profile."""
    h = hookseal_sender
    profile, mode = _wire(h, wire, "both")
    prop = f"signs every attempt anew (fresh timestamp; {profile}, {mode})"
    ep = h.endpoint([Reply(500), Reply(200)], prop=prop, retry_schedule=[2.2],
                    profile=profile, signing=mode)
    h.send(ep, _event_type(), _data(), prop)
    got = h.wait_requests(ep, 2, WAIT)
    if len(got) < 2:
        raise _fail(h, prop, "two attempts", f"{len(got)} request(s)", got)
    _check_retries(h, ep, got, prop)
    _check_all(h, ep, got, prop)


def test_retries_timeouts(hookseal_sender: SenderHarness) -> None:
    """An attempt that outlives the endpoint's timeout is abandoned and retried."""
    prop = "gives up an attempt at the endpoint's timeout and retries"
    h = hookseal_sender
    ep = h.endpoint([Reply(200, hang=6.0), Reply(200)], prop=prop, timeout=1.0,
                    retry_schedule=[0.3])
    h.send(ep, _event_type(), _data(), prop)
    got = h.wait_requests(ep, 2, 5.0)
    if len(got) < 2:
        raise _fail(h, prop, "a second attempt about 1.3 s after the first (timeout 1 s, "
                    "then 0.3 s)", f"{len(got)} request(s) within 5 s: the first attempt "
                    "was not timed out", got)
    gap = got[1].at - got[0].at
    if gap > 4.0:
        raise _fail(h, prop, "the retry within 4 s (timeout 1 s + delay 0.3 s + slack)",
                    f"{gap:.2f} s", got)
    _check_retries(h, ep, got, prop)


def test_retries_dropped_connections(hookseal_sender: SenderHarness) -> None:
    """A connection closed without an answer (after the request was read), and one reset,
    are each retried: the third attempt is answered and the delivery is delivered."""
    prop = "retries when the connection is dropped (closed or reset without an answer)"
    h = hookseal_sender
    server = DroppingServer(drops=2, reset=(2,))
    try:
        ep = h.endpoint(prop=prop, url=server.url, retry_schedule=[0.3, 0.3])
        did = h.send(ep, _event_type(), _data(), prop)
        arrivals = server.wait(3, WAIT)
        if len(arrivals) < 3:
            raise _fail(h, prop, "a retry after the closed connection and one after the reset "
                        "one", f"{len(arrivals)} connection(s)")
        record = h.wait_status(did, ["delivered"], WAIT, prop)
        attempts = record.get("attempts", [])
        if record.get("status") != "delivered" or len(attempts) != 3 or any(
                a.get("status_code") is not None or not a.get("error") for a in attempts[:2]):
            raise _fail(h, prop, "status delivered; attempts 1 and 2 recorded with an error and "
                        "no status code (no response came), attempt 3 with 200", repr(record))
    finally:
        server.close()


def test_send_does_not_wait_for_the_endpoint(hookseal_sender: SenderHarness) -> None:
    """Enqueue never waits on a customer endpoint (contract 4): ``send`` answers while the
    endpoint still holds the first attempt (it answers after 4 s), and the delivery then
    completes."""
    prop = "answers send without waiting for the endpoint (delivery happens outside the call)"
    h = hookseal_sender
    hold = 4.0
    ep = h.endpoint([Reply(200, hang=hold)], prop=prop, timeout=hold + 3)
    started = time.monotonic()
    did = h.send(ep, _event_type(), _data(), prop)
    took = time.monotonic() - started
    if took > hold / 2:
        raise _fail(h, prop, f"send answered at once (well within the {hold:g} s the endpoint "
                    "takes to answer)", f"send answered after {took:.2f} s")
    record = h.wait_status(did, ["delivered", "failed", "dead_lettered"], hold + WAIT, prop)
    if record.get("status") != "delivered" or len(ep.received) != 1:
        raise _fail(h, prop, "delivered in one attempt once the endpoint answered",
                    f"{len(ep.received)} request(s), {record!r}", list(ep.received))


# Every 4xx but 429 fails permanently, and every 3xx (contract 4): the whole ranges, not a
# list of the usual ones, so a sender retrying 408, 409, 422 or 425 is caught.
PERMANENT = [*range(300, 309), *(s for s in range(400, 500) if s != 429)]


def test_never_retries_permanent_failures(hookseal_sender: SenderHarness) -> None:
    """Every 4xx (but 429) and every 3xx fails the delivery at once: one attempt, failed."""
    prop = "never retries any 4xx but 429, or any 3xx"
    h = hookseal_sender
    eps = {}
    for status in PERMANENT:
        headers = (("Location", h.url_for("/moved")),) if status < 400 else ()
        eps[status] = h.endpoint([Reply(status, headers), Reply(200)], prop=prop,
                                 retry_schedule=[0.3, 0.3])
    dids = {s: h.send(ep, _event_type(), _data(), prop) for s, ep in eps.items()}
    problems = []
    for status in eps:
        record = h.wait_status(dids[status], ["failed", "dead_lettered", "delivered"], WAIT, prop)
        if record.get("status") != "failed":
            problems.append(f"{status}: status {record.get('status')!r}")
    # Every schedule delay (0.3 s) has passed for every endpoint: any retry is here by now.
    h.quiet_for(eps[PERMANENT[-1]], 1, 0.3 + LATE)
    problems += [f"{s}: {len(ep.received)} requests" for s, ep in eps.items()
                 if len(ep.received) != 1]
    if problems:
        raise _fail(h, prop, "exactly one attempt and status 'failed' for each",
                    "; ".join(problems))


def test_never_follows_redirects(hookseal_sender: SenderHarness) -> None:
    """A 3xx is a failure; its Location is never requested."""
    prop = "never follows redirects"
    h = hookseal_sender
    eps = []
    for status in range(300, 309):
        ep = h.endpoint([Reply(status, (("Location", h.url_for(f"/redirected/{status}")),))],
                        prop=prop, retry_schedule=[0.3])
        eps.append((status, ep, h.send(ep, _event_type(), _data(), prop)))
    problems = []
    for status, _ep, did in eps:
        h.wait_status(did, ["failed", "dead_lettered", "delivered"], WAIT, prop)
        if h.stray(f"/redirected/{status}"):
            problems.append(f"{status}: the Location was requested")
    if problems:
        raise _fail(h, prop, "no request to any Location", "; ".join(problems))


@pytest.mark.parametrize("status,form", [(503, "seconds"), (429, "seconds"), (503, "date")])
def test_honours_retry_after(hookseal_sender: SenderHarness, status: int, form: str) -> None:
    """``Retry-After`` (2 s, or an HTTP-date 3 s ahead) on 429/503 delays the retry."""
    prop = f"honours Retry-After ({form}) on {status}"
    h = hookseal_sender
    ep = h.endpoint([Reply(status, (("Retry-After", "2"),)), Reply(200)], prop=prop,
                    retry_schedule=[0.2], retry_after_cap=10)
    dates: list[str] = []
    if form == "date":
        def a_date_first(_: Received) -> Reply:
            if dates:
                return Reply(200)
            # Written as the request arrives, not when the endpoint was made: a sender that
            # is slow to send the first attempt must not find the date nearer.
            dates.append(formatdate(time.time() + 3, usegmt=True))
            return Reply(status, (("Retry-After", dates[0]),))

        ep.decide = a_date_first
    h.send(ep, _event_type(), _data(), prop)
    got = h.wait_requests(ep, 2, WAIT)
    if len(got) < 2:
        raise _fail(h, prop, "a retry", f"{len(got)} request(s)", got)
    gap = got[1].at - got[0].at
    if form == "seconds":
        lo, hi, value = 1.6, 2.0 + LATE, "2"
        expected = "the retry 2 s later"
    else:
        # Whole-second resolution: the date is 2 to 3 s after the request; the retry is
        # due at the date itself, with the seconds form's leeway either side.
        value = dates[0]
        due = parsedate_to_datetime(value).timestamp() - got[0].at
        lo, hi = due - 0.4, due + LATE
        expected = f"the retry at that date, {due:.2f} s after the first request"
    if not lo <= gap <= hi:
        raise _fail(h, prop, f"{expected} (Retry-After: {value}; allowed {lo:.2f} to "
                    f"{hi:.2f} s)", f"the retry came {gap:.2f} s later", got)


def test_caps_retry_after(hookseal_sender: SenderHarness) -> None:
    """``Retry-After`` is honoured within a cap: an hour's wait on a 503, with a 1 s cap,
    still gets its retry within a few seconds (contract 4)."""
    prop = "caps Retry-After at the endpoint's retry_after_cap"
    h = hookseal_sender
    ep = h.endpoint([Reply(503, (("Retry-After", "3600"),)), Reply(200)], prop=prop,
                    retry_schedule=[0.2], retry_after_cap=1)
    h.send(ep, _event_type(), _data(), prop)
    got = h.wait_requests(ep, 2, WAIT)
    if len(got) < 2:
        raise _fail(h, prop, "a retry about 1 s later (Retry-After: 3600, capped at 1 s)",
                    f"{len(got)} request(s) in {WAIT:.0f} s", got)
    gap = got[1].at - got[0].at
    if not 1.0 - EARLY - 0.1 <= gap <= 1.0 + LATE:
        raise _fail(h, prop, f"the retry 1 s later (Retry-After: 3600 honoured up to the 1 s "
                    f"cap; allowed {1.0 - EARLY - 0.1:.2f} to {1.0 + LATE:.2f} s)",
                    f"the retry came {gap:.2f} s later", got)


# Uneven on purpose: a sender that waits the next (or the previous) step's delay is off by
# more than the noise allowed, in one direction or the other.
SCHEDULE = [0.3, 1.5, 0.3]


def test_respects_schedule_and_cap(hookseal_sender: SenderHarness) -> None:
    """Schedule [0.3, 1.5, 0.3]: each gap within the delay and its published jitter (both
    bounds), four attempts, then dead-lettered."""
    prop = "follows the retry schedule (each delay at both bounds) and stops at the attempt cap"
    h = hookseal_sender
    jitter = _jitter(h)
    ep = h.endpoint([Reply(500)], prop=prop, retry_schedule=SCHEDULE)
    did = h.send(ep, _event_type(), _data(), prop)
    attempts = len(SCHEDULE) + 1
    record = h.wait_status(did, ["dead_lettered", "failed", "delivered"], WAIT, prop)
    got = h.quiet_for(ep, attempts, max(SCHEDULE) + LATE)
    if len(got) != attempts or record.get("status") != "dead_lettered":
        raise _fail(h, prop, f"exactly {attempts} attempts (schedule of {len(SCHEDULE)} "
                    "delays + 1), then dead_lettered",
                    f"{len(got)} requests, status {record.get('status')!r}", got)
    gaps = [b.at - a.at for a, b in zip(got, got[1:])]
    for n, (gap, delay) in enumerate(zip(gaps, SCHEDULE), 2):
        low, high = delay * (1 - jitter) - EARLY, delay * (1 + jitter) + LATE
        if not low <= gap <= high:
            raise _fail(h, prop, f"attempt {n} {delay} s after attempt {n - 1} (the schedule "
                        f"{SCHEDULE}, jitter {jitter:g}: {max(low, 0):.2f} to {high:.2f} s)",
                        f"{gap:.2f} s", got)
    _check_retries(h, ep, got, prop)
    recorded = record.get("attempts", [])
    if [a.get("number") for a in recorded] != list(range(1, attempts + 1)) or any(
            a.get("status_code") != 500 for a in recorded):
        raise _fail(h, prop, f"attempts 1 to {attempts} recorded with status_code 500",
                    repr(recorded), got)
    _check_attempt_records(h, prop, recorded, got)


def _check_attempt_records(h: SenderHarness, prop: str, recorded: list[dict[str, Any]],
                           got: list[Received]) -> None:
    """Every attempt is recorded (contract 4): its time (within the noise allowed of when
    the receiver saw it), no error when a response came back, a latency in milliseconds."""
    for n, (a, r) in enumerate(zip(recorded, got), 1):
        at, latency = a.get("at"), a.get("latency_ms")
        if not isinstance(at, (int, float)) or abs(at - r.at) > LATE:
            raise _fail(h, prop, f"attempt {n} recorded at about {r.at:.2f} (when it arrived)",
                        f"at={at!r}", got)
        if a.get("error") is not None:
            raise _fail(h, prop, f"attempt {n}: error null (a response came back)",
                        f"error={a.get('error')!r}", got)
        if not isinstance(latency, (int, float)) or latency < 0:
            raise _fail(h, prop, f"attempt {n}: latency_ms, a number >= 0",
                        f"latency_ms={latency!r}", got)


def _jitter(h: SenderHarness) -> float:
    """The jitter the sender publishes in ``hello`` (``retry_jitter``, default 0)."""
    value = h.hello().get("retry_jitter", 0)
    if not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise _fail(h, "publishes its retry jitter", "retry_jitter: a number in [0, 1)",
                    repr(value))
    return float(value)


#: Contract 4: an attempt records the first 4 KiB of the response body.
BODY_EXCERPT = 4096


def test_attempts_record_the_response(hookseal_sender: SenderHarness) -> None:
    """Every attempt's record holds the response's headers and the first 4 KiB of its body
    (contract 4): a 503 with a 5000-byte body records exactly its first 4096 bytes (no
    fewer, no more), and the 200 after it its whole short body; each with the response's
    own header (``response_headers``, names in any case)."""
    prop = "records each attempt's response headers and the first 4 KiB of its body"
    h = hookseal_sender
    import secrets

    long_body, short_body = secrets.token_hex(2500), f"ok {secrets.token_hex(8)}"
    marks = [secrets.token_hex(8), secrets.token_hex(8)]
    ep = h.endpoint([Reply(503, (("X-Conformance-Mark", marks[0]),), body=long_body),
                     Reply(200, (("X-Conformance-Mark", marks[1]),), body=short_body)],
                    prop=prop, retry_schedule=[0.3])
    did = h.send(ep, _event_type(), _data(), prop)
    record = h.wait_status(did, ["delivered", "failed", "dead_lettered"], WAIT, prop)
    attempts = record.get("attempts", [])
    if record.get("status") != "delivered" or len(attempts) != 2:
        raise _fail(h, prop, "delivered after 2 attempts (503, then 200)", repr(record))
    problems = []
    for n, (attempt, mark, body) in enumerate(zip(attempts, marks,
                                                  (long_body[:BODY_EXCERPT], short_body)), 1):
        headers = attempt.get("response_headers")
        found = {str(k).lower(): v for k, v in headers.items()} if isinstance(headers, dict) \
            else {}
        if found.get("x-conformance-mark") != mark:
            problems.append(f"attempt {n}: response_headers {headers!r} without "
                            f"X-Conformance-Mark: {mark}")
        got = attempt.get("response_body")
        if got != body:
            problems.append(f"attempt {n}: response_body of {len(got) if isinstance(got, str) else got!r}"
                            f" characters, not the {len(body)} expected (the first "
                            f"{BODY_EXCERPT} bytes of a {len(long_body)}-byte body, or a short "
                            "body whole)")
    if problems:
        raise _fail(h, prop, "each attempt with its response's headers and the first 4 KiB "
                    "of its body", "; ".join(problems), ep.received)


def test_timeout_bounds_the_whole_attempt(hookseal_sender: SenderHarness) -> None:
    """An endpoint trickling its response a byte every 0.2 s (no single read waits long) is
    cut off at the attempt's timeout, and the delivery retried."""
    prop = "cuts an attempt off at the endpoint's timeout even when bytes keep trickling in"
    h = hookseal_sender
    server = TricklingServer(interval=0.2, limit=12.0)
    try:
        ep = h.endpoint(prop=prop, url=server.url, timeout=1.0, retry_schedule=[0.3])
        did = h.send(ep, _event_type(), _data(), prop)
        held = server.wait_closed(1.0 + 3 * LATE + 1.0)
        if held is None or held > 1.0 + 2 * LATE:
            raise _fail(h, prop, f"the trickled attempt closed about 1 s in (timeout 1 s; at "
                        f"most {1.0 + 2 * LATE:.1f} s)",
                        "still open after " + f"{1.0 + 3 * LATE + 1.0:.1f} s" if held is None
                        else f"closed after {held:.2f} s")
        record = h.wait_status(did, ["delivered", "failed", "dead_lettered"], WAIT, prop)
        attempts = record.get("attempts", [])
        if record.get("status") != "delivered" or len(attempts) < 2 or attempts[0].get(
                "error") is None:
            raise _fail(h, prop, "attempt 1 recorded with an error (timeout), attempt 2 "
                        "delivered", repr(record))
    finally:
        server.close()


# -- secrets and keys ---------------------------------------------------------------------


OVERLAP = 4.0
# Points in the overlap window (fractions of it) at which an event is sent.
OVERLAP_CHECKPOINTS = (0.05, 0.35, 0.65, 0.88)


def _modes(h: SenderHarness) -> list[str]:
    return [m for m in ("hmac", "ed25519", "both") if m in h.hello().get("signing", ["hmac"])]


def _profiles(h: SenderHarness) -> list[str]:
    return [p for p in ("hookseal-v1", "standard-webhooks")
            if p in h.hello().get("profiles", ["hookseal-v1"])]


def _counts(ep: Endpoint, r: Received) -> tuple[int, int]:
    """The number of ``v1`` and ``v1a`` signatures in a request."""
    if ep.options["profile"] == "standard-webhooks":
        entries = (r.header("webhook-signature") or "").split(" ")
        return (sum(e.startswith("v1,") for e in entries),
                sum(e.startswith("v1a,") for e in entries))
    sig = r.header(f"{ep.options.get('header_prefix') or 'Hookseal'}-Signature") or ""
    elements = sig.split(",")
    return sum(e.startswith("v1=") for e in elements), sum(e.startswith("v1a=") for e in elements)


def test_rotation_overlap(hookseal_sender: SenderHarness) -> None:
    """In each profile and signing mode: events sent across the whole overlap window carry
    the old and the new signatures (each verifying alone); after it, only the new."""
    prop = "signs with the old and the new keys across the whole rotation overlap, then only the new"
    h = hookseal_sender
    rotated: list[tuple[Endpoint, list[str], list[str], float]] = []
    for profile in _profiles(h):
        for mode in _modes(h):
            ep = h.endpoint(prop=prop, profile=profile, signing=mode)
            answer = h.require({"op": "rotate_secret", "endpoint_id": ep.endpoint_id,
                                "overlap_seconds": OVERLAP}, prop)
            old, new = _signing_keys(ep), []
            if mode in ("hmac", "both"):
                new.append(str(answer.get("secret", "")))
            if mode in ("ed25519", "both"):
                new.append(str(answer.get("public_key") or ""))
            ends = answer.get("overlap_ends_at")
            if not isinstance(ends, (int, float)) or not 0 < ends - time.time() <= OVERLAP + 1:
                raise _fail(h, prop, f"overlap_ends_at about {OVERLAP:g} s from now",
                            repr(answer))
            rotated.append((ep, old, new, float(ends)))
    # The window of the endpoint rotated first: no endpoint's overlap starts before it.
    start = min(e for *_, e in rotated) - OVERLAP
    for fraction in (*OVERLAP_CHECKPOINTS, None):
        when = start + OVERLAP * fraction if fraction is not None else max(
            e for *_, e in rotated) + 0.5
        while time.time() < when:
            h.quiet_for(rotated[0][0], len(rotated[0][0].received), when - time.time())
        for ep, old, new, ends in rotated:
            count = len(ep.received)
            h.send(ep, _event_type(), _data(), prop)
            got = h.wait_requests(ep, count + 1, WAIT)
            if len(got) <= count:
                raise _fail(h, prop, "a request", "nothing")
            r = got[count]
            mode = ep.options["signing"]
            where = f"{mode}, {ep.options['profile']}, {r.at - start:.2f} s into a " \
                    f"{OVERLAP:g} s overlap"
            if fraction is not None:
                if r.at > ends - 0.2:
                    continue  # it arrived too close to the end to judge (a loaded machine)
                problems = [p for key in old + new for p in request_problems(ep, r, [key])]
                want = (2 * (mode != "ed25519"), 2 * (mode != "hmac"))
                if problems or _counts(ep, r) != want:
                    raise _fail(h, prop, f"during the overlap ({where}): {want[0]} v1 and "
                                f"{want[1]} v1a signatures, old and new keys each verifying",
                                "; ".join(problems) or f"{_counts(ep, r)} (v1, v1a)", [r])
            else:
                problems = request_problems(ep, r, new)
                still = [k[:10] + "..." for k in old if not request_problems(ep, r, [k])]
                want = (int(mode != "ed25519"), int(mode != "hmac"))
                if problems or still or _counts(ep, r) != want:
                    raise _fail(h, prop, f"after the overlap ({where}): only the new keys, "
                                f"{want[0]} v1 and {want[1]} v1a signatures",
                                "; ".join(problems) or (f"the old {still} still verify"
                                                        if still else f"{_counts(ep, r)}"),
                                [r])


#: Contract 4: the overlap window of a rotation, when none is asked for.
DEFAULT_OVERLAP = 24 * 3600


def test_rotation_default_overlap(hookseal_sender: SenderHarness) -> None:
    """In each profile and signing mode, a ``rotate_secret`` without ``overlap_seconds``
    opens the contract's default overlap, 24 h: ``overlap_ends_at`` is 86400 s after the
    rotation, no sooner and no later (2 s of latency allowed either way), and the next
    delivery carries the old and the new signatures, each verifying."""
    prop = "opens the contract's default 24 h overlap when a rotation names none"
    h = hookseal_sender
    for profile in _profiles(h):
        for mode in _modes(h):
            ep = h.endpoint(prop=prop, profile=profile, signing=mode)
            before = time.time()
            request = {"op": "rotate_secret", "endpoint_id": ep.endpoint_id}
            answer = h.require(request, prop)
            after = time.time()
            ends = answer.get("overlap_ends_at")
            if not isinstance(ends, (int, float)) or isinstance(ends, bool) or \
                    not before + DEFAULT_OVERLAP - 2 <= ends <= after + DEFAULT_OVERLAP + 2:
                raise _fail(h, prop, f"overlap_ends_at {DEFAULT_OVERLAP} s (24 h) after the "
                            f"rotation ({profile}, {mode}): between {before + DEFAULT_OVERLAP - 2:.0f}"
                            f" and {after + DEFAULT_OVERLAP + 2:.0f}", repr(answer),
                            extra=f"request: {json.dumps(request)}")
            old, new = _signing_keys(ep), []
            if mode in ("hmac", "both"):
                new.append(str(answer.get("secret", "")))
            if mode in ("ed25519", "both"):
                new.append(str(answer.get("public_key") or ""))
            h.send(ep, _event_type(), _data(), prop)
            got = h.wait_requests(ep, 1, WAIT)
            if not got:
                raise _fail(h, prop, "a request", "nothing")
            problems = [p for key in old + new for p in request_problems(ep, got[0], [key])]
            want = (2 * (mode != "ed25519"), 2 * (mode != "hmac"))
            if problems or _counts(ep, got[0]) != want:
                raise _fail(h, prop, f"in the default overlap ({profile}, {mode}): {want[0]} v1 "
                            f"and {want[1]} v1a signatures, old and new keys each verifying",
                            "; ".join(problems) or f"{_counts(ep, got[0])} (v1, v1a)", got)


def test_refuses_loopback_without_allow_local(hookseal_sender: SenderHarness) -> None:
    """Loopback destinations are refused at registration unless local is allowed."""
    prop = "refuses loopback destinations when local destinations are not allowed"
    port = hookseal_sender.server.port
    _expect_refused(hookseal_sender, prop, (
        f"http://127.0.0.1:{port}/x", f"http://[::1]:{port}/x", f"http://localhost:{port}/x",
        f"https://127.0.0.1:{port}/x"))


def _expect_refused(h: SenderHarness, prop: str, urls: Sequence[str]) -> None:
    """Register each URL without ``allow_local``; each must answer ``destination_refused``."""
    problems = []
    for url in urls:
        answer = h.call({"op": "create_endpoint", "tenant": "t-ssrf", "url": url,
                         "profile": HOOKSEAL_V1, "header_prefix": DEFAULT_HEADER_PREFIX,
                         "event_types": None, "retry_schedule": [0.5], "timeout": 2.0,
                         "allow_local": False, "signing": "hmac"}, prop)
        if answer.get("ok") is not False or answer.get("error") != "destination_refused":
            problems.append(f"{url}: {answer!r}")
    if problems:
        raise _fail(h, prop, '{"ok": false, "error": "destination_refused"} for each',
                    "; ".join(problems))


# Internal destinations by literal address (no DNS needed), one of each kind contract 4
# names, and plain http:// to a public address.
_INTERNAL = (
    "https://10.0.0.1/x", "https://172.16.0.1/x", "https://192.168.1.1/x",
    "https://169.254.169.254/latest/meta-data/", "https://100.64.0.1/x", "https://0.0.0.0/x",
    "https://224.0.0.1/x", "https://240.0.0.1/x", "https://[fd00::1]/x", "https://[fe80::1]/x",
    "https://[::]/x", "https://[::ffff:127.0.0.1]/x", "https://[::ffff:10.0.0.1]/x",
    "http://93.184.216.34/x",
)


def test_refuses_internal_destinations(hookseal_sender: SenderHarness) -> None:
    """Private, link-local (the metadata address), CGNAT, unspecified, multicast, reserved,
    IPv6 and IPv4-mapped forms, and plain http://, are refused at registration."""
    prop = "refuses private, link-local, CGNAT, multicast and reserved destinations and http://"
    _expect_refused(hookseal_sender, prop, _INTERNAL)


def _names_resolving_internal(port: int) -> list[str]:
    """Destinations whose host is no IP literal but resolves to loopback on any machine
    (IDNA and fullwidth digits, numeric shorthands that resolvers accept, ``localhost``
    spelled otherwise), plus this machine's own name when it resolves to an internal
    address. No traffic leaves loopback: a conforming sender connects nowhere."""
    names = ["localhost.", "LocalHost", "127.1", "2130706433", "0x7f000001", "017700000001",
             "0177.0.0.1", "\uff11\uff12\uff17.\uff10.\uff10.\uff11"]
    host = socket.gethostname()
    try:
        addresses = {str(a[4][0]) for a in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    except OSError:
        addresses = set()
    import ipaddress

    if addresses and all(not ipaddress.ip_address(a.split("%")[0]).is_global
                         for a in addresses):
        names.append(host)
    return [f"https://{n}:{port}/x" for n in names]


def test_refuses_names_resolving_to_internal_addresses(hookseal_sender: SenderHarness) -> None:
    """A name is refused for the addresses it resolves to, not only literals are checked."""
    prop = "refuses destinations whose name resolves to a loopback or private address"
    _expect_refused(hookseal_sender, prop,
                    _names_resolving_internal(hookseal_sender.server.port))


@pytest.mark.parametrize("mode", ["ed25519", "both"])
def test_ed25519_signing(hookseal_sender: SenderHarness, request: pytest.FixtureRequest,
                         mode: str) -> None:
    """ed25519: verifies with the public key; both: with the secret alone or the key alone."""
    prop = f"signs in {mode} mode for receivers holding only the secret or only the key"
    h = hookseal_sender
    if mode not in h.hello().get("signing", []):
        message = f"the sender does not list {mode!r} in hello's signing modes"
        if request.config.getoption("--hookseal-require-ed25519"):
            pytest.fail(message + " (and --require-ed25519 was given)")
        pytest.skip(message + "; pass --require-ed25519 to make this a failure")
    for profile in PROFILES:
        ep = h.endpoint(prop=prop, signing=mode, profile=profile)
        if not (ep.public_key or "").startswith("whpk_"):
            raise _fail(h, prop, "a whpk_ public key from create_endpoint",
                        repr(ep.public_key))
        h.send(ep, _event_type(), _data(), prop)
        got = h.wait_requests(ep, 1, WAIT)
        if not got:
            raise _fail(h, prop, "a request", "nothing")
        holders = [[str(ep.public_key)]] + ([[ep.secret]] if mode == "both" else [])
        for keys in holders:
            problems = request_problems(ep, got[0], keys)
            if problems:
                raise _fail(h, prop + f" ({profile})", "every receiver accepts",
                            "; ".join(problems), got)
