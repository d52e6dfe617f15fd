"""A self-contained sender adapter (see conformance/README.md) with switchable bugs.

Run as ``python toy_sender.py [BUG]``. With no bug it conforms; each bug is one classic
sender mistake the conformance suite must catch. Stdlib HTTP (``http.client``), threads,
and ``hookseal.sign``: it does not depend on the reference sender.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from email.utils import parsedate_to_datetime
from typing import Any, Optional

import hookseal
from hookseal_catalog import load_catalog

BUGS = {
    "none": "conforming",
    "retries_4xx": "retries 4xx answers like 5xx",
    "ignores_retry_after": "ignores Retry-After",
    "reuses_timestamp": "signs every retry with the first attempt's timestamp",
    "new_delivery_id_on_retry": "gives each attempt a new delivery id",
    "new_secret_only_in_overlap": "signs only with the new secret during a rotation overlap",
    "follows_redirects": "follows 3xx redirects",
    "no_timeout": "waits for an endpoint as long as it takes",
    "allows_loopback": "accepts loopback destinations without allow_local",
    "no_payload_validation": "sends data without validating it against the catalog",
    "retry_after_uncapped": "waits as long as any Retry-After says, past the cap",
    "ssrf_loopback_only": "refuses loopback destinations but no other internal ones",
    "next_step_delay": "waits the next step's delay of the schedule (off by one)",
    "retries_408": "retries the 4xx statuses that sound transient (408, 409, 423, 425)",
    "per_read_timeout": "applies the timeout to each read, not to the whole attempt",
    "old_signature_dropped_early": "drops the old signature halfway through the overlap",
    "sw_signatures_comma_joined": "joins two standard-webhooks signatures with a comma",
    "ssrf_no_dns": "checks literal addresses only, never what a name resolves to",
    "attempt_time_is_enqueue_time": "records every attempt at the time the event was sent",
    "crashes_on_bad_request": "crashes on a request field of the wrong type",
}
BUG = sys.argv[1] if len(sys.argv) > 1 else "none"
assert BUG in BUGS, f"unknown bug {BUG!r}; one of {sorted(BUGS)}"

CATALOG = load_catalog()
LOCK = threading.Lock()
ENDPOINTS: dict[str, dict[str, Any]] = {}
DELIVERIES: dict[str, dict[str, Any]] = {}


def internal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def refused(url: str) -> bool:
    """Contract 4's SSRF rule: literal addresses, and every address a name resolves to."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if BUG in ("ssrf_loopback_only", "ssrf_no_dns"):
            return BUG != "ssrf_loopback_only" and parts.scheme != "https"
        if parts.scheme != "https":
            return True
        try:
            infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return True  # a name that does not resolve is no destination either
        return any(internal(ipaddress.ip_address(str(i[4][0]).split("%")[0])) for i in infos)
    if BUG == "ssrf_loopback_only":
        return ip.is_loopback
    return parts.scheme != "https" or internal(ip)


def current_keys(ep: dict[str, Any]) -> list[str]:
    now = time.time()
    secrets = [s for s, until in ep["secrets"] if until is None or until > now]
    signing = [k for k, until in ep["signing_keys"] if until is None or until > now]
    if BUG == "new_secret_only_in_overlap":
        secrets, signing = secrets[-1:], signing[-1:]
    keys = secrets if ep["signing"] in ("hmac", "both") else []
    if ep["signing"] in ("ed25519", "both"):
        keys = [*keys, *signing]
    return keys


