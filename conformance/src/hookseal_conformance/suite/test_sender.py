"""Sender properties (contract 4), through a sender adapter, received on loopback.

Each test creates its own endpoints under fresh tenants, scripts the receiver's replies
and waits (with timeouts) for what the sender does. Timing checks are tolerant: they
allow scheduler noise but not a missing timeout, an ignored Retry-After or a reused
timestamp.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from email.utils import formatdate
from typing import Any, Optional

import hookseal
import pytest
from hookseal.profiles import DEFAULT_HEADER_PREFIX, HOOKSEAL_V1, PROFILES, STANDARD_WEBHOOKS
from hypothesis import given, settings
from hypothesis import strategies as st

from hookseal_conformance import _catalog
from hookseal_conformance.report import ConformanceFailure, bug_report
from hookseal_conformance.sender import DroppingServer, Endpoint, Received, Reply, SenderHarness

EVENT = "invoice.paid"
WAIT = 8.0  # seconds to wait for something that must happen


def _event_type() -> str:
    types = _catalog.event_types()
    return EVENT if EVENT in types else types[0]


def _data(event_type: Optional[str] = None) -> dict[str, Any]:
    return _catalog.catalog().example(event_type or _event_type())


def _fail(h: SenderHarness, prop: str, expected: str, answered: str,
          received: Optional[list[Received]] = None, extra: str = "") -> ConformanceFailure:
    lines = [extra] if extra else []
    for i, r in enumerate(received or [], 1):
        lines.append(f"request {i} at +{r.at - received[0].at:.2f} s: {r.method} {r.path} "  # type: ignore[index]
                     f"headers={json.dumps(r.headers)} body={r.body[:300]!r}")
    return ConformanceFailure(bug_report(prop=prop, expected=expected, answered=answered,
                                         extra="\n".join(lines), command=h.command))


def _verifier(ep: Endpoint, keys: list[str], tolerance: int = 3) -> hookseal.Webhook:
    return hookseal.Webhook(keys, profile=ep.options["profile"], tolerance=tolerance,
                            header_prefix=_prefix(ep))


def _prefix(ep: Endpoint) -> str:
    return str(ep.options.get("header_prefix") or DEFAULT_HEADER_PREFIX)


def _id_header(ep: Endpoint) -> str:
    if ep.options["profile"] == STANDARD_WEBHOOKS:
        return "webhook-id"
    return f"{_prefix(ep)}-Webhook-Id"


def _timestamp(ep: Endpoint, r: Received) -> Optional[int]:
    if ep.options["profile"] == STANDARD_WEBHOOKS:
        text = r.header("webhook-timestamp") or ""
    else:
        sig = r.header(f"{_prefix(ep)}-Signature") or ""
        text = next((e[2:] for e in sig.split(",") if e.startswith("t=")), "")
    return int(text) if text.isdigit() else None


def _v1_count(ep: Endpoint, r: Received) -> int:
    if ep.options["profile"] == STANDARD_WEBHOOKS:
        return sum(e.startswith("v1,") for e in (r.header("webhook-signature") or "").split(" "))
    sig = r.header(f"{_prefix(ep)}-Signature") or ""
    return sum(e.startswith("v1=") for e in sig.split(","))


def request_problems(ep: Endpoint, r: Received, keys: list[str]) -> list[str]:
    """Everything wrong with one received request (empty when it conforms)."""
    problems = []
    if r.method != "POST":
        problems.append(f"method is {r.method}, not POST")
    ctype = (r.header("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        problems.append(f"Content-Type is {ctype!r}, not application/json")
    for key in keys:
        try:
            _verifier(ep, [key]).verify(r.body, r.headers, now=int(r.at))
        except hookseal.HooksealError as exc:
            problems.append(f"does not verify with {key[:10]}... ({exc.code}: {exc}); a reused "
                            "or stale timestamp fails here too (tolerance 3 s at receipt)")
    if not r.header(_id_header(ep)):
        problems.append(f"no {_id_header(ep)} header")
    try:
        body = json.loads(r.body)
    except ValueError:
        return [*problems, "body is not JSON"]
    if not isinstance(body, dict):
        return [*problems, "body is not a JSON object"]
    # Contract 2.1: receivers trust the id and type inside the verified body, which always
    # equal the headers (the id is the event id, the same on every attempt and replay).
    webhook_id = r.header(_id_header(ep))
    if webhook_id and webhook_id != body.get("id"):
        problems.append(f"{_id_header(ep)} {webhook_id!r} differs from the body's id {body.get('id')!r}")
    if ep.options["profile"] == HOOKSEAL_V1:
        etype = r.header(f"{_prefix(ep)}-Event-Type")
        if etype != body.get("type"):
            problems.append(f"event-type header {etype!r} differs from body type "
                            f"{body.get('type')!r}")
    problem = _catalog.envelope_problems(body)
    if problem:
        problems.append(f"body is not a valid catalog event: {problem}")
    return problems


def _signing_keys(ep: Endpoint) -> list[str]:
    mode = ep.options.get("signing", "hmac")
    keys = [ep.secret] if mode in ("hmac", "both") else []
    if mode in ("ed25519", "both") and ep.public_key:
        keys.append(ep.public_key)
    return keys


def _check_all(h: SenderHarness, ep: Endpoint, received: list[Received], prop: str) -> None:
    for i, r in enumerate(received, 1):
        problems = request_problems(ep, r, _signing_keys(ep))
        if problems:
            raise _fail(h, prop, "a POST of a catalog event, signed per the contract",
                        f"request {i}: " + "; ".join(problems), received)


def _check_retries(h: SenderHarness, ep: Endpoint, received: list[Received], prop: str) -> None:
    """Same delivery id on every attempt; a fresh timestamp on each."""
    ids = {r.header(_id_header(ep)) for r in received}
    if len(ids) != 1:
        raise _fail(h, prop, f"the same {_id_header(ep)} on every attempt",
                    f"{len(ids)} different ids: {sorted(map(str, ids))}", received)
    for a, b in zip(received, received[1:]):
        ta, tb = _timestamp(ep, a), _timestamp(ep, b)
        gap = b.at - a.at
        # floor(s2) - floor(s1) >= floor(s2 - s1); allow 0.8 s of latency noise (loaded CI).
        if ta is not None and tb is not None and tb - ta < int(gap - 0.8):
            raise _fail(h, prop, "a fresh timestamp on every attempt",
                        f"timestamps {ta} then {tb}, {gap:.2f} s apart", received)


# -- protocol -----------------------------------------------------------------------------


def test_hello_and_unknown_op(hookseal_sender: SenderHarness) -> None:
    """``hello`` names the sender; an unknown op answers ``unknown_op`` and nothing breaks."""
    hello = hookseal_sender.hello()
    for key in ("name", "version", "profiles", "signing"):
        if key not in hello:
            raise _fail(hookseal_sender, "hello", f"a {key!r} field", repr(hello))
    answer = hookseal_sender.call({"op": "no_such_op"}, "unknown op")
    if answer.get("ok") is not False or answer.get("error") != "unknown_op":
        raise _fail(hookseal_sender, "answers an unknown op with unknown_op",
                    '{"ok": false, "error": "unknown_op"}', repr(answer))
    hookseal_sender.hello()


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
    """An endpoint subscribed to other event types gets no delivery."""
    prop = "delivers only the event types an endpoint subscribed to"
    h = hookseal_sender
    types = _catalog.event_types()
    other = next(t for t in types if t != _event_type())
    ep = h.endpoint(prop=prop, event_types=[other])
    answer = h.require({"op": "send", "tenant": ep.tenant, "type": _event_type(),
                        "data": _data()}, prop)
    if any(d.get("endpoint_id") == ep.endpoint_id for d in answer.get("deliveries", [])):
        raise _fail(h, prop, "no delivery for an unsubscribed type", repr(answer))


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


@pytest.mark.parametrize("status", TRANSIENT)
def test_retries_transient_status(hookseal_sender: SenderHarness, status: int) -> None:
    """5xx and 429 are retried, with the same delivery id and a fresh timestamp."""
    prop = f"retries a {status} with the same delivery id and a fresh timestamp"
    h = hookseal_sender
    ep = h.endpoint([Reply(status), Reply(200)], prop=prop, retry_schedule=[1.2, 1.2])
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


def test_retry_timestamps_are_fresh(hookseal_sender: SenderHarness) -> None:
    """A retry 2 s later carries a timestamp at least a second newer."""
    prop = "signs every attempt anew (fresh timestamp)"
    h = hookseal_sender
    ep = h.endpoint([Reply(500), Reply(200)], prop=prop, retry_schedule=[2.2])
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
    """A connection closed without an answer is retried."""
    prop = "retries when the connection is dropped"
    h = hookseal_sender
    server = DroppingServer(drops=1)
    try:
        ep = h.endpoint(prop=prop, url=server.url, retry_schedule=[0.3])
        did = h.send(ep, _event_type(), _data(), prop)
        arrivals = server.wait(2, WAIT)
        if len(arrivals) < 2:
            raise _fail(h, prop, "a second attempt", f"{len(arrivals)} connection(s)")
        record = h.wait_status(did, ["delivered"], WAIT, prop)
        if record.get("status") != "delivered":
            raise _fail(h, prop, "status delivered", repr(record))
    finally:
        server.close()


PERMANENT = [400, 401, 403, 404, 410, 301, 302, 303, 307, 308]


def test_never_retries_permanent_failures(hookseal_sender: SenderHarness) -> None:
    """4xx (but 429) and 3xx fail the delivery at once: one attempt, status failed."""
    prop = "never retries 400/401/403/404/410 or 3xx"
    h = hookseal_sender
    eps = {}
    for status in PERMANENT:
        headers = (("Location", h.url_for("/moved")),) if status < 400 else ()
        eps[status] = h.endpoint([Reply(status, headers), Reply(200)], prop=prop,
                                 retry_schedule=[0.3, 0.3])
    dids = {s: h.send(ep, _event_type(), _data(), prop) for s, ep in eps.items()}
    problems = []
    for status, ep in eps.items():
        record = h.wait_status(dids[status], ["failed", "dead_lettered", "delivered"], WAIT, prop)
        got = h.quiet_for(ep, 1, 0.1)
        if len(got) != 1 or record.get("status") != "failed":
            problems.append(f"{status}: {len(got)} request(s), status {record.get('status')!r}")
    # One more look after the schedule's delays have all passed.
    extra = {s: len(h.quiet_for(ep, 1, 0.1)) for s, ep in eps.items()}
    problems += [f"{s}: {n} requests" for s, n in extra.items() if n > 1 and
                 not any(p.startswith(f"{s}:") for p in problems)]
    if problems:
        raise _fail(h, prop, "exactly one attempt and status 'failed' for each", "; ".join(problems))


def test_never_follows_redirects(hookseal_sender: SenderHarness) -> None:
    """A 3xx is a failure; its Location is never requested."""
    prop = "never follows redirects"
    h = hookseal_sender
    eps = []
    for status in (301, 302, 303, 307, 308):
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
    # The date form has whole-second resolution: 3 s ahead is at least 2 s ahead.
    value = "2" if form == "seconds" else formatdate(time.time() + 3, usegmt=True)
    ep = h.endpoint([Reply(status, (("Retry-After", value),)), Reply(200)], prop=prop,
                    retry_schedule=[0.2], retry_after_cap=10)
    h.send(ep, _event_type(), _data(), prop)
    got = h.wait_requests(ep, 2, WAIT)
    if len(got) < 2:
        raise _fail(h, prop, "a retry", f"{len(got)} request(s)", got)
    gap = got[1].at - got[0].at
    if gap < 1.6:
        raise _fail(h, prop, f"the retry at least ~2 s later (Retry-After: {value})",
                    f"the retry came {gap:.2f} s later (the schedule's 0.2 s?)", got)


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


def test_respects_schedule_and_cap(hookseal_sender: SenderHarness) -> None:
    """Schedule [0.4, 0.8]: three attempts spaced by about the delays, then dead-lettered."""
    prop = "follows the retry schedule and stops at the attempt cap"
    h = hookseal_sender
    ep = h.endpoint([Reply(500)], prop=prop, retry_schedule=[0.4, 0.8])
    did = h.send(ep, _event_type(), _data(), prop)
    record = h.wait_status(did, ["dead_lettered", "failed", "delivered"], WAIT, prop)
    got = h.quiet_for(ep, 3, 1.2)
    if len(got) != 3 or record.get("status") != "dead_lettered":
        raise _fail(h, prop, "exactly 3 attempts (schedule of 2 delays + 1), then "
                    "dead_lettered", f"{len(got)} requests, status {record.get('status')!r}",
                    got)
    gaps = [b.at - a.at for a, b in zip(got, got[1:])]
    for gap, delay in zip(gaps, (0.4, 0.8)):
        if gap < delay * 0.5:
            raise _fail(h, prop, f"a gap of about {delay} s", f"{gap:.2f} s", got)
    _check_retries(h, ep, got, prop)
    attempts = record.get("attempts", [])
    if [a.get("number") for a in attempts] != [1, 2, 3] or any(
            a.get("status_code") != 500 for a in attempts):
        raise _fail(h, prop, "attempts 1, 2, 3 recorded with status_code 500",
                    repr(attempts), got)


# -- secrets and keys ---------------------------------------------------------------------


def test_rotation_overlap(hookseal_sender: SenderHarness) -> None:
    """During the overlap both secrets sign; after it, only the new one."""
    prop = "signs with both secrets during a rotation overlap, then only the new one"
    h = hookseal_sender
    ep = h.endpoint(prop=prop)
    old = ep.secret
    answer = h.require({"op": "rotate_secret", "endpoint_id": ep.endpoint_id,
                        "overlap_seconds": 2}, prop)
    new = str(answer.get("secret", ""))
    ends = float(answer.get("overlap_ends_at", time.time() + 2))
    h.send(ep, _event_type(), _data(), prop)
    got = h.wait_requests(ep, 1, WAIT)
    if not got:
        raise _fail(h, prop, "a request", "nothing")
    during = got[0]
    problems = request_problems(ep, during, [old]) + request_problems(ep, during, [new])
    if problems or _v1_count(ep, during) != 2:
        raise _fail(h, prop, "two v1 signatures during the overlap, one verifying with the old "
                    "secret and one with the new", "; ".join(problems) or
                    f"{_v1_count(ep, during)} v1 values", [during])
    # After the overlap: wait for the sender's own clock to pass overlap_ends_at.
    while time.time() < ends + 0.5:
        h.quiet_for(ep, 1, min(0.5, ends + 0.5 - time.time() + 0.01))
    h.send(ep, _event_type(), _data(), prop)
    got = h.wait_requests(ep, 2, WAIT)
    if len(got) < 2:
        raise _fail(h, prop, "a request after the overlap", "nothing")
    after = got[1]
    problems = request_problems(ep, after, [new])
    old_ok = not request_problems(ep, after, [old])
    if problems or old_ok or _v1_count(ep, after) != 1:
        raise _fail(h, prop, "after the overlap, one v1 signature, with the new secret only",
                    "; ".join(problems) or (f"{_v1_count(ep, after)} v1 values; the old secret "
                                            f"{'still verifies' if old_ok else 'fails'}"), [after])


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
