"""Sender properties of the optional features (contract 4.2-4.6), each run only for a
feature the sender declares in ``hello``'s ``features``.

A feature not declared is skipped with that reason; ``--require FEATURE`` (or
``--require all``) makes the skip a failure. A declared feature is judged at its bounds:
a sender that lists it and gets it wrong fails, it is never "unsupported". Each property
runs in both profiles and every signing mode the sender declares (:func:`_wires`), its
endpoints served at the same time where timing allows, so the run is hardly slower.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any, Optional

import hookseal
import pytest
from hookseal.profiles import DEFAULT_HEADER_PREFIX, HOOKSEAL_V1, STANDARD_WEBHOOKS

from hookseal_conformance import _catalog
from hookseal_conformance.features import resolve
from hookseal_conformance.sender import Endpoint, Received, Reply, SenderHarness
from hookseal_conformance.suite._checks import (
    EARLY,
    LATE,
    WAIT,
    _check_all,
    _check_retries,
    _fail,
    _id_header,
    _signing_keys,
    _verifier,
    wire_problems,
)

INVOICE = "invoice.paid"


def feature(h: SenderHarness, request: pytest.FixtureRequest, name: str, *,
            sample: bool = True) -> None:
    """Skip unless the sender declares ``name`` in ``hello``'s ``features`` (a failure
    instead when ``--require`` names it, or ``all``).

    ``sample``: the property's cases are written for the sample catalog's ``invoice.paid``;
    with ``--catalog`` naming a catalog without it, the property is skipped, saying so.
    """
    declared = h.hello().get("features", [])
    if not isinstance(declared, list) or not all(isinstance(f, str) for f in declared):
        raise _fail(h, "declares its optional features in hello",
                    "features: a list of feature names", repr(declared))
    if name in declared:
        if sample and not _catalog.is_sample() and INVOICE not in _catalog.event_types():
            pytest.skip(_NOT_SAMPLE)
        return
    message = f"the sender does not declare {name!r} in hello's features"
    if name in resolve(list(request.config.getoption("--hookseal-require") or [])):
        pytest.fail(message + f" (and --require {name} was given)")
    pytest.skip(message + f"; pass --require {name} to make this a failure")


_NOT_SAMPLE = (f"this property's cases are written for the sample catalog's {INVOICE}, "
               "which the catalog given with --catalog does not have (or has in another "
               "form); the properties of test_sender.py check your catalog's events")


def _invoice(amount: int = 7140, name: Optional[str] = "Northwind Traders",
             metadata: Optional[dict[str, str]] = None,
             invoice_id: Optional[str] = None) -> dict[str, Any]:
    """The catalog's ``invoice.paid`` example with the fields the properties vary."""
    data = _catalog.catalog().example(INVOICE)
    if not _catalog.is_sample() and not isinstance(data.get("invoice"), dict):
        pytest.skip(_NOT_SAMPLE)
    data["invoice"]["total"]["amount"] = amount
    data["invoice"]["customer_name"] = name
    if metadata is not None:
        data["invoice"]["metadata"] = metadata
    if invoice_id is not None:
        data["invoice"]["id"] = invoice_id
    if not _catalog.catalog().is_valid(INVOICE, data):
        if not _catalog.is_sample():
            pytest.skip(_NOT_SAMPLE)
        pytest.fail(f"the suite built invalid {INVOICE} data (is the catalog the sample one?)")
    return data


def _wires(h: SenderHarness, count: int = 0) -> list[dict[str, Any]]:
    """``count`` endpoint profiles and signing modes, each a ``create_endpoint`` override.

    The i-th is (profiles[i % P], modes[i % M]) over what ``hello`` declares (P profiles, M
    signing modes), so any max(P, M) consecutive ones hold every profile and every mode,
    and lcm(P, M) of them (``count`` 0) every pair when P and M are coprime (2 and 3). A
    feature property gives each of its endpoints the next one: every feature is checked in
    both profiles and each signing mode, the ``v1a`` signatures of ``ed25519`` and ``both``
    included (a sender that signs batches or custom-header requests with its HMAC secret
    alone fails there).
    """
    import math

    hello = h.hello()
    profiles = [p for p in (HOOKSEAL_V1, STANDARD_WEBHOOKS)
                if p in hello.get("profiles", [HOOKSEAL_V1])] or [HOOKSEAL_V1]
    modes = [m for m in ("hmac", "ed25519", "both")
             if m in hello.get("signing", ["hmac"])] or ["hmac"]
    count = count or math.lcm(len(profiles), len(modes))
    return [{"profile": profiles[i % len(profiles)], "signing": modes[i % len(modes)]}
            for i in range(count)]


def _cover(h: SenderHarness) -> list[dict[str, Any]]:
    """The fewest wires (:func:`_wires`) holding every declared profile and signing mode."""
    hello = h.hello()
    return _wires(h, max(len(hello.get("profiles", [])), len(hello.get("signing", [])), 1))


def _where(ep: Endpoint) -> str:
    return f"{ep.options['profile']}, {ep.options.get('signing', 'hmac')}"


def _refusals(h: SenderHarness, prop: str, error: str,
              cases: list[dict[str, Any]]) -> None:
    """Each ``create_endpoint`` with these options must answer ``error``, whatever the
    endpoint's signing mode (the cases rotate through them; the profile is the case's, as
    the reserved header names depend on it)."""
    problems = []
    wires = _wires(h)
    for i, options in enumerate(cases):
        answer, _ = h.try_endpoint(prop, **{"signing": wires[i % len(wires)]["signing"],
                                            **options})
        if answer.get("ok") is not False or answer.get("error") != error:
            problems.append(f"{json.dumps(options)} -> {answer!r}")
    if problems:
        raise _fail(h, prop, f'{{"ok": false, "error": "{error}"}} for each', "; ".join(problems))


def _send(h: SenderHarness, tenant: str, event_type: str, data: dict[str, Any], prop: str,
          **extra: Any) -> dict[str, Any]:
    return h.require({"op": "send", "tenant": tenant, "type": event_type, "data": data, **extra},
                     prop)


def _delivery_for(answer: dict[str, Any], ep: Endpoint) -> Optional[str]:
    ids = [d.get("delivery_id") for d in answer.get("deliveries", [])
           if d.get("endpoint_id") == ep.endpoint_id]
    return str(ids[0]) if ids else None


def _body(r: Received) -> Any:
    try:
        return json.loads(r.body)
    except ValueError:
        return None


# -- filters (4.3) ------------------------------------------------------------------------

AMOUNT, NAME, TEAM = "/data/invoice/total/amount", "/data/invoice/customer_name", \
    "/data/invoice/metadata/team"

# (operator, filter, data that matches, data that does not): each at its bound.
FILTERS: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ("$eq", {AMOUNT: {"$eq": 100}}, {"amount": 100}, {"amount": 101}),
    ("$eq null", {NAME: {"$eq": None}}, {"name": None}, {"name": "Ada"}),
    ("$ne", {AMOUNT: {"$ne": 100}}, {"amount": 101}, {"amount": 100}),
    ("$in", {NAME: {"$in": ["Ada", "Bob"]}}, {"name": "Bob"}, {"name": "Carl"}),
    ("$nin", {NAME: {"$nin": ["Ada", "Bob"]}}, {"name": "Carl"}, {"name": "Ada"}),
    ("$gt", {AMOUNT: {"$gt": 100}}, {"amount": 101}, {"amount": 100}),
    ("$gte", {AMOUNT: {"$gte": 100}}, {"amount": 100}, {"amount": 99}),
    ("$lt", {AMOUNT: {"$lt": 100}}, {"amount": 99}, {"amount": 100}),
    ("$lte", {AMOUNT: {"$lte": 100}}, {"amount": 100}, {"amount": 101}),
    ("$exists true", {TEAM: {"$exists": True}}, {"metadata": {"team": "a"}}, {"metadata": {}}),
    ("$exists false", {TEAM: {"$exists": False}}, {"metadata": {}}, {"metadata": {"team": "a"}}),
    ("$and", {"$and": [{AMOUNT: {"$gte": 100}}, {NAME: {"$eq": "Ada"}}]},
     {"amount": 100, "name": "Ada"}, {"amount": 100, "name": "Bob"}),
    ("$or", {"$or": [{AMOUNT: {"$eq": 1}}, {NAME: {"$eq": "Ada"}}]},
     {"amount": 5, "name": "Ada"}, {"amount": 5, "name": "Bob"}),
    ("$not", {"$not": {AMOUNT: {"$eq": 100}}}, {"amount": 101}, {"amount": 100}),
    ("two fields", {AMOUNT: {"$gt": 1, "$lt": 200}, "/type": {"$eq": INVOICE}},
     {"amount": 199}, {"amount": 200}),
]