def post(url: str, body: bytes, headers: dict[str, str], timeout: Optional[float]
         ) -> tuple[int, dict[str, str]]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=timeout)

    def cut_off() -> None:
        # The timeout bounds the whole attempt: shut the socket, whatever is trickling in.
        if conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)

    deadline = None
    if timeout is not None and BUG != "per_read_timeout":
        deadline = threading.Timer(timeout, cut_off)
        deadline.start()
    try:
        conn.request("POST", parts.path or "/", body=body,
                     headers={**headers, "Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}
    finally:
        if deadline is not None:
            deadline.cancel()
        conn.close()


def retry_after_seconds(value: str) -> Optional[float]:
    if value.strip().isdigit():
        return float(value)
    try:
        return parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError):
        return None


def deliver(dlv: dict[str, Any], ep: dict[str, Any], body: bytes, event_type: str) -> None:
    schedule = ep["retry_schedule"]
    event_id = json.loads(body)["id"]
    first_ts = int(time.time())
    for number in range(1, len(schedule) + 2):
        ts = first_ts if BUG == "reuses_timestamp" else int(time.time())
        # The webhook id is the event id (the envelope's own id), stable across attempts.
        msg_id = event_id if BUG != "new_delivery_id_on_retry" else "evt_" + uuid.uuid4().hex
        headers = dict(hookseal.sign(body, current_keys(ep), profile=ep["profile"],
                                     timestamp=ts, msg_id=msg_id, event_type=event_type,
                                     header_prefix=ep["header_prefix"]))
        value = headers.get("webhook-signature", "")
        if BUG == "sw_signatures_comma_joined" and value.count("v1,") > 1:
            headers["webhook-signature"] = value.replace(" ", ",")
        started = time.time()
        recorded_at = dlv["created"] if BUG == "attempt_time_is_enqueue_time" else started
        status, error, resp_headers = None, None, {}
        try:
            url = ep["url"]
            status, resp_headers = post(url, body, headers,
                                        None if BUG == "no_timeout" else ep["timeout"])
            if BUG == "follows_redirects" and 300 <= status < 400 and "location" in resp_headers:
                status, resp_headers = post(resp_headers["location"], body, headers, ep["timeout"])
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
        with LOCK:
            dlv["attempts"].append({"number": number, "at": recorded_at, "status_code": status,
                                    "error": error,
                                    "latency_ms": int((time.time() - started) * 1000)})
        if status is not None and 200 <= status < 300:
            dlv["status"] = "delivered"
            return
        retryable = status is None or status >= 500 or status == 429 or (
            BUG == "retries_4xx" and 400 <= status < 500) or (
            BUG == "retries_408" and status in (408, 409, 423, 425))
        if not retryable:
            dlv["status"] = "failed"
            return
        if number > len(schedule):
            dlv["status"] = "dead_lettered"
            return
        step = min(number, len(schedule) - 1) if BUG == "next_step_delay" else number - 1
        delay = float(schedule[step])
        wait = retry_after_seconds(resp_headers.get("retry-after", ""))
        if BUG != "ignores_retry_after" and status in (429, 503) and wait is not None:
            cap = float("inf") if BUG == "retry_after_uncapped" else ep["retry_after_cap"]
            delay = max(delay, min(wait, cap))
        dlv["next_attempt_at"] = time.time() + delay
        time.sleep(delay)
    dlv["status"] = "dead_lettered"


def op_create_endpoint(req: dict[str, Any]) -> dict[str, Any]:
    if not req.get("allow_local") and refused(req["url"]) and BUG != "allows_loopback":
        return {"ok": False, "error": "destination_refused", "detail": "loopback"}
    ep_id = "ep_" + uuid.uuid4().hex[:12]
    signing = req.get("signing") or "hmac"
    sk, pk = hookseal.generate_signing_key() if signing != "hmac" else (None, None)
    ENDPOINTS[ep_id] = {
        "id": ep_id, "tenant": req["tenant"], "url": req["url"],
        "profile": req.get("profile") or "hookseal-v1",
        "header_prefix": req.get("header_prefix") or "Hookseal",
        "event_types": req.get("event_types"),
        "retry_schedule": req.get("retry_schedule") or [0.5, 1, 2],
        "retry_after_cap": float(req.get("retry_after_cap") or 5),
        "timeout": float(req.get("timeout") or 10), "signing": signing,
        "secrets": [(hookseal.generate_secret(), None)], "signing_keys": [(sk, None)],
    }
    return {"ok": True, "endpoint_id": ep_id, "secret": ENDPOINTS[ep_id]["secrets"][0][0],
            "public_key": pk}


def op_send(req: dict[str, Any]) -> dict[str, Any]:
    event_type, data = req["type"], req["data"]
    if BUG != "no_payload_validation" and not CATALOG.is_valid(event_type, data):
        return {"ok": False, "error": "invalid_payload"}
    envelope = CATALOG.build_envelope(event_type, data)
    body = json.dumps(envelope).encode()
    out = []
    for ep in list(ENDPOINTS.values()):
        if ep["tenant"] != req["tenant"]:
            continue
        if ep["event_types"] is not None and event_type not in ep["event_types"]:
            continue
        dlv = {"id": "dlv_" + uuid.uuid4().hex, "endpoint_id": ep["id"], "event_type": event_type,
               "status": "delivering", "attempts": [], "next_attempt_at": None,
               "created": time.time()}
        DELIVERIES[dlv["id"]] = dlv
        threading.Thread(target=deliver, args=(dlv, ep, body, event_type), daemon=True).start()
        out.append({"delivery_id": dlv["id"], "endpoint_id": ep["id"]})
    return {"ok": True, "event_id": envelope["id"], "deliveries": out}


def op_rotate_secret(req: dict[str, Any]) -> dict[str, Any]:
    ep = ENDPOINTS[req["endpoint_id"]]
    overlap = float(req.get("overlap_seconds", 86400))
    until = time.time() + overlap
    really = until - overlap / 2 if BUG == "old_signature_dropped_early" else until
    ep["secrets"] = [(s, really if u is None else u) for s, u in ep["secrets"]]
    new = hookseal.generate_secret()
    ep["secrets"].append((new, None))
    pk = None
    if ep["signing"] != "hmac":
        ep["signing_keys"] = [(k, really if u is None else u) for k, u in ep["signing_keys"]]
        sk, pk = hookseal.generate_signing_key()
        ep["signing_keys"].append((sk, None))
    return {"ok": True, "secret": new, "public_key": pk, "overlap_ends_at": until}


def op_get_delivery(req: dict[str, Any]) -> dict[str, Any]:
    dlv = DELIVERIES.get(req["delivery_id"])
    if dlv is None:
        return {"ok": False, "error": "not_found"}
    with LOCK:
        return {"ok": True, "delivery": json.loads(json.dumps(dlv))}


# The type of every request field the toy reads (None allowed where optional).
FIELDS: dict[str, tuple[type, ...]] = {
    "tenant": (str,), "url": (str,), "profile": (str, type(None)),
    "header_prefix": (str, type(None)), "event_types": (list, type(None)),
    "retry_schedule": (list, type(None)), "retry_after_cap": (int, float, type(None)),
    "timeout": (int, float, type(None)), "allow_local": (bool, type(None)),
    "signing": (str, type(None)), "type": (str,), "data": (dict,),
    "endpoint_id": (str,), "delivery_id": (str,), "overlap_seconds": (int, float, type(None)),
}


def checked(req: dict[str, Any]) -> dict[str, Any]:
    if BUG == "crashes_on_bad_request":
        float(req.get("timeout") or 0)  # the crash: a str timeout is a ValueError...
        return req
    for key, types in FIELDS.items():
        if key in req and not isinstance(req[key], types):
            raise TypeError(f"{key} has the wrong type")
    if isinstance(req.get("retry_schedule"), list) and not all(
            isinstance(d, (int, float)) for d in req["retry_schedule"]):
        raise TypeError("retry_schedule must be a list of seconds")
    return req


def main() -> None:
    ops = {"create_endpoint": op_create_endpoint, "send": op_send,
           "rotate_secret": op_rotate_secret, "get_delivery": op_get_delivery,
           "hello": lambda _: {"ok": True, "name": "toy-sender", "version": "0",
                               "profiles": ["hookseal-v1", "standard-webhooks"],
                               "signing": ["hmac", "ed25519", "both"],
                               "retry_jitter": 0}}
    for line in sys.stdin:
        try:
            req = json.loads(line)
            if not isinstance(req, dict) or not isinstance(req.get("op"), str):
                raise TypeError("a request is a JSON object with an op")
            if req["op"] == "shutdown":
                print(json.dumps({"ok": True}), flush=True)
                return
            handler = ops.get(req["op"])
            reply = handler(checked(req)) if handler else {"ok": False, "error": "unknown_op"}
        except (TypeError, ValueError, KeyError) as exc:
            if BUG == "crashes_on_bad_request":
                raise
            reply = {"ok": False, "error": "invalid_request", "detail": str(exc)}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
