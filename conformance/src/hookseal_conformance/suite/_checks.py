"""What every sender property checks on the requests it receives (contract 2 and 4):
the signature headers' exact form, the signature under each key, the envelope, the
webhook id and event type, fresh timestamps on retries; and the failure reports.

Shared by ``test_sender.py`` and ``test_sender_features.py``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional

import hookseal
from hookseal.profiles import DEFAULT_HEADER_PREFIX, HOOKSEAL_V1, STANDARD_WEBHOOKS

from hookseal_conformance import _catalog
from hookseal_conformance.report import ConformanceFailure, bug_report
from hookseal_conformance.sender import Endpoint, Received, SenderHarness

EVENT = "invoice.paid"
WAIT = 8.0  # seconds to wait for something that must happen
# Timing bounds allow for a loaded machine: an attempt may arrive up to LATE seconds after
# its schedule says (latency, polling) and EARLY seconds before (arrival-time noise).
LATE = 0.7
EARLY = 0.15


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
                            header_prefix=ep.options.get("header_prefix") or DEFAULT_HEADER_PREFIX)


def _id_header(ep: Endpoint) -> str:
    if ep.options["profile"] == STANDARD_WEBHOOKS:
        return "webhook-id"
    return f"{ep.options.get('header_prefix') or DEFAULT_HEADER_PREFIX}-Webhook-Id"


def _timestamp(ep: Endpoint, r: Received) -> Optional[int]:
    if ep.options["profile"] == STANDARD_WEBHOOKS:
        text = r.header("webhook-timestamp") or ""
    else:
        sig = r.header(f"{ep.options.get('header_prefix') or DEFAULT_HEADER_PREFIX}-Signature") or ""
        text = next((e[2:] for e in sig.split(",") if e.startswith("t=")), "")
    return int(text) if text.isdigit() else None


def _v1_count(ep: Endpoint, r: Received) -> int:
    if ep.options["profile"] == STANDARD_WEBHOOKS:
        return sum(e.startswith("v1,") for e in (r.header("webhook-signature") or "").split(" "))
    sig = r.header(f"{ep.options.get('header_prefix') or DEFAULT_HEADER_PREFIX}-Signature") or ""
    return sum(e.startswith("v1=") for e in sig.split(","))


_HEX_SIG = r"v1=[0-9a-f]{64}"
_B64_32, _B64_64 = r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=", r"[A-Za-z0-9+/]{85}[AQgw]=="
_V1_HEADER = re.compile(rf"t=[0-9]{{1,18}}(?:,(?:{_HEX_SIG}|v1a={_B64_64}))+")
_SW_ENTRY = rf"(?:v1,{_B64_32}|v1a,{_B64_64})"
_SW_HEADER = re.compile(rf"{_SW_ENTRY}(?: {_SW_ENTRY})*")


def wire_problems(ep: Endpoint, r: Received) -> list[str]:
    """The signature headers' exact form (contract 2): what a sender writes, no whitespace,
    each signature in its canonical encoding, SW entries separated by single spaces."""
    if ep.options["profile"] == STANDARD_WEBHOOKS:
        value = r.header("webhook-signature") or ""
        problems = [] if _SW_HEADER.fullmatch(value) else [
            f"webhook-signature {value!r} is not 'v1,<base64 of 32 bytes>' / "
            "'v1a,<base64 of 64 bytes>' entries separated by single spaces"]
        stamp = r.header("webhook-timestamp") or ""
        if not re.fullmatch(r"[0-9]{1,18}", stamp):
            problems.append(f"webhook-timestamp {stamp!r} is not 1 to 18 ASCII digits")
        return problems
    name = f"{ep.options.get('header_prefix') or DEFAULT_HEADER_PREFIX}-Signature"
    value = r.header(name) or ""
    if _V1_HEADER.fullmatch(value):
        return []
    return [f"{name} {value!r} is not 't=<digits>' then ',v1=<64 lowercase hex>' / "
            "',v1a=<base64 of 64 bytes>' elements, without whitespace"]


def request_problems(ep: Endpoint, r: Received, keys: list[str]) -> list[str]:
    """Everything wrong with one received request (empty when it conforms)."""
    problems = wire_problems(ep, r)
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
        etype = r.header(f"{ep.options.get('header_prefix') or DEFAULT_HEADER_PREFIX}-Event-Type")
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