INVALID_FILTERS: list[Any] = [
    {"/data/invoice/total/amount": {"$regex": "1"}},     # unknown operator
    {"$nor": [{AMOUNT: {"$eq": 1}}]},                     # unknown logical operator
    {"data/invoice": {"$exists": True}},                  # not a JSON Pointer
    {"/data/invoice/~2": {"$exists": True}},              # bad escape (RFC 6901)
    {AMOUNT: {"$in": 5}},                                 # $in takes a list
    {AMOUNT: {"$nin": "Ada"}},
    {AMOUNT: {"$exists": "yes"}},                         # $exists takes a boolean
    {"$and": {AMOUNT: {"$eq": 1}}},                       # $and takes a list
    {"$or": []},                                          # ... of at least one filter
    {"$not": [{AMOUNT: {"$eq": 1}}]},                     # $not takes one filter
    {AMOUNT: {}},                                         # a condition with no operator
]


def _data_of(case: dict[str, Any]) -> dict[str, Any]:
    return _invoice(amount=case.get("amount", 7140), name=case.get("name", "Northwind Traders"),
                    metadata=case.get("metadata"))


def test_filters_each_operator_at_its_bounds(hookseal_sender: SenderHarness,
                                            request: pytest.FixtureRequest) -> None:
    """Per operator: an event that matches is delivered; one that does not makes no
    delivery (none in send's answer, nothing at the receiver)."""
    h = hookseal_sender
    feature(h, request, "filters")
    prop = "delivers an event only when the endpoint's filter matches it (each operator)"
    made = []
    wires = _wires(h, len(FILTERS))
    for i, (name, flt, match, miss) in enumerate(FILTERS):
        ep = h.endpoint(prop=prop, filter=flt, event_types=[INVOICE], **wires[i])
        made.append((name, flt, ep, _data_of(match), _data_of(miss)))
    problems = []
    for name, flt, ep, hit, no in made:
        if _delivery_for(_send(h, ep.tenant, INVOICE, hit, prop), ep) is None:
            problems.append(f"{name} {json.dumps(flt)}: no delivery for data that matches")
        if _delivery_for(_send(h, ep.tenant, INVOICE, no, prop), ep) is not None:
            problems.append(f"{name} {json.dumps(flt)}: a delivery for data that does not match")
    firsts = {ep.endpoint_id: h.wait_requests(ep, 1, WAIT) for _, _, ep, _, _ in made}
    # A second request (the event that does not match) is watched for over one window for
    # every endpoint, 0.3 s after each had its first: not 0.3 s per endpoint in turn.
    quiet_until = time.monotonic() + 0.3
    for name, flt, ep, hit, _ in made:
        got = firsts[ep.endpoint_id]
        got = h.quiet_for(ep, 1, max(0.0, quiet_until - time.monotonic())) \
            if len(got) == 1 else got
        bodies = [_body(r) for r in got]
        if [b.get("data") if isinstance(b, dict) else b for b in bodies] != [hit]:
            problems.append(f"{name} {json.dumps(flt)}: received {len(got)} request(s), "
                            "expected exactly the matching event")
        else:
            _check_all(h, ep, got, prop)
    if problems:
        raise _fail(h, prop, "exactly the matching event, for every operator",
                    "; ".join(problems))


def test_filters_invalid_refused_at_registration(hookseal_sender: SenderHarness,
                                                 request: pytest.FixtureRequest) -> None:
    """Unknown operators, malformed pointers and operands of the wrong kind are refused
    at registration with ``invalid_filter``."""
    h = hookseal_sender
    feature(h, request, "filters")
    _refusals(h, "refuses an invalid filter at registration (invalid_filter)", "invalid_filter",
              [{"filter": f} for f in INVALID_FILTERS])


# -- custom headers (4.3) -----------------------------------------------------------------

HOP_BY_HOP = ("Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE",
              "Trailer", "Transfer-Encoding", "Upgrade")


def test_custom_headers_sent_on_every_attempt(hookseal_sender: SenderHarness,
                                              request: pytest.FixtureRequest) -> None:
    """An endpoint's extra headers (up to the limit of 20) are on every attempt, retries
    included, in both profiles."""
    h = hookseal_sender
    feature(h, request, "headers")
    prop = "sends an endpoint's custom headers on every attempt (at most 20)"
    twenty = {f"X-Custom-{i:02d}": f"value {i}; a=b" for i in range(1, 21)}
    eps = [h.endpoint([Reply(500), Reply(200)], prop=prop, retry_schedule=[0.3],
                      headers=twenty, **wire) for wire in _wires(h)]
    for ep in eps:
        h.send(ep, INVOICE, _invoice(), prop)
    for ep in eps:
        got = h.wait_requests(ep, 2, WAIT)
        if len(got) < 2:
            raise _fail(h, prop, "two attempts", f"{len(got)}", got)
        _check_all(h, ep, got, prop)
        for n, r in enumerate(got, 1):
            wrong = [f"{k}: {r.header(k)!r}" for k, v in twenty.items() if r.header(k) != v]
            if wrong:
                raise _fail(h, prop, f"attempt {n} ({_where(ep)}): each custom "
                            "header with its value", "; ".join(wrong), got)


def test_custom_headers_refused(hookseal_sender: SenderHarness,
                                request: pytest.FixtureRequest) -> None:
    """21 headers, reserved names (signature, webhook id, event type, timestamp, Content-Type,
    Content-Length, Host, hop-by-hop; any case) and names or values that are no HTTP token
    or value are refused with ``invalid_headers``."""
    h = hookseal_sender
    feature(h, request, "headers")
    prop = "refuses more than 20 custom headers, reserved names and invalid names or values"
    cases: list[dict[str, Any]] = [
        {"headers": {f"X-Custom-{i:02d}": "v" for i in range(1, 22)}}]
    v1 = ["Hookseal-Signature", "hookseal-webhook-id", "HOOKSEAL-EVENT-TYPE", "Content-Type",
          "content-length", "Host", *HOP_BY_HOP, "transfer-encoding"]
    cases += [{"headers": {"X-Fine": "1", name: "x"}} for name in v1]
    cases += [{"header_prefix": "Acme", "headers": {name: "x"}}
              for name in ("Acme-Signature", "acme-webhook-id", "Acme-Event-Type")]
    if STANDARD_WEBHOOKS in h.hello().get("profiles", []):
        cases += [{"profile": STANDARD_WEBHOOKS, "headers": {name: "x"}}
                  for name in ("webhook-id", "Webhook-Timestamp", "WEBHOOK-SIGNATURE",
                               "Content-Type", "Host")]
    cases += [{"headers": bad} for bad in (
        {"X Bad": "1"}, {"X:Bad": "1"}, {"": "1"}, {"X-\u00e9": "1"},
        {"X-Ok": "a\r\nX-Injected: 1"}, {"X-Ok": "a\nb"}, {"X-Ok": "a\x00b"})]
    _refusals(h, prop, "invalid_headers", cases)


# -- redaction (4.3) ----------------------------------------------------------------------


def _optional_field() -> Optional[tuple[str, str, str]]:
    """An event type, an optional field of it that its example holds, and a required one."""
    from hookseal_catalog.fields import pointer_value

    catalog = _catalog.catalog()

    def walk(schema: Any, at: str) -> Iterator[tuple[str, bool]]:
        if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
            required = set(schema.get("required") or [])
            for key, sub in schema["properties"].items():
                yield f"{at}/{key}", key in required
                yield from walk(sub, f"{at}/{key}")

    for event_type in _catalog.event_types():
        fields = list(walk(catalog.resolved_schema(event_type), ""))
        example = catalog.example(event_type)
        required = next((p for p, r in fields if r and p.count("/") == 1), None)
        for pointer, is_required in fields:
            if not is_required and required and pointer_value(example, pointer, None) is not None:
                return event_type, pointer, required
    return None


def test_redaction_drops_fields_before_signing(hookseal_sender: SenderHarness,
                                               request: pytest.FixtureRequest) -> None:
    """A redacted optional field is absent from the body, which is signed as sent and still
    a valid event; everything else is as sent. Both profiles."""
    h = hookseal_sender
    feature(h, request, "redaction")
    prop = "drops redacted fields before signing"
    found = _optional_field()
    if found is None:
        pytest.skip("the catalog has no optional field that an example holds, to redact")
    event_type, pointer, _ = found
    from hookseal_catalog.fields import parse_pointer

    data = _catalog.catalog().example(event_type)
    expected = copy.deepcopy(data)
    *parents, last = parse_pointer(pointer)
    node = expected
    for part in parents:
        node = node[part]
    del node[last]
    eps = [h.endpoint(prop=prop, event_types=[event_type], redact=[pointer], **wire)
           for wire in _wires(h)]
    for ep in eps:
        h.send(ep, event_type, data, prop)
    for ep in eps:
        got = h.wait_requests(ep, 1, WAIT)
        if not got:
            raise _fail(h, prop, "a request", "nothing")
        _check_all(h, ep, got, prop)  # the signature covers the body as sent
        body = _body(got[0])
        if not isinstance(body, dict) or body.get("data") != expected:
            raise _fail(h, prop, f"data without {pointer} ({_where(ep)}), the rest as sent",
                        json.dumps(body.get("data") if isinstance(body, dict) else body)[:500],
                        got)


def test_redaction_of_required_field_refused(hookseal_sender: SenderHarness,
                                             request: pytest.FixtureRequest) -> None:
    """A pointer to a required field, or no JSON Pointer at all, is refused with
    ``invalid_redaction``."""
    h = hookseal_sender
    feature(h, request, "redaction")
    found = _optional_field()
    if found is None:
        pytest.skip("the catalog has no optional field that an example holds, to redact")
    event_type, pointer, required = found
    _refusals(h, "refuses redacting a required field (invalid_redaction)", "invalid_redaction",
              [{"event_types": [event_type], "redact": [required]},
               {"event_types": [event_type], "redact": [pointer, required]},
               {"event_types": [event_type], "redact": [pointer.lstrip("/")]}])


# -- rate limit (4.3) ---------------------------------------------------------------------

RATE = 4
RATE_EVENTS = 20


def test_rate_limit_never_exceeded(hookseal_sender: SenderHarness,
                                   request: pytest.FixtureRequest) -> None:
    """At 4 deliveries per second, 20 events sent at once: any k*4 + 1 consecutive arrivals
    span at least k seconds (less the latency allowed), each delivery has exactly one
    attempt (waiting is not an attempt), and the cap does not stall them (all within twice
    the 5 s the cap needs, and a second). One endpoint per profile and signing mode
    (:func:`_cover`), at the same time: each holds its own cap."""
    h = hookseal_sender
    feature(h, request, "rate_limit")
    prop = f"never exceeds the endpoint's rate limit ({RATE}/s) and waiting is not an attempt"
    eps = [h.endpoint(prop=prop, rate_limit=RATE, **wire) for wire in _cover(h)]
    starts, dids = {}, {}
    for ep in eps:  # each endpoint's time counts from its own first send
        starts[ep.endpoint_id] = time.time()
        dids[ep.endpoint_id] = [h.send(ep, INVOICE, _invoice(amount=i), prop)
                                for i in range(RATE_EVENTS)]
    # A lower bound on throughput too (a stall is no rate limit), generous for a loaded
    # machine: twice the time the cap needs, and a second.
    limit = 2 * RATE_EVENTS / RATE + 1.0
    for ep in eps:
        start = starts[ep.endpoint_id]
        got = h.wait_requests(ep, RATE_EVENTS, max(0.0, limit + 2 - (time.time() - start)))
        if len(got) < RATE_EVENTS:
            raise _fail(h, prop, f"{RATE_EVENTS} requests ({_where(ep)})",
                        f"{len(got)} in {limit + 2:.1f} s", got)
        if got[-1].at - start > limit:
            raise _fail(h, prop, f"all {RATE_EVENTS} within {limit:.1f} s (the cap, not a "
                        f"stall; {_where(ep)})", f"the last after {got[-1].at - start:.2f} s",
                        got)
        # The receiver sees arrivals, not the sender's starts: an arrival is its start plus
        # up to LATE of latency, which a loaded machine spends unevenly. Within the cap, the
        # (k*RATE + 1)-th of consecutive starts comes at least k s after the first, so their
        # arrivals span at least k - LATE s; a shorter span proves the cap broken, however
        # loaded the machine. The longer runs make the slack small beside the span.
        times = sorted(r.at for r in got)
        for k in range(1, RATE_EVENTS // RATE + 1):
            n = k * RATE + 1
            for i in range(len(times) - n + 1):
                span = times[i + n - 1] - times[i]
                if span < k - LATE:
                    raise _fail(h, prop, f"any {n} consecutive arrivals over at least "
                                f"{k - LATE:.2f} s (within {RATE}/s the {n}th starts at least "
                                f"{k} s after the first; {LATE} s of latency allowed; "
                                f"{_where(ep)})", f"{n} arrivals within {span:.2f} s from "
                                f"+{times[i] - times[0]:.2f} s", got)
        _check_all(h, ep, got, prop)
        for did in dids[ep.endpoint_id]:
            record = h.wait_status(did, ["delivered", "failed", "dead_lettered"], WAIT, prop)
            if record.get("status") != "delivered" or len(record.get("attempts", [])) != 1:
                raise _fail(h, prop, "delivered in one attempt (waiting for the cap is no "
                            "attempt)", repr(record), got)


def test_rate_limit_invalid_refused(hookseal_sender: SenderHarness,
                                    request: pytest.FixtureRequest) -> None:
    """A rate limit of 0 or less is refused with ``invalid_rate_limit``."""
    h = hookseal_sender
    feature(h, request, "rate_limit")
    _refusals(h, "refuses a rate limit that is not positive (invalid_rate_limit)",
              "invalid_rate_limit", [{"rate_limit": 0}, {"rate_limit": -1}])


# -- batches (4.4) ------------------------------------------------------------------------

_BATCH_ID = re.compile(r"bat_[0-9A-Za-z_-]{8,64}")


def _batch_problems(ep: Endpoint, r: Received) -> list[str]:
    """A batch request: signed over its raw body, a JSON array of valid envelopes, event
    type ``batch``, webhook id ``bat_...``."""
    problems = wire_problems(ep, r)
    ctype = (r.header("Content-Type") or "").split(";")[0].strip().lower()
    if r.method != "POST" or ctype != "application/json":
        problems.append(f"{r.method} of {ctype!r}, not a POST of application/json")
    for key in _signing_keys(ep):
        try:
            _verifier(ep, [key]).verify(r.body, r.headers, now=int(r.at))
        except hookseal.HooksealError as exc:
            problems.append(f"does not verify with {key[:10]}... ({exc.code}: {exc})")
    webhook_id = r.header(_id_header(ep)) or ""
    if not _BATCH_ID.fullmatch(webhook_id):
        problems.append(f"{_id_header(ep)} {webhook_id!r} is not a batch id bat_...")
    if ep.options["profile"] == HOOKSEAL_V1:
        etype = r.header(f"{ep.options.get('header_prefix') or DEFAULT_HEADER_PREFIX}-Event-Type")
        if etype != "batch":
            problems.append(f"event-type header {etype!r}, not 'batch'")
    body = _body(r)
    if not isinstance(body, list) or not body:
        return [*problems, "the body is not a non-empty JSON array"]
    for i, envelope in enumerate(body):
        problem = _catalog.envelope_problems(envelope)
        if problem:
            problems.append(f"element {i} is not a valid catalog event: {problem}")
    return problems


def _batches(h: SenderHarness, ep: Endpoint, got: list[Received], prop: str) -> list[list[str]]:
    """The event ids of each batch request, after checking each request."""
    out = []
    for i, r in enumerate(got, 1):
        problems = _batch_problems(ep, r)
        if problems:
            raise _fail(h, prop, "a signed batch request", f"request {i}: " + "; ".join(problems),
                        got)
        out.append([str(e.get("id")) for e in _body(r)])
    return out


def test_batches_size_and_wait_thresholds(hookseal_sender: SenderHarness,
                                          request: pytest.FixtureRequest) -> None:
    """max_events 3, max_wait 2 s, 7 events sent at once: two full batches at once (3 and 3,
    in enqueue order), the last event alone after max_wait, each event exactly once; each
    event's record is delivered and names its batch. One endpoint per profile and signing
    mode (:func:`_cover`), at the same time."""
    h = hookseal_sender
    feature(h, request, "batches")
    prop = "sends a batch when max_events is reached, or max_wait after its first event"
    wait = 2.0
    eps = [h.endpoint(prop=prop, batch={"max_events": 3, "max_bytes": 1048576,
                                        "max_wait": wait}, **wire) for wire in _cover(h)]
    sends: dict[str, list[tuple[str, str, float]]] = {}
    for ep in eps:
        sent = sends[ep.endpoint_id] = []
        for i in range(7):
            answer = _send(h, ep.tenant, INVOICE, _invoice(amount=i), prop)
            sent.append((str(answer.get("event_id")), str(_delivery_for(answer, ep)),
                         time.time()))
    for ep in eps:
        sent = sends[ep.endpoint_id]
        got = h.wait_requests(ep, 3, max(0.0, sent[-1][2] + wait + 2 * LATE + 2 - time.time()))
        got = h.quiet_for(ep, len(got), 0.3)
        ids = [e for e, _, _ in sent]
        batches = _batches(h, ep, got, prop)
        if batches != [ids[0:3], ids[3:6], ids[6:7]]:
            raise _fail(h, prop, f"three batches, of events 1-3, 4-6 and 7, in enqueue order "
                        f"({_where(ep)})", f"{[len(b) for b in batches]} events: "
                        f"{[[ids.index(e) + 1 if e in ids else e for e in b] for b in batches]}",
                        got)
        for n, (r, last) in enumerate(zip(got[:2], (sent[2][2], sent[5][2])), 1):
            if r.at - last > LATE:
                raise _fail(h, prop, f"full batch {n} sent at once (max_events reached), not "
                            f"after max_wait", f"{r.at - last:.2f} s after its third event", got)
        lag = got[2].at - sent[6][2]
        if not wait - EARLY <= lag <= wait + LATE:
            raise _fail(h, prop, f"the last, partial batch {wait:g} s after its event "
                        f"(max_wait; allowed {wait - EARLY:.2f} to {wait + LATE:.2f} s)",
                        f"{lag:.2f} s", got)
        headers = {r.header(_id_header(ep)) for r in got}
        if len(headers) != 3:
            raise _fail(h, prop, "a batch id per batch", repr(sorted(map(str, headers))), got)
        for n, (_, did, _) in enumerate(sent, 1):
            record = h.wait_status(did, ["delivered", "failed", "dead_lettered"], WAIT, prop)
            batch_id = got[(n - 1) // 3].header(_id_header(ep))
            if record.get("status") != "delivered" or record.get("batch_id") != batch_id:
                raise _fail(h, prop, f"event {n}'s delivery: delivered, batch_id {batch_id}",
                            repr(record), got)


def test_batches_max_bytes(hookseal_sender: SenderHarness,
                           request: pytest.FixtureRequest) -> None:
    """max_bytes of about three envelopes, 6 events sent at once: no body is larger than
    max_bytes, batches hold several events, and a full batch is sent before max_wait. One
    endpoint per profile and signing mode (:func:`_cover`), at the same time."""
    h = hookseal_sender
    feature(h, request, "batches")
    prop = "never sends a batch larger than max_bytes, and sends it when max_bytes is reached"
    size = len(json.dumps(_catalog.catalog().example_envelope(INVOICE)))
    max_bytes, wait = int(size * 3.5), 3.0
    eps = [h.endpoint(prop=prop, batch={"max_events": 100, "max_bytes": max_bytes,
                                        "max_wait": wait}, **wire) for wire in _cover(h)]
    start = time.time()
    sends = {}
    for ep in eps:
        ids = [str(_send(h, ep.tenant, INVOICE, _invoice(amount=i), prop).get("event_id"))
               for i in range(6)]
        sends[ep.endpoint_id] = (ids, time.time())
    for ep in eps:
        ids, sent = sends[ep.endpoint_id]
        got = h.wait_requests(ep, 1, max(0.0, sent + wait + LATE + 1 - time.time()))
        if not got or got[0].at - sent > LATE:
            raise _fail(h, prop, f"a first batch at once (max_bytes {max_bytes} reached), not "
                        f"{wait:g} s later ({_where(ep)})", "nothing" if not got else
                        f"{got[0].at - start:.2f} s after the first event", got)
        deadline = time.monotonic() + wait + 2 * LATE + 2
        while sum(len(b) for b in _batches(h, ep, list(ep.received), prop)) < len(ids) and \
                time.monotonic() < deadline:
            h.quiet_for(ep, len(ep.received), 0.2)
        got = h.quiet_for(ep, len(ep.received), 0.3)
        batches = _batches(h, ep, got, prop)
        if [e for b in batches for e in b] != ids:
            raise _fail(h, prop, f"every event once, in enqueue order ({_where(ep)})",
                        f"{[[ids.index(e) + 1 if e in ids else e for e in b] for b in batches]}",
                        got)
        big = [len(r.body) for r in got if len(r.body) > max_bytes]
        if big or max(len(b) for b in batches) < 2:
            raise _fail(h, prop, f"bodies of at most {max_bytes} bytes, holding several events",
                        f"bodies of {[len(r.body) for r in got]} bytes, "
                        f"{[len(b) for b in batches]} events", got)


def test_batches_retried_as_one(hookseal_sender: SenderHarness,
                                request: pytest.FixtureRequest) -> None:
    """A batch answered 503 is retried as one: the same batch id and the same events on
    every attempt; events sent meanwhile go in a later batch; across everything delivered,
    every event exactly once. One endpoint per profile and signing mode (:func:`_cover`),
    at the same time."""
    h = hookseal_sender
    feature(h, request, "batches")
    prop = "retries a batch as one (same batch id, same events) and delivers each event once"
    eps = [h.endpoint([Reply(503), Reply(200)], prop=prop, retry_schedule=[1.0],
                      batch={"max_events": 2, "max_wait": 0.5}, **wire) for wire in _cover(h)]
    sent: dict[str, list[str]] = {}
    for ep in eps:
        sent[ep.endpoint_id] = [
            str(_send(h, ep.tenant, INVOICE, _invoice(amount=i), prop).get("event_id"))
            for i in range(2)]
    for ep in eps:
        h.wait_requests(ep, 1, WAIT)
        sent[ep.endpoint_id] += [
            str(_send(h, ep.tenant, INVOICE, _invoice(amount=i), prop).get("event_id"))
            for i in range(2, 4)]
    for ep in eps:
        ids, where = sent[ep.endpoint_id], _where(ep)
        got = h.wait_requests(ep, 3, WAIT)
        got = h.quiet_for(ep, len(got), 0.5)
        batches = _batches(h, ep, got, prop)
        first = [i for i, r in enumerate(got) if batches[i] and batches[i][0] == ids[0]]
        if len(first) != 2:
            raise _fail(h, prop, f"the first batch attempted twice ({where})",
                        f"{len(first)} attempt(s)", got)
        a, b = (got[i] for i in first)
        if a.header(_id_header(ep)) != b.header(_id_header(ep)) or \
                batches[first[0]] != batches[first[1]]:
            raise _fail(h, prop, f"the same batch id and events on both attempts ({where})",
                        f"{a.header(_id_header(ep))} {batches[first[0]]} then "
                        f"{b.header(_id_header(ep))} {batches[first[1]]}", got)
        delivered = [e for i, bt in enumerate(batches) if i != first[0] for e in bt]
        if sorted(delivered) != sorted(ids):
            raise _fail(h, prop, f"every event exactly once across the delivered batches "
                        f"({where})", repr(batches), got)


def test_batches_dead_lettered_as_one(hookseal_sender: SenderHarness,
                                      request: pytest.FixtureRequest) -> None:
    """A batch answered 503 on every attempt is dead-lettered as one: exactly the attempt
    cap's 2 attempts of it (the same batch id and events), nothing more (no event sent
    again alone, in another batch or as a third attempt), and every event's record
    ``dead_lettered`` with its ``batch_id`` and both attempts. One endpoint per profile and
    signing mode (:func:`_cover`), at the same time."""
    h = hookseal_sender
    feature(h, request, "batches")
    prop = "dead-letters a batch as one: every event's record, nothing sent again alone"
    eps = [h.endpoint([Reply(503)], prop=prop, retry_schedule=[0.3],
                      batch={"max_events": 2, "max_wait": 0.5}, **wire) for wire in _cover(h)]
    sent: dict[str, list[tuple[str, str]]] = {}
    for ep in eps:
        answers = [_send(h, ep.tenant, INVOICE, _invoice(amount=i), prop) for i in range(2)]
        sent[ep.endpoint_id] = [(str(a.get("event_id")), str(_delivery_for(a, ep)))
                                for a in answers]
    finals = {ep.endpoint_id: [h.wait_status(d, ["delivered", "failed", "dead_lettered"],
                                             WAIT, prop) for _, d in sent[ep.endpoint_id]]
              for ep in eps}
    # Anything sent after the dead letters comes at once: a split batch's events, or a
    # retry past the cap (0.3 s later). The endpoints are watched over the same window.
    quiet_until = time.monotonic() + 0.3 + LATE
    for ep in eps:
        ids, where = [e for e, _ in sent[ep.endpoint_id]], _where(ep)
        records = finals[ep.endpoint_id]
        got = h.wait_requests(ep, 2, WAIT)
        got = h.quiet_for(ep, len(got), max(0.0, quiet_until - time.monotonic()))
        batches = _batches(h, ep, got[:2], prop)
        if len(got) > 2:
            raise _fail(h, prop, f"nothing after the batch's 2 attempts (the cap; {where})",
                        f"{len(got) - 2} more request(s), the first with webhook id "
                        f"{got[2].header(_id_header(ep))!r}", got)
        batch_ids = {r.header(_id_header(ep)) for r in got}
        if batches != [ids, ids] or len(batch_ids) != 1:
            raise _fail(h, prop, f"two attempts of one batch of both events, then nothing "
                        f"({where})", f"{len(got)} request(s): "
                        f"{[[ids.index(e) + 1 if e in ids else e for e in b] for b in batches]}",
                        got)
        batch_id = batch_ids.pop()
        wrong = [r for r in records if r.get("status") != "dead_lettered" or
                 r.get("batch_id") != batch_id or len(r.get("attempts", [])) != 2]
        if wrong:
            raise _fail(h, prop, f"each event's record dead_lettered after 2 attempts, with "
                        f"batch_id {batch_id} ({where})", repr(wrong), got)


def test_batches_limits_refused(hookseal_sender: SenderHarness,
                                request: pytest.FixtureRequest) -> None:
    """max_events up to 1000 and the defaults are accepted; 0, 1001, and a non-positive
    max_bytes or max_wait are refused with ``invalid_batch``."""
    h = hookseal_sender
    feature(h, request, "batches")
    prop = "accepts max_events up to 1000 and refuses what is out of bounds (invalid_batch)"
    for ok in ({}, {"max_events": 1000}, {"max_events": 1, "max_bytes": 1048576,
                                          "max_wait": 30}):
        answer, _ = h.try_endpoint(prop, batch=ok)
        if answer.get("ok") is not True:
            raise _fail(h, prop, f"batch {json.dumps(ok)} accepted", repr(answer))
    _refusals(h, prop, "invalid_batch", [{"batch": b} for b in (
        {"max_events": 0}, {"max_events": 1001}, {"max_bytes": 0}, {"max_wait": 0},
        {"max_wait": -1})])


def _big_invoice(amount: int) -> dict[str, Any]:
    """An ``invoice.paid`` of about 80 KB: the example's line item, 250 times (the most)."""
    data = _invoice(amount=amount)
    data["invoice"]["lines"] = data["invoice"]["lines"][:1] * 250
    return data


def test_batches_defaults(hookseal_sender: SenderHarness,
                          request: pytest.FixtureRequest) -> None:
    """Endpoints taking batches with no limit named get the contract's defaults. On one, 101
    events sent at once make a full batch of the first 100 at once (``max_events`` 100) and
    the 101st alone 30 s after it was sent (``max_wait`` 30, both bounds). On another, about
    1.5 MiB of events of about 80 KB each: batches of several events, none over 1 MiB, the first sent
    at once when the next event would not fit (``max_bytes`` 1 MiB)."""
    h = hookseal_sender
    feature(h, request, "batches")
    prop = "applies the default batch limits (max_events 100, max_bytes 1 MiB, max_wait 30 s)"
    wait, max_bytes = 30.0, 1 << 20
    by_count, by_size = h.endpoint(prop=prop, batch={}), h.endpoint(prop=prop, batch={})
    counted = [(str(_send(h, by_count.tenant, INVOICE, _invoice(amount=i), prop)
                    .get("event_id")), time.time()) for i in range(101)]
    # Enough ~80 KB events for 1.5 MiB: one full batch at once, the rest after max_wait.
    n_big = max_bytes * 3 // (2 * len(json.dumps(_big_invoice(0)))) + 1
    sized = [(str(_send(h, by_size.tenant, INVOICE, _big_invoice(i), prop).get("event_id")),
              time.time()) for i in range(n_big)]
    # The first batch by size is due at once when the next event would not fit, which was
    # sent by the last one: a sender still holding it then fails now, not after max_wait.
    if not h.wait_requests(by_size, 1, max(0.0, sized[-1][1] + LATE + 1 - time.time())):
        raise _fail(h, prop, "the first batch sent at once when the next event would not fit "
                    "in 1 MiB (the default max_bytes)", f"nothing within {LATE + 1:.1f} s of "
                    f"the last of {n_big} events of about "
                    f"{len(json.dumps(_big_invoice(0))) // 1024} KB each")
    # Both endpoints' last batches come max_wait after their last event: one wait for both.
    got = h.wait_requests(by_count, 2, max(0.0, counted[-1][1] + wait + LATE + 2 - time.time()))
    got = h.quiet_for(by_count, len(got), 0.3)
    ids = [e for e, _ in counted]
    batches = _batches(h, by_count, got, prop)
    if batches != [ids[:100], ids[100:]]:
        raise _fail(h, prop, f"two batches, of events 1-100 and 101, in enqueue order "
                    f"({_where(by_count)})", f"batches of {[len(b) for b in batches]} events",
                    got)
    if got[0].at - counted[99][1] > LATE:
        raise _fail(h, prop, "the full batch of 100 sent at once (the default max_events)",
                    f"{got[0].at - counted[99][1]:.2f} s after its 100th event", got)
    lag = got[1].at - counted[100][1]
    if not wait - EARLY <= lag <= wait + LATE:
        raise _fail(h, prop, f"the last event {wait:g} s after it was sent (the default "
                    f"max_wait; allowed {wait - EARLY:.2f} to {wait + LATE:.2f} s)",
                    f"{lag:.2f} s", got)
    big_ids = [e for e, _ in sized]
    got = h.wait_requests(by_size, 2, max(0.0, sized[-1][1] + wait + LATE + 2 - time.time()))
    got = h.quiet_for(by_size, len(got), 0.3)
    batches = _batches(h, by_size, got, prop)
    sizes = [len(r.body) for r in got]
    if [e for b in batches for e in b] != big_ids:
        raise _fail(h, prop, f"every event once, in enqueue order ({_where(by_size)})",
                    f"{[[big_ids.index(e) + 1 if e in big_ids else e for e in b] for b in batches]}",
                    got)
    if max(sizes) > max_bytes or len(batches) < 2 or max(len(b) for b in batches) < 2:
        raise _fail(h, prop, f"batches of several events, none over {max_bytes} bytes (the "
                    "default max_bytes)", f"bodies of {sizes} bytes, "
                    f"{[len(b) for b in batches]} events", got)
    if got[0].at - sized[len(batches[0])][1] > LATE:
        raise _fail(h, prop, "the first batch sent at once when the next event would not fit "
                    "in 1 MiB (the default max_bytes)",
                    f"{got[0].at - sized[len(batches[0])][1]:.2f} s after that event", got)


# -- ordered delivery (4.5) ---------------------------------------------------------------

KEY_A, KEY_B = "in_AAAAAAAAAA", "in_BBBBBBBBBB"
# (key, amount): the amount names the event at the receiver; 1 fails once (503, retried
# 1.5 s later), 4 fails for good (400: not 410, which many senders take to mean the
# endpoint is gone and disable it, cancelling the rest). Enqueue order as listed.
ORDERED = [(KEY_A, 1), (KEY_A, 2), (KEY_B, 3), (KEY_A, 4), (KEY_B, 5), (KEY_A, 6)]


def _amount(r: Received) -> int:
    return int(_body(r)["data"]["invoice"]["total"]["amount"])


def _ordered_endpoint(h: SenderHarness, prop: str, wire: dict[str, Any],
                      fails: dict[int, list[int]]) -> Endpoint:
    """An ordered endpoint whose receiver answers event ``amount``'s n-th attempt with
    ``fails[amount][n - 1]`` (200 past the list), each after 0.15 s."""
    seen: dict[int, int] = {}

    def decide(r: Received) -> Reply:
        body = _body(r)
        amount = body["data"]["invoice"]["total"]["amount"] if isinstance(body, dict) else 0
        seen[amount] = seen.get(amount, 0) + 1
        script = fails.get(amount, [])
        return Reply(script[seen[amount] - 1] if seen[amount] <= len(script) else 200,
                     hang=0.15)

    ep = h.endpoint(prop=prop, ordering="per_key", event_types=[INVOICE],
                    **{"retry_schedule": [1.5], **wire})
    ep.decide = decide
    return ep


def _check_key_order(h: SenderHarness, prop: str, got: list[Received], key: str,
                     order: list[int]) -> None:
    """Key ``key``'s events arrived in enqueue order (``order``: the amounts), none before
    the one before it was answered, ``sequence`` 1, 2, ... (the same on a retry)."""
    mine = [r for r in got if _body(r)["data"]["invoice"]["id"] == key]
    idx = [order.index(_amount(r)) for r in mine]
    if idx != sorted(idx):
        raise _fail(h, prop, f"key {key}'s events in enqueue order, each done before the "
                    "next", f"arrival order (events by enqueue position) {idx}", got)
    for a, b in zip(mine, mine[1:]):
        if a.answered is None or b.at < a.answered - 0.05:
            raise _fail(h, prop, f"key {key}: no request before the previous one was "
                        "answered", f"a request at +{b.at - got[0].at:.2f} s while one "
                        "was in flight", got)
    sequences = [_body(r).get("sequence") for r in mine]
    firsts = [s for i, s in enumerate(sequences) if i == 0 or idx[i] != idx[i - 1]]
    if not all(isinstance(s, int) for s in sequences) or firsts[:1] != [1] or any(
            b - a != 1 for a, b in zip(firsts, firsts[1:])) or any(
            sequences[i] != sequences[i - 1] for i in range(1, len(idx))
            if idx[i] == idx[i - 1]):
        raise _fail(h, prop, f"key {key}: sequence 1 for its first event, then one more "
                    "per event, the same on a retry", repr(sequences), got)


def test_ordering_per_key(hookseal_sender: SenderHarness, request: pytest.FixtureRequest) -> None:
    """Events sharing a key arrive in enqueue order and never overlap, the next one only
    after the one before was delivered or failed (a 503 retried, a 400); another key is not
    held back by a retry; ``sequence`` starts at 1 and increases by one per key (the same on
    a retry), and an unordered endpoint of the same tenant gets no ``sequence``. One
    ordered endpoint per profile and signing mode (:func:`_cover`), at the same time."""
    h = hookseal_sender
    feature(h, request, "ordering")
    prop = "delivers events of one key in order, one at a time, without holding other keys"
    pairs = []
    for wire in _cover(h):
        ep = _ordered_endpoint(h, prop, wire, {1: [503], 4: [400, 400]})
        pairs.append((ep, h.endpoint(prop=prop, tenant=ep.tenant, event_types=[INVOICE])))
    for ep, _ in pairs:
        for key, amount in ORDERED:
            _send(h, ep.tenant, INVOICE, _invoice(amount=amount, invoice_id=key), prop)
    order = [amount for _, amount in ORDERED]
    for ep, plain in pairs:
        got = h.wait_requests(ep, len(ORDERED) + 1, 1.5 + 6 * 0.15 + 4 * LATE + 2)
        got = h.quiet_for(ep, len(got), 0.5)
        plain_got = h.wait_requests(plain, len(ORDERED), WAIT)
        _check_all(h, ep, got, prop)
        if sorted(_amount(r) for r in got) != sorted([*order, 1]):
            raise _fail(h, prop, f"each event once, event 1 twice (503, then delivered; "
                        f"{_where(ep)})", repr([_amount(r) for r in got]), got)
        for key in (KEY_A, KEY_B):
            _check_key_order(h, prop, got, key, order)
        retry = [r for r in got if _amount(r) == 1][-1]
        b_first = next(r for r in got if _amount(r) == 3)
        if b_first.at > retry.at:
            raise _fail(h, prop, f"key {KEY_B}'s first event before key {KEY_A}'s retry "
                        "(other keys are not held back)", f"at +{b_first.at - got[0].at:.2f} "
                        f"s, the retry at +{retry.at - got[0].at:.2f} s", got)
        with_sequence = [r for r in plain_got if isinstance(_body(r), dict) and
                         "sequence" in _body(r)]
        if len(plain_got) != len(ORDERED) or with_sequence:
            raise _fail(h, prop, "the unordered endpoint: every event, without sequence",
                        f"{len(plain_got)} requests, {len(with_sequence)} with sequence",
                        plain_got)


def test_ordering_continues_after_dead_letter(hookseal_sender: SenderHarness,
                                              request: pytest.FixtureRequest) -> None:
    """A key's event dead-lettered (503 on each of its 2 attempts, retried 0.6 s later) does
    not block its key: the next event of that key is sent after the dead letter (not while
    it waits for its retry, the lower bound) and soon after it (no stall, the upper bound:
    within the latency allowed and a second), ``sequence`` one more; the dead letter's
    record is ``dead_lettered`` with its 2 attempts. One ordered endpoint per profile and
    signing mode (:func:`_cover`), at the same time."""
    h = hookseal_sender
    feature(h, request, "ordering")
    prop = "sends a key's next event after one that was dead-lettered, in order"
    eps = [_ordered_endpoint(h, prop, {"retry_schedule": [0.6], **wire}, {1: [503, 503]})
           for wire in _cover(h)]
    dids = {}
    for ep in eps:
        dids[ep.endpoint_id] = [
            str(_delivery_for(_send(h, ep.tenant, INVOICE,
                                    _invoice(amount=amount, invoice_id=KEY_A), prop), ep))
            for amount in (1, 2)]
    for ep in eps:
        dead, nxt = (h.wait_status(d, ["delivered", "failed", "dead_lettered"], WAIT, prop)
                     for d in dids[ep.endpoint_id])
        got = h.wait_requests(ep, 3, WAIT)
        got = h.quiet_for(ep, len(got), 0.3)
        _check_all(h, ep, got, prop)
        if [_amount(r) for r in got] != [1, 1, 2]:
            raise _fail(h, prop, f"event 1 twice (503, 503: dead-lettered), then event 2 "
                        f"({_where(ep)})", f"events {[_amount(r) for r in got]}", got)
        _check_retries(h, ep, got[:2], prop)
        if (dead.get("status"), len(dead.get("attempts", []))) != ("dead_lettered", 2) or \
                nxt.get("status") != "delivered":
            raise _fail(h, prop, "event 1 dead_lettered after 2 attempts, event 2 delivered",
                        f"{dead!r}; {nxt!r}", got)
        last, after = got[1], got[2]
        if last.answered is None or after.at < last.answered - 0.05:
            raise _fail(h, prop, "event 2 only after event 1's last attempt was answered",
                        f"event 2 at +{after.at - got[0].at:.2f} s, while event 1 was "
                        "in flight or waiting for its retry", got)
        if after.at - last.answered > LATE + 1.0:
            raise _fail(h, prop, f"event 2 within {LATE + 1.0:.1f} s of event 1's dead "
                        "letter (a dead letter does not stall its key)",
                        f"{after.at - last.answered:.2f} s later", got)
        _check_key_order(h, prop, got, KEY_A, [1, 2])


def test_ordering_invalid_refused(hookseal_sender: SenderHarness,
                                  request: pytest.FixtureRequest) -> None:
    """An ordering other than ``per_key`` is refused with ``invalid_ordering``."""
    h = hookseal_sender
    feature(h, request, "ordering")
    _refusals(h, "refuses an unknown ordering (invalid_ordering)", "invalid_ordering",
              [{"ordering": "global"}, {"ordering": ""}])


# -- pinned versions (4.2) ----------------------------------------------------------------


def _versioned() -> Optional[tuple[str, int, int]]:
    """An event type with an older version still served: (type, old, current)."""
    catalog = _catalog.catalog()
    for event_type in _catalog.event_types():
        event = catalog.event(event_type)
        current = event.current.version
        older = [v.version for v in event if v.version < current and not v.is_past_sunset()]
        if older:
            return event_type, max(older), current
    return None


def test_versions_pinned_per_event_type(hookseal_sender: SenderHarness,
                                        request: pytest.FixtureRequest) -> None:
    """An endpoint pinned to an older version gets that version: ``version`` says so and
    ``data`` is the catalog's derivation of the data sent (valid for that schema); pinned
    to the current version or unpinned, the data as sent; the same webhook id on every
    endpoint. Both profiles."""
    h = hookseal_sender
    feature(h, request, "versions", sample=False)
    prop = "sends each endpoint the version it is pinned to, derived as the catalog says"
    found = _versioned()
    if found is None:
        pytest.skip("the catalog has no event type with an older version still served")
    event_type, old, current = found
    from hookseal_catalog.derivation import derive

    data = _catalog.catalog().example(event_type)
    derived = derive(_catalog.catalog(), event_type, data, old)
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    # The pinned endpoints take every profile and signing mode; the others the rest.
    wires = _wires(h)
    wires += _wires(h, len(wires) + 2)[len(wires):]
    pins: list[tuple[Optional[int], int, dict[str, Any]]] = [(old, old, derived)] * (
        len(wires) - 2) + [(current, current, data), (None, current, data)]
    eps = []
    for wire, (pin, version, want) in zip(wires, pins):
        pin_field: dict[str, Any] = {"versions": {event_type: pin}} if pin is not None else {}
        eps.append((h.endpoint(prop=prop, tenant=tenant, **wire, **pin_field), version, want))
    answer = _send(h, tenant, event_type, data, prop)
    event_id = answer.get("event_id")
    for ep, version, want in eps:
        got = h.wait_requests(ep, 1, WAIT)
        if not got:
            raise _fail(h, prop, "a request", "nothing")
        _check_all(h, ep, got, prop)
        body = _body(got[0])
        pinned = ep.options.get("versions")
        if body.get("version") != version or body.get("data") != want or \
                body.get("id") != event_id:
            raise _fail(h, prop, f"version {version} (pinned {pinned}; {_where(ep)}), its "
                        f"data, and the event id {event_id}", f"version {body.get('version')!r}, "
                        f"id {body.get('id')!r}, data {json.dumps(body.get('data'))[:300]}", got)


def test_versions_invalid_pin_refused(hookseal_sender: SenderHarness,
                                      request: pytest.FixtureRequest) -> None:
    """A pin to a version or an event type the catalog does not have is refused with
    ``invalid_version``."""
    h = hookseal_sender
    feature(h, request, "versions")
    _refusals(h, "refuses a pin to a version the catalog does not serve (invalid_version)",
              "invalid_version", [{"versions": {INVOICE: 999}}, {"versions": {INVOICE: 0}},
                                  {"versions": {"no_such.event": 1}}])


# -- endpoint authentication and tracing (4.6) ---------------------------------------------


def test_auth_static_authorization(hookseal_sender: SenderHarness,
                                   request: pytest.FixtureRequest) -> None:
    """A static Authorization value is on every attempt, retries included, in both profiles,
    and never in the adapter's answers (a secret is shown never again)."""
    h = hookseal_sender
    feature(h, request, "auth_static")
    prop = "sends the endpoint's static Authorization on every attempt, and never shows it"
    made = []
    for i, wire in enumerate(_wires(h)):
        value = f"{('Bearer', 'Basic')[i % 2]} tok_{secrets.token_hex(12)}"
        ep = h.endpoint([Reply(500), Reply(200)], prop=prop, retry_schedule=[0.3],
                        auth={"type": "static", "authorization": value}, **wire)
        made.append((ep, value, h.send(ep, INVOICE, _invoice(), prop)))
    for ep, value, did in made:
        got = h.wait_requests(ep, 2, WAIT)
        if len(got) < 2 or any(r.header("Authorization") != value for r in got):
            raise _fail(h, prop, f"Authorization: {value} on both attempts ({_where(ep)})",
                        repr([r.header("Authorization") for r in got]), got)
        _check_all(h, ep, got, prop)
        record = h.wait_status(did, ["delivered"], WAIT, prop)
        if value.split()[1] in json.dumps(record):
            raise _fail(h, prop, "get_delivery without the credential", repr(record))


def test_auth_invalid_refused(hookseal_sender: SenderHarness,
                              request: pytest.FixtureRequest) -> None:
    """An unknown auth type, or an Authorization value no header can carry, is refused
    with ``invalid_auth``."""
    h = hookseal_sender
    feature(h, request, "auth_static")
    _refusals(h, "refuses an invalid endpoint auth (invalid_auth)", "invalid_auth", [
        {"auth": {"type": "oauth", "client_id": "c", "client_secret": "s"}},  # no token_url
        {"auth": {"type": "kerberos"}},
        {"auth": {"type": "static", "authorization": "Bearer a\r\nX-Injected: 1"}},
        {"auth": {"type": "static", "authorization": ""}}])


def _form(r: Received) -> dict[str, str]:
    import urllib.parse

    return dict(urllib.parse.parse_qsl(r.body.decode("utf-8", "replace")))


def _client(r: Received) -> tuple[Optional[str], Optional[str]]:
    """The client id and secret of a token request: HTTP Basic, or the form (RFC 6749)."""
    import base64
    import urllib.parse

    auth = r.header("Authorization") or ""
    if auth.startswith("Basic "):
        try:
            cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return None, None
        return urllib.parse.unquote_plus(cid), urllib.parse.unquote_plus(secret)
    form = _form(r)
    return form.get("client_id"), form.get("client_secret")


def test_auth_oauth_client_credentials(hookseal_sender: SenderHarness,
                                       request: pytest.FixtureRequest) -> None:
    """OAuth 2.0 client credentials: the token is fetched from the token URL (a POST of
    ``grant_type=client_credentials`` with the client's id and secret and the scope),
    cached (one fetch for three deliveries) and sent as ``Bearer``; a 401 makes the sender
    fetch a new token and deliver with it (not fail); no secret or token in the adapter's
    answers."""
    h = hookseal_sender
    feature(h, request, "auth_oauth")
    prop = "authenticates with OAuth client credentials: fetched, cached, refreshed on a 401"
    for wire in _cover(h):
        _oauth_case(h, prop, wire)


def _oauth_case(h: SenderHarness, prop: str, wire: dict[str, Any]) -> None:
    """One endpoint of the OAuth property (``wire``: its profile and signing mode), with its
    own token endpoint."""
    issued: list[str] = []
    client_secret = f"cs_{secrets.token_hex(12)}"

    def token(r: Received) -> Reply:
        cid, secret = _client(r)
        form = _form(r)
        if r.method != "POST" or form.get("grant_type") != "client_credentials" or \
                (cid, secret) != ("cid-conformance", client_secret):
            return Reply(400, (("Content-Type", "application/json"),),
                         body='{"error":"invalid_client"}')
        issued.append(f"tok_{secrets.token_hex(10)}")
        return Reply(200, (("Content-Type", "application/json"),), body=json.dumps(
            {"access_token": issued[-1], "token_type": "Bearer", "expires_in": 3600}))

    token_ep = h.listen(token)
    refused_once: list[Received] = []

    def hook(r: Received) -> Reply:
        body = _body(r)
        amount = body["data"]["invoice"]["total"]["amount"] if isinstance(body, dict) else 0
        if issued and r.header("Authorization") != f"Bearer {issued[-1]}":
            return Reply(401)
        if amount == 3 and not refused_once:
            refused_once.append(r)
            return Reply(401)  # the token was revoked: the sender must fetch a new one
        return Reply(200)

    ep = h.endpoint(prop=prop, retry_schedule=[0.3], auth={
        "type": "oauth", "token_url": h.url_for(token_ep.path), "client_id": "cid-conformance",
        "client_secret": client_secret, "scope": "webhooks", "audience": None}, **wire)
    ep.decide = hook
    dids = []
    for amount in (1, 2):
        dids.append(h.send(ep, INVOICE, _invoice(amount=amount), prop))
        h.wait_status(dids[-1], ["delivered", "failed", "dead_lettered"], WAIT, prop)
    fetched = len(token_ep.received)
    dids.append(h.send(ep, INVOICE, _invoice(amount=3), prop))
    records = [h.wait_status(d, ["delivered", "failed", "dead_lettered"], WAIT, prop)
               for d in dids]
    got = list(ep.received)
    if fetched != 1 or any(_form(r).get("scope") != "webhooks" for r in token_ep.received):
        raise _fail(h, prop, "one token request (with scope webhooks) for the first two "
                    "deliveries: the token is cached", f"{fetched} token request(s)",
                    token_ep.received)
    if [r.get("status") for r in records] != ["delivered"] * 3 or len(issued) != 2:
        raise _fail(h, prop, "three deliveries delivered, the third after a 401 with a new "
                    "token (two tokens issued)",
                    f"{[r.get('status') for r in records]}, {len(issued)} token(s) issued", got)
    _check_all(h, ep, got, prop)
    last = got[-1]
    if last.header("Authorization") != f"Bearer {issued[-1]}":
        raise _fail(h, prop, "the last attempt with the new token",
                    repr(last.header("Authorization")), got)
    answers = json.dumps(records)
    if client_secret in answers or any(t in answers for t in issued):
        raise _fail(h, prop, "no client secret or token in get_delivery", answers[:500])


def test_auth_mtls_client_certificate(hookseal_sender: SenderHarness,
                                     request: pytest.FixtureRequest) -> None:
    """Mutual TLS: a receiver that requires a client certificate gets the delivery from
    an endpoint holding one the test CA issued (every attempt, a retry included); an
    endpoint without it reaches nothing (the attempt fails at the handshake); an expired
    certificate, a key that does not match, or text that is no PEM is refused at
    registration (``invalid_auth``); the key never shows in an answer."""
    h = hookseal_sender
    feature(h, request, "auth_mtls")
    prop = "presents the endpoint's TLS client certificate and checks it at registration"
    pki = h.pki
    path = f"/hook/{uuid.uuid4().hex[:12]}"
    mtls = {"type": "mtls", "cert_pem": pki.client_cert_pem, "key_pem": pki.client_key_pem}
    eps = [h.endpoint([Reply(503), Reply(200)], prop=prop, retry_schedule=[0.3],
                      url=h.tls_url_for(f"{path}{i}", require_client_cert=True),
                      tls_ca_pem=pki.ca_pem, auth=mtls, **wire)
           for i, wire in enumerate(_cover(h))]
    bare = h.endpoint(prop=prop, retry_schedule=[0.3], tls_ca_pem=pki.ca_pem,
                      url=h.tls_url_for(f"/hook/{uuid.uuid4().hex[:12]}",
                                        require_client_cert=True))
    dids = [h.send(ep, INVOICE, _invoice(), prop) for ep in eps]
    bare_did = h.send(bare, INVOICE, _invoice(), prop)
    for ep, did in zip(eps, dids):
        record = h.wait_status(did, ["delivered", "failed", "dead_lettered"], WAIT, prop)
        got = h.wait_requests(ep, 2, WAIT)
        if record.get("status") != "delivered" or len(got) != 2:
            raise _fail(h, prop, f"two attempts through mutual TLS (503, then delivered; "
                        f"{_where(ep)})", f"{len(got)} request(s), status "
                        f"{record.get('status')!r}", got)
        _check_all(h, ep, got, prop)
    bare_record = h.wait_status(bare_did, ["delivered", "failed", "dead_lettered"], WAIT, prop)
    if bare.received or bare_record.get("status") == "delivered":
        raise _fail(h, prop, "no request without a client certificate (the handshake fails)",
                    f"{len(bare.received)} request(s), {bare_record!r}")
    if "PRIVATE KEY" in json.dumps(h.delivery(dids[0], prop)):
        raise _fail(h, prop, "no key in get_delivery", "the key's PEM")
    other_key = pki.server_key_pem
    _refusals(h, prop, "invalid_auth", [
        {"auth": {**mtls, "cert_pem": pki.expired_client_cert_pem}},
        {"auth": {**mtls, "key_pem": other_key}},
        {"auth": {**mtls, "cert_pem": "not a certificate"}}])


def test_proxy_connect(hookseal_sender: SenderHarness, request: pytest.FixtureRequest) -> None:
    """Egress through an HTTP proxy: every attempt to an https endpoint goes through a
    ``CONNECT`` tunnel to the destination (the proxy logs it; the receiver gets the
    request, signed as always)."""
    h = hookseal_sender
    feature(h, request, "proxy")
    prop = "sends every attempt through the endpoint's proxy with CONNECT"
    from hookseal_conformance.sender import ConnectProxy

    proxy = ConnectProxy()
    try:
        eps = [h.endpoint([Reply(500), Reply(200)], prop=prop, retry_schedule=[0.3],
                          url=h.tls_url_for(f"/hook/{uuid.uuid4().hex[:12]}",
                                            require_client_cert=False),
                          tls_ca_pem=h.pki.ca_pem, proxy=proxy.url, **wire)
               for wire in _cover(h)]
        for ep in eps:
            h.send(ep, INVOICE, _invoice(), prop)
        for ep in eps:
            got = h.wait_requests(ep, 2, WAIT)
            target = ep.url.split("/")[2]
            direct = [r for r in got if r.peer_port not in proxy.ports]
            if len(got) != 2 or target not in proxy.targets or proxy.refused or direct:
                raise _fail(h, prop, f"two attempts, each through a CONNECT {target} tunnel "
                            f"({_where(ep)})", f"{len(got)} request(s), {len(direct)} not "
                            f"through the proxy; tunnels {proxy.targets}; other proxy requests "
                            f"{proxy.refused}", got)
            _check_all(h, ep, got, prop)
    finally:
        proxy.close()


_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


def test_traceparent_on_every_attempt(hookseal_sender: SenderHarness,
                                      request: pytest.FixtureRequest) -> None:
    """Every attempt carries a W3C ``traceparent`` (version 00, non-zero trace and span
    ids, lowercase hex): the same trace id on every attempt of one event, a new span id on
    each attempt, another trace for another event. Both profiles."""
    h = hookseal_sender
    feature(h, request, "traceparent")
    prop = "sends a well-formed traceparent: one trace per event, a new span per attempt"
    eps = [h.endpoint([Reply(500), Reply(502), Reply(200)], prop=prop,
                      retry_schedule=[0.3, 0.3], **wire) for wire in _wires(h)]
    for ep in eps:
        h.send(ep, INVOICE, _invoice(), prop)
    traces: dict[str, str] = {}
    for ep in eps:
        got = h.wait_requests(ep, 3, WAIT)
        if len(got) < 3:
            raise _fail(h, prop, "three attempts", f"{len(got)}", got)
        _check_all(h, ep, got, prop)
        parsed = [_TRACEPARENT.fullmatch(r.header("traceparent") or "") for r in got]
        bad = [r.header("traceparent") for r, m in zip(got, parsed)
               if m is None or set(m.group(1)) == {"0"} or set(m.group(2)) == {"0"}]
        if bad:
            raise _fail(h, prop, "traceparent 00-<32 hex, not all 0>-<16 hex, not all 0>-<2 "
                        "hex> on every attempt", repr(bad), got)
        trace_ids = {m.group(1) for m in parsed if m}
        span_ids = [m.group(2) for m in parsed if m]
        if len(trace_ids) != 1 or len(set(span_ids)) != len(span_ids):
            raise _fail(h, prop, "one trace id across the attempts of an event, a new span id "
                        f"on each ({_where(ep)})",
                        repr([r.header("traceparent") for r in got]), got)
        traces[ep.endpoint_id] = trace_ids.pop()
    if len(set(traces.values())) != len(eps):
        raise _fail(h, prop, "another trace id for another event", repr(traces))


# -- idempotent send (issue 21) -----------------------------------------------------------


def test_idempotent_send(hookseal_sender: SenderHarness, request: pytest.FixtureRequest) -> None:
    """A second send with the same ``idempotency_key`` (same tenant, same data) answers the
    first event's id and deliveries and enqueues nothing; with other data it is refused
    (``idempotency_conflict``); another tenant's key is its own."""
    h = hookseal_sender
    feature(h, request, "idempotency")
    prop = "sends an event once per idempotency key"
    cover = _cover(h)
    ep = h.endpoint(prop=prop, **cover[0])
    # The tenant's other endpoints take the other profiles and signing modes.
    eps = [ep, *(h.endpoint(prop=prop, tenant=ep.tenant, **wire) for wire in cover[1:])]
    other = h.endpoint(prop=prop)
    key = f"order-{uuid.uuid4().hex[:8]}"
    first = _send(h, ep.tenant, INVOICE, _invoice(), prop, idempotency_key=key)
    again = _send(h, ep.tenant, INVOICE, _invoice(), prop, idempotency_key=key)
    if (again.get("event_id"), again.get("deliveries")) != (first.get("event_id"),
                                                           first.get("deliveries")):
        raise _fail(h, prop, "the first send's event_id and deliveries", repr(again),
                    extra=f"first answer: {first!r}")
    clash = h.call({"op": "send", "tenant": ep.tenant, "type": INVOICE,
                    "data": _invoice(amount=1), "idempotency_key": key}, prop)
    if clash.get("ok") is not False or clash.get("error") != "idempotency_conflict":
        raise _fail(h, prop, '{"ok": false, "error": "idempotency_conflict"} for the same key '
                    "with other data", repr(clash))
    elsewhere = _send(h, other.tenant, INVOICE, _invoice(), prop, idempotency_key=key)
    if elsewhere.get("event_id") == first.get("event_id") or \
            _delivery_for(elsewhere, other) is None:
        raise _fail(h, prop, "another tenant's send with the same key is a new event",
                    repr(elsewhere))
    if sorted(map(str, (_delivery_for(first, e) for e in eps))) != sorted(
            str(d.get("delivery_id")) for d in first.get("deliveries", [])) or \
            None in (_delivery_for(first, e) for e in eps):
        raise _fail(h, prop, f"one delivery for each of the tenant's {len(eps)} endpoints",
                    repr(first))
    for e in eps:
        h.wait_requests(e, 1, WAIT)
    h.quiet_for(ep, 1, 1.0)
    for e in eps:
        got = h.quiet_for(e, 1, 0.0)
        if len(got) != 1:
            raise _fail(h, prop, f"one request for the key ({_where(e)})", f"{len(got)}", got)
        _check_all(h, e, got, prop)
