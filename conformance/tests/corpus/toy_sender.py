"""A self-contained sender adapter (see conformance/README.md) with switchable bugs.

Run as ``python toy_sender.py [BUG [CATALOG_DIR]]``. With no bug it conforms; each bug is
one classic sender mistake the conformance suite must catch. It sends the sample catalog's
events, or those of the catalog in ``CATALOG_DIR``. Stdlib HTTP (``http.client``), threads,
and ``hookseal.sign``: it does not depend on the reference sender.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import http.client
import ipaddress
import json
import re
import secrets
import socket
import ssl
import sys
import tempfile
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
    # Not a bug: the same conforming toy, declaring no optional feature in hello (the
    # suite must then skip their properties, or fail them under --require).
    "declares_no_features": "conforming, but hello declares no optional feature",
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
    "delivers_unsubscribed": "delivers every event type to every endpoint of the tenant",
    "event_types_first_only": "takes only the first of an endpoint's event types",
    "delivers_in_send": "answers send only after the first attempt got its answer",
    "no_retry_on_dropped_connection": "fails a delivery for good when the connection drops",
    "unknown_op_invalid_request": "answers an unknown op with invalid_request",
    "hello_without_version": "leaves the version out of hello",
    "ignores_header_prefix": "names its headers Hookseal-... whatever header_prefix says",
    "both_signs_v1a_only": "signs only with the Ed25519 key in both mode (no v1)",
    "rotation_default_no_overlap": "drops the old secret at once when a rotation names no overlap",
    "response_body_whole": "records an attempt's whole response body, not its first 4 KiB",
    # Optional features (contract 4.2-4.6), all declared in hello.
    "filter_ignores_not": "takes every $not as a match",
    "filter_gt_inclusive": "evaluates $gt as $gte and $lt as $lte",
    "invalid_filter_accepted": "accepts unknown filter operators (and ignores them)",
    "reserved_header_allowed": "lets a custom header replace a reserved one",
    "headers_unlimited": "accepts any number of custom headers",
    "redact_after_signing": "signs the body, then drops the redacted fields",
    "redact_required_allowed": "lets a required field be redacted",
    "rate_limit_per_worker": "holds the rate limit per worker thread, not per endpoint",
    "batch_id_per_attempt": "gives each attempt of a batch a new batch id",
    "batch_waits_for_max_wait": "sends a batch only at max_wait, even when it is full",
    "batch_reversed": "puts a batch's events in reverse order",
    "ordering_overlaps": "delivers events of one key concurrently",
    "sequence_gaps": "numbers sequence per endpoint, not per key (gaps within a key)",
    "ordering_blocks_other_keys": "holds every key back while one key waits",
    "pinned_version_ignored": "sends the current version to pinned endpoints",
    "auth_first_attempt_only": "sends the Authorization header on the first attempt only",
    "traceparent_reused_span": "reuses one span id for every attempt",
    "idempotency_ignored": "enqueues again on a repeated idempotency key",
    "oauth_no_refresh": "keeps its OAuth token after a 401 (the delivery fails)",
    "oauth_token_per_attempt": "fetches a new OAuth token for every attempt",
    "mtls_expired_accepted": "takes an expired client certificate at registration",
    "proxy_ignored": "connects to the destination directly, not through the proxy",
    "headers_first_attempt_only": "sends the custom headers on the first attempt only",
    "batch_ignores_max_bytes": "gathers a batch up to max_events or max_wait, never max_bytes",
    "batch_max_events_unbounded": "accepts max_events over 1000",
    "batch_default_events_50": "gathers at most 50 events when max_events is not named",
    "batch_default_wait_10": "waits 10 s, not 30, when max_wait is not named",
    "batch_default_bytes_4mib": "gathers up to 4 MiB, not 1 MiB, when max_bytes is not named",
    "ordering_any_accepted": "accepts any ordering value (and orders per key)",
    "pin_unchecked": "accepts a pin to any version of any event type",
    "rate_limit_unchecked": "accepts a rate limit of 0 or less",
    "auth_value_unchecked": "accepts any static Authorization value, line breaks included",
    "batch_signed_hmac_only": "signs batches with the HMAC secret alone, whatever the mode",
    "ordering_stalls_after_dead_letter": "holds a key back for good once an event is dead-lettered",
    "batch_dead_letter_split": "sends each event of a dead-lettered batch again on its own",
}
FEATURES = ["versions", "filters", "headers", "redaction", "rate_limit", "batches", "ordering",
            "auth_static", "auth_oauth", "auth_mtls", "proxy", "traceparent", "idempotency"]
BUG = sys.argv[1] if len(sys.argv) > 1 else "none"
assert BUG in BUGS, f"unknown bug {BUG!r}; one of {sorted(BUGS)}"

# An optional second argument: the catalog directory to send (default: the sample's).
CATALOG = load_catalog(sys.argv[2] if len(sys.argv) > 2 else None)
LOCK = threading.Lock()
ENDPOINTS: dict[str, dict[str, Any]] = {}
DELIVERIES: dict[str, dict[str, Any]] = {}
IDEMPOTENT: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}


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


def loopback(url: str) -> bool:
    """Whether the URL's host is loopback, by name, literal or what the name resolves to."""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    ips = [ipaddress.ip_address(str(i[4][0]).split("%")[0]) for i in infos]
    return bool(ips) and all(
        (ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip
         ).is_loopback for ip in ips)


def current_keys(ep: dict[str, Any]) -> list[str]:
    now = time.time()
    secrets = [s for s, until in ep["secrets"] if until is None or until > now]
    signing = [k for k, until in ep["signing_keys"] if until is None or until > now]
    if BUG == "new_secret_only_in_overlap":
        secrets, signing = secrets[-1:], signing[-1:]
    keys = secrets if ep["signing"] in ("hmac", "both") else []
    if BUG == "both_signs_v1a_only" and ep["signing"] == "both":
        keys = []
    if ep["signing"] in ("ed25519", "both"):
        keys = [*keys, *signing]
    return keys


def post(url: str, body: bytes, headers: dict[str, str], timeout: Optional[float],
         tls: Optional[ssl.SSLContext] = None, proxy: Optional[str] = None
         ) -> tuple[int, dict[str, str], str]:
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        if proxy and BUG != "proxy_ignored":
            via = urllib.parse.urlsplit(proxy)
            conn = http.client.HTTPSConnection(via.hostname or "", via.port or 80,
                                               timeout=timeout, context=tls)
            conn.set_tunnel(host, port)
        else:
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=tls)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)

    fired = threading.Event()

    def cut_off() -> None:
        # The timeout bounds the whole attempt: shut the socket, whatever is trickling in.
        fired.set()
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
        text = resp.read().decode("utf-8", "replace")
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, text
    except (OSError, http.client.HTTPException) as exc:
        if fired.is_set():  # what the cut-off socket raised: the attempt timed out
            raise TimeoutError(f"the attempt took longer than {timeout} s") from exc
        raise
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


class Refused(Exception):
    """An endpoint option the sender refuses, with the adapter's error code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


# -- filters (contract 4.3) ---------------------------------------------------------------

FIELD_OPS = {"$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$exists"}
POINTER = re.compile(r"(/([^~/]|~[01])*)+")


def check_filter(flt: Any) -> None:
    if not isinstance(flt, dict):
        raise Refused("invalid_filter", "a filter is a JSON object")
    for key, value in flt.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise Refused("invalid_filter", f"{key} takes a non-empty list of filters")
            for sub in value:
                check_filter(sub)
        elif key == "$not":
            check_filter(value)
        elif key.startswith("$") or not POINTER.fullmatch(key):
            if BUG != "invalid_filter_accepted":
                raise Refused("invalid_filter", f"{key!r}: not an operator or a JSON Pointer")
        elif not isinstance(value, dict) or not value:
            raise Refused("invalid_filter", f"{key}: a condition is an object of operators")
        else:
            for op, arg in value.items():
                if op not in FIELD_OPS:
                    if BUG == "invalid_filter_accepted":
                        continue
                    raise Refused("invalid_filter", f"{key}: unknown operator {op!r}")
                if op in ("$in", "$nin") and not isinstance(arg, list):
                    raise Refused("invalid_filter", f"{key}: {op} takes a list")
                if op == "$exists" and not isinstance(arg, bool):
                    raise Refused("invalid_filter", f"{key}: $exists takes true or false")


def lookup(doc: Any, pointer: str) -> tuple[bool, Any]:
    for token in pointer.split("/")[1:]:
        part = token.replace("~1", "/").replace("~0", "~")
        if isinstance(doc, dict) and part in doc:
            doc = doc[part]
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            return False, None
    return True, doc


def same(a: Any, b: Any) -> bool:
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def holds(op: str, arg: Any, found: bool, value: Any) -> bool:
    if op == "$exists":
        return found == arg
    if op in ("$eq", "$ne"):
        return (found and same(value, arg)) == (op == "$eq")
    if op in ("$in", "$nin"):
        return (found and any(same(value, a) for a in arg)) == (op == "$in")
    if op in ("$gt", "$gte", "$lt", "$lte") and found and number(value) and number(arg):
        if BUG == "filter_gt_inclusive":
            op = {"$gt": "$gte", "$lt": "$lte"}.get(op, op)
        return {"$gt": value > arg, "$gte": value >= arg, "$lt": value < arg,
                "$lte": value <= arg}[op]
    return op not in FIELD_OPS  # an operator let through by invalid_filter_accepted


def matches(flt: dict[str, Any], doc: Any) -> bool:
    for key, value in flt.items():
        if key == "$and" and not all(matches(f, doc) for f in value):
            return False
        if key == "$or" and not any(matches(f, doc) for f in value):
            return False
        if key == "$not" and BUG != "filter_ignores_not" and matches(value, doc):
            return False
        if not key.startswith("$"):
            found, got = lookup(doc, key)
            if not all(holds(op, arg, found, got) for op, arg in value.items()):
                return False
    return True


# -- headers, redaction, versions, auth (contract 4.2, 4.3, 4.6) ---------------------------

TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
VALUE = re.compile(r"[\t\x20-\x7e]*")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailer", "transfer-encoding", "upgrade", "proxy-connection"}


def check_headers(headers: Any, prefix: str) -> dict[str, str]:
    if not isinstance(headers, dict):
        raise Refused("invalid_headers", "headers is an object of names and values")
    if len(headers) > 20 and BUG != "headers_unlimited":
        raise Refused("invalid_headers", "at most 20 custom headers")
    reserved = {f"{p.lower()}-{n}" for p in (prefix, "hookseal")
                for n in ("signature", "webhook-id", "event-type")}
    reserved |= {"webhook-id", "webhook-timestamp", "webhook-signature", "content-type",
                 "content-length", "host", *HOP_BY_HOP}
    for name, value in headers.items():
        if not TOKEN.fullmatch(name) or not isinstance(value, str) or not VALUE.fullmatch(value):
            raise Refused("invalid_headers", f"{name!r}: not an HTTP header name and value")
        if name.lower() in reserved and BUG != "reserved_header_allowed":
            raise Refused("invalid_headers", f"{name!r} is reserved: {sorted(reserved)}")
    return dict(headers)


def check_redact(redact: Any, event_types: Optional[list[str]]) -> list[str]:
    from hookseal_catalog.fields import field_info

    if not isinstance(redact, list) or not all(isinstance(p, str) for p in redact):
        raise Refused("invalid_redaction", "redact is a list of JSON Pointers")
    for pointer in redact:
        if not POINTER.fullmatch(pointer):
            raise Refused("invalid_redaction", f"{pointer!r} is not a JSON Pointer")
        known = False
        for event_type in event_types or sorted(CATALOG.events):
            try:
                info = field_info(CATALOG, event_type, pointer)
            except Exception:
                continue
            known = True
            if info.required and BUG != "redact_required_allowed":
                raise Refused("invalid_redaction", f"{pointer} is required in {event_type}")
        if not known:
            raise Refused("invalid_redaction", f"{pointer} names no field")
    return list(redact)


def redacted(data: dict[str, Any], pointers: list[str]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    for pointer in pointers:
        *parents, last = pointer.split("/")[1:]
        found, parent = lookup(data, "/" + "/".join(parents)) if parents else (True, data)
        if found and isinstance(parent, dict):
            parent.pop(last.replace("~1", "/").replace("~0", "~"), None)
    return data


def check_versions(versions: Any) -> dict[str, int]:
    if not isinstance(versions, dict):
        raise Refused("invalid_version", "versions maps event types to versions")
    for event_type, version in versions.items():
        event = CATALOG.events.get(event_type)
        if event is None or not isinstance(version, int) or version not in event.versions or \
                event.versions[version].is_past_sunset():
            raise Refused("invalid_version", f"{event_type} v{version} is not served")
    return dict(versions)


def check_mtls(auth: dict[str, Any]) -> None:
    """The certificate parses, is valid now, and the key is its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificate(str(auth.get("cert_pem", "")).encode())
        key = serialization.load_pem_private_key(str(auth.get("key_pem", "")).encode(), None)
    except (ValueError, TypeError) as exc:
        raise Refused("invalid_auth", f"the certificate or key does not load: {exc}") from None
    now = time.time()
    valid = cert.not_valid_before_utc.timestamp() <= now <= cert.not_valid_after_utc.timestamp()
    if not valid and BUG != "mtls_expired_accepted":
        raise Refused("invalid_auth", "the certificate is not valid now")
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if cert.public_key().public_bytes(*raw) != key.public_key().public_bytes(*raw):
        raise Refused("invalid_auth", "the key does not match the certificate")


def tls_context(ca_pem: Optional[str], auth: Optional[dict[str, Any]]) -> ssl.SSLContext:
    mtls = auth is not None and auth["type"] == "mtls"
    return _tls_context(ca_pem, auth["cert_pem"] if mtls else None,  # type: ignore[index]
                        auth["key_pem"] if mtls else None)  # type: ignore[index]


@functools.cache
def _tls_context(ca_pem: Optional[str], cert_pem: Optional[str],
                 key_pem: Optional[str]) -> ssl.SSLContext:
    # One context per distinct trust and certificate: loading the system's CAs costs a
    # tenth of a second, and the suite creates hundreds of endpoints.
    context = ssl.create_default_context(cadata=ca_pem) if ca_pem else \
        ssl.create_default_context()
    if cert_pem and key_pem:
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = f"{tmp}/cert.pem", f"{tmp}/key.pem"
            with open(cert, "w") as f:
                f.write(cert_pem)
            with open(key, "w") as f:
                f.write(key_pem)
            context.load_cert_chain(cert, key)
    return context


def check_auth(auth: Any, allow_local: bool) -> dict[str, Any]:
    if isinstance(auth, dict) and auth.get("type") == "mtls":
        check_mtls(auth)
        return dict(auth)
    if isinstance(auth, dict) and auth.get("type") == "oauth":
        if not all(isinstance(auth.get(k), str) and auth[k] for k in
                   ("token_url", "client_id", "client_secret")):
            raise Refused("invalid_auth", "oauth needs token_url, client_id and client_secret")
        if not allow_local and refused(auth["token_url"]):
            raise Refused("destination_refused", "the token URL is refused")
        return {**auth, "token": None}
    if not isinstance(auth, dict) or auth.get("type") != "static":
        raise Refused("invalid_auth", "auth types static and oauth are the ones this sender has")
    value = auth.get("authorization")
    if (not isinstance(value, str) or not value or not VALUE.fullmatch(value)) and \
            BUG != "auth_value_unchecked":
        raise Refused("invalid_auth", "authorization: a non-empty header value")
    return dict(auth)


def check_batch(batch: Any) -> dict[str, float]:
    if not isinstance(batch, dict):
        raise Refused("invalid_batch", "batch is an object")
    out = {"max_events": batch.get("max_events", 50 if BUG == "batch_default_events_50" else 100),
           "max_bytes": batch.get("max_bytes", 4 << 20 if BUG == "batch_default_bytes_4mib"
                                  else 1 << 20),
           "max_wait": batch.get("max_wait", 10 if BUG == "batch_default_wait_10" else 30)}
    most = float("inf") if BUG == "batch_max_events_unbounded" else 1000
    if not (isinstance(out["max_events"], int) and 1 <= out["max_events"] <= most) or not all(
            number(out[k]) and out[k] > 0 for k in ("max_bytes", "max_wait")):
        raise Refused("invalid_batch", f"out of bounds: {out}")
    return out


# -- rate limit (contract 4.3) --------------------------------------------------------------


class Limiter:
    """At most ``rate`` attempt starts in any second (a sliding window), for one endpoint."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.starts: dict[int, list[float]] = {}
        self.lock = threading.Lock()

    def acquire(self) -> None:
        key = threading.get_ident() if BUG == "rate_limit_per_worker" else 0
        while True:
            with self.lock:
                now = time.time()
                starts = [t for t in self.starts.get(key, []) if now - t < 1.0]
                self.starts[key] = starts
                if len(starts) < self.rate:
                    starts.append(now)
                    return
                wait = starts[0] + 1.0 - now
            time.sleep(max(wait, 0.001))  # waiting is no attempt


# -- delivery -------------------------------------------------------------------------------


def deliver(records: list[dict[str, Any]], ep: dict[str, Any], body: bytes, event_type: str,
            msg_id: str, signed_body: Optional[bytes] = None) -> None:
    """Attempt until delivered, failed or dead-lettered; every record shares the outcome."""
    schedule = ep["retry_schedule"]
    first_ts: Optional[int] = None
    trace, span = secrets.token_hex(16), secrets.token_hex(8)
    for number in range(1, len(schedule) + 2):
        if ep["limiter"] is not None:
            ep["limiter"].acquire()
        ts = int(time.time())
        if BUG == "reuses_timestamp":  # the first attempt's (after any wait for the cap)
            first_ts = ts if first_ts is None else first_ts
            ts = first_ts
        if number > 1 and (BUG == "new_delivery_id_on_retry" or (
                BUG == "batch_id_per_attempt" and msg_id.startswith("bat_"))):
            msg_id = msg_id[:4] + uuid.uuid4().hex
        headers = dict(ep["headers"]) if number == 1 or BUG != "headers_first_attempt_only" \
            else {}
        keys = current_keys(ep)
        if BUG == "batch_signed_hmac_only" and msg_id.startswith("bat_"):
            keys = [s for s, until in ep["secrets"] if until is None or until > time.time()]
        headers.update(hookseal.sign(signed_body or body, keys, profile=ep["profile"],
                                     timestamp=ts, msg_id=msg_id, event_type=event_type,
                                     header_prefix=ep["header_prefix"]))
        value = headers.get("webhook-signature", "")
        if BUG == "sw_signatures_comma_joined" and value.count("v1,") > 1:
            headers["webhook-signature"] = value.replace(" ", ",")
        oauth = bool(ep["auth"]) and ep["auth"]["type"] == "oauth"
        if oauth:
            headers["Authorization"] = "Bearer " + oauth_token(ep["auth"], fresh=False)
        elif ep["auth"] and ep["auth"]["type"] == "static" and (
                number == 1 or BUG != "auth_first_attempt_only"):
            headers["Authorization"] = ep["auth"]["authorization"]
        if BUG != "traceparent_reused_span":
            span = secrets.token_hex(8)
        headers["traceparent"] = f"00-{trace}-{span}-01"
        started = time.time()
        status, error, resp_headers, dropped = None, None, {}, False
        resp_body = ""
        try:
            url = ep["url"]
            status, resp_headers, resp_body = post(
                url, body, headers, None if BUG == "no_timeout" else ep["timeout"], ep["tls"],
                ep["proxy"])
            if oauth and status == 401 and BUG != "oauth_no_refresh":
                # The token was refused: fetch a new one once and retry the attempt once.
                headers["Authorization"] = "Bearer " + oauth_token(ep["auth"], fresh=True)
                status, resp_headers, resp_body = post(url, body, headers, ep["timeout"],
                                                       ep["tls"], ep["proxy"])
            if BUG == "follows_redirects" and 300 <= status < 400 and "location" in resp_headers:
                status, resp_headers, resp_body = post(resp_headers["location"], body, headers,
                                                       ep["timeout"])
        except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            dropped = not isinstance(exc, TimeoutError)
        with LOCK:
            for dlv in records:
                recorded_at = dlv["created"] if BUG == "attempt_time_is_enqueue_time" else started
                dlv["attempts"].append({"number": number, "at": recorded_at, "status_code": status,
                                        "error": error,
                                        "latency_ms": int((time.time() - started) * 1000),
                                        "response_headers": resp_headers,
                                        "response_body": resp_body if BUG == "response_body_whole"
                                        else resp_body[:4096]})
        if status is not None and 200 <= status < 300:
            return finish(records, "delivered")
        if dropped and BUG == "no_retry_on_dropped_connection":
            return finish(records, "failed")
        retryable = status is None or status >= 500 or status == 429 or (
            BUG == "retries_4xx" and 400 <= status < 500) or (
            BUG == "retries_408" and status in (408, 409, 423, 425))
        if not retryable:
            return finish(records, "failed")
        if number > len(schedule):
            return finish(records, "dead_lettered")
        step = min(number, len(schedule) - 1) if BUG == "next_step_delay" else number - 1
        delay = float(schedule[step])
        wait = retry_after_seconds(resp_headers.get("retry-after", ""))
        if BUG != "ignores_retry_after" and status in (429, 503) and wait is not None:
            cap = float("inf") if BUG == "retry_after_uncapped" else ep["retry_after_cap"]
            delay = max(delay, min(wait, cap))
        for dlv in records:
            dlv["next_attempt_at"] = time.time() + delay
        time.sleep(delay)
    finish(records, "dead_lettered")


def oauth_token(auth: dict[str, Any], fresh: bool) -> str:
    """The cached client-credentials token, fetched when there is none (or ``fresh``)."""
    with LOCK:
        if auth["token"] and not fresh and BUG != "oauth_token_per_attempt":
            return str(auth["token"])
    parts = urllib.parse.urlsplit(auth["token_url"])
    form = {"grant_type": "client_credentials", "client_id": auth["client_id"],
            "client_secret": auth["client_secret"]}
    if auth.get("scope"):
        form["scope"] = auth["scope"]
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=5)
    try:
        conn.request("POST", parts.path or "/", body=urllib.parse.urlencode(form),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        answer = json.loads(conn.getresponse().read() or b"{}")
    finally:
        conn.close()
    with LOCK:
        auth["token"] = str(answer.get("access_token", ""))
        return auth["token"]


def finish(records: list[dict[str, Any]], status: str) -> None:
    with LOCK:
        for dlv in records:
            dlv["status"] = status


def batcher(ep: dict[str, Any]) -> None:
    """Gather an endpoint's events until max_events, max_bytes or max_wait; send them."""
    cfg, queue, cond = ep["batch"], ep["queue"], ep["cond"]
    while True:
        with cond:
            while not queue:
                cond.wait()
            deadline = queue[0][2] + cfg["max_wait"]
            while True:
                n, size = 0, 2
                for _, body, _ in queue:
                    too_big = n and size + len(body) + 1 > cfg["max_bytes"] and \
                        BUG != "batch_ignores_max_bytes"
                    if n == cfg["max_events"] or too_big:
                        break
                    n, size = n + 1, size + len(body) + (1 if n else 0)
                full = (n < len(queue) or n == cfg["max_events"]) and \
                    BUG != "batch_waits_for_max_wait"
                if full or time.time() >= deadline:
                    break
                cond.wait(max(0.0, deadline - time.time()))
            taken, queue[:] = queue[:n], queue[n:]
        if BUG == "batch_reversed":
            taken.reverse()
        batch_id = "bat_" + uuid.uuid4().hex
        records = [dlv for dlv, _, _ in taken]
        with LOCK:
            for dlv in records:
                dlv["batch_id"] = batch_id
        body = b"[" + b",".join(b for _, b, _ in taken) + b"]"
        deliver(records, ep, body, "batch", batch_id)
        if BUG == "batch_dead_letter_split" and records[0]["status"] == "dead_lettered":
            for dlv, alone, _ in taken:  # the bug: a batch that failed is tried event by event
                deliver([dlv], ep, alone, dlv["event_type"], json.loads(alone)["id"])


def key_worker(ep: dict[str, Any], key: str) -> None:
    """Deliver one key's events one at a time, in enqueue order (contract 4.5)."""
    queue, cond = ep["keys"][key], ep["cond"]
    while True:
        with cond:
            while not queue:
                cond.wait()
            item = queue.pop(0)
        deliver(*item)
        if BUG == "ordering_stalls_after_dead_letter" and item[0][0]["status"] == "dead_lettered":
            return  # the bug: the key's next events wait behind its dead letter for ever


def op_create_endpoint(req: dict[str, Any]) -> dict[str, Any]:
    if not req.get("allow_local") and refused(req["url"]) and not (
            BUG == "allows_loopback" and loopback(req["url"])):
        return {"ok": False, "error": "destination_refused", "detail": "loopback"}
    prefix = req.get("header_prefix") or "Hookseal"
    signing_prefix = "Hookseal" if BUG == "ignores_header_prefix" else prefix
    try:
        flt = req.get("filter")
        if flt is not None:
            check_filter(flt)
        headers = check_headers(req.get("headers") or {}, prefix)
        redact = check_redact(req.get("redact") or [], req.get("event_types"))
        versions = dict(req.get("versions") or {}) if BUG == "pin_unchecked" else \
            check_versions(req.get("versions") or {})
        auth = check_auth(req["auth"], bool(req.get("allow_local"))) \
            if req.get("auth") is not None else None
        batch = check_batch(req["batch"]) if req.get("batch") is not None else None
        rate = req.get("rate_limit")
        if rate is not None and not (number(rate) and rate > 0) and \
                BUG != "rate_limit_unchecked":
            raise Refused("invalid_rate_limit", "rate_limit: deliveries per second, above 0")
        ordering = req.get("ordering")
        if ordering is not None and ordering != "per_key" and BUG != "ordering_any_accepted":
            raise Refused("invalid_ordering", "ordering is per_key")
    except Refused as exc:
        return {"ok": False, "error": exc.code, "detail": str(exc)}
    ep_id = "ep_" + uuid.uuid4().hex[:12]
    signing = req.get("signing") or "hmac"
    sk, pk = hookseal.generate_signing_key() if signing != "hmac" else (None, None)
    ep = ENDPOINTS[ep_id] = {
        "id": ep_id, "tenant": req["tenant"], "url": req["url"],
        "profile": req.get("profile") or "hookseal-v1", "header_prefix": signing_prefix,
        "event_types": req.get("event_types"),
        "retry_schedule": req.get("retry_schedule") or [0.5, 1, 2],
        "retry_after_cap": float(req.get("retry_after_cap") or 5),
        "timeout": float(req.get("timeout") or 10), "signing": signing,
        "secrets": [(hookseal.generate_secret(), None)], "signing_keys": [(sk, None)],
        "filter": flt, "headers": headers, "redact": redact, "versions": versions,
        "auth": auth, "batch": batch, "ordering": ordering,
        "limiter": Limiter(float(rate)) if rate is not None else None,
        "queue": [], "cond": threading.Condition(), "keys": {}, "sequences": {},
        "tls": tls_context(req.get("tls_ca_pem"), auth), "proxy": req.get("proxy"),
    }
    if batch is not None:
        threading.Thread(target=batcher, args=(ep,), daemon=True).start()
    return {"ok": True, "endpoint_id": ep_id, "secret": ep["secrets"][0][0], "public_key": pk}


def endpoint_body(ep: dict[str, Any], envelope: dict[str, Any]) -> tuple[bytes, Optional[bytes]]:
    """The body this endpoint gets (pinned version, redaction), and the bytes signed when
    they differ (only ever through a bug)."""
    from hookseal_catalog.derivation import derive

    env = dict(envelope)
    pinned = ep["versions"].get(env["type"])
    if pinned is not None and pinned != env["version"] and BUG != "pinned_version_ignored":
        env["data"] = derive(CATALOG, env["type"], env["data"], pinned)
        env["version"] = pinned
    signed = None
    if ep["redact"]:
        if BUG == "redact_after_signing":
            signed = json.dumps(env).encode()
        env["data"] = redacted(env["data"], ep["redact"])
    return json.dumps(env).encode(), signed


def op_send(req: dict[str, Any]) -> dict[str, Any]:
    event_type, data = req["type"], req["data"]
    key = req.get("idempotency_key")
    fingerprint = json.dumps([event_type, data], sort_keys=True)
    if key is not None and BUG != "idempotency_ignored":
        seen = IDEMPOTENT.get((req["tenant"], key))
        if seen is not None:
            if seen[0] != fingerprint:
                return {"ok": False, "error": "idempotency_conflict",
                        "detail": "this key was used with other data"}
            return seen[1]
    if BUG != "no_payload_validation" and not CATALOG.is_valid(event_type, data):
        return {"ok": False, "error": "invalid_payload"}
    from hookseal_catalog.ordering import ordering_value

    envelope = CATALOG.build_envelope(event_type, data)
    out = []
    for ep in list(ENDPOINTS.values()):
        if ep["tenant"] != req["tenant"]:
            continue
        subscribed = ep["event_types"][:1] if BUG == "event_types_first_only" and \
            ep["event_types"] else ep["event_types"]
        if subscribed is not None and event_type not in subscribed and \
                BUG != "delivers_unsubscribed":
            continue
        if ep["filter"] is not None and not matches(ep["filter"], envelope):
            continue
        dlv = {"id": "dlv_" + uuid.uuid4().hex, "endpoint_id": ep["id"], "event_type": event_type,
               "status": "pending", "attempts": [], "next_attempt_at": None,
               "created": time.time(), "batch_id": None}
        DELIVERIES[dlv["id"]] = dlv
        out.append({"delivery_id": dlv["id"], "endpoint_id": ep["id"]})
        order = ordering_value(CATALOG, event_type, data) if ep["ordering"] else None
        env = envelope
        if order is not None:
            counter = "*" if BUG == "sequence_gaps" else order
            ep["sequences"][counter] = ep["sequences"].get(counter, 0) + 1
            env = {**envelope, "sequence": ep["sequences"][counter]}
        body, signed = endpoint_body(ep, env)
        if ep["batch"] is not None:
            with ep["cond"]:
                ep["queue"].append((dlv, body, time.time()))
                ep["cond"].notify_all()
        elif order is not None and BUG != "ordering_overlaps":
            queue_key = "*" if BUG == "ordering_blocks_other_keys" else order
            with ep["cond"]:
                if queue_key not in ep["keys"]:
                    ep["keys"][queue_key] = []
                    threading.Thread(target=key_worker, args=(ep, queue_key),
                                     daemon=True).start()
                ep["keys"][queue_key].append(([dlv], ep, body, event_type, envelope["id"], signed))
                ep["cond"].notify_all()
        else:
            threading.Thread(target=deliver, args=([dlv], ep, body, event_type, envelope["id"],
                                                   signed), daemon=True).start()
            while BUG == "delivers_in_send" and not dlv["attempts"]:
                time.sleep(0.01)  # the bug: the caller waits on the customer's endpoint
    answer = {"ok": True, "event_id": envelope["id"], "deliveries": out}
    if key is not None:
        IDEMPOTENT[(req["tenant"], key)] = (fingerprint, answer)
    return answer


def op_rotate_secret(req: dict[str, Any]) -> dict[str, Any]:
    ep = ENDPOINTS[req["endpoint_id"]]
    overlap = float(req.get("overlap_seconds",
                            0 if BUG == "rotation_default_no_overlap" else 86400))
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
    "filter": (dict, type(None)), "headers": (dict, type(None)), "redact": (list, type(None)),
    "versions": (dict, type(None)), "auth": (dict, type(None)), "batch": (dict, type(None)),
    "rate_limit": (int, float, type(None)), "ordering": (str, type(None)),
    "idempotency_key": (str, type(None)), "tls_ca_pem": (str, type(None)),
    "proxy": (str, type(None)),
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


def hello() -> dict[str, Any]:
    answer = {"ok": True, "name": "toy-sender", "version": "0",
              "profiles": ["hookseal-v1", "standard-webhooks"],
              "signing": ["hmac", "ed25519", "both"], "retry_jitter": 0,
              "features": [] if BUG == "declares_no_features" else FEATURES}
    if BUG == "hello_without_version":
        del answer["version"]
    return answer


def main() -> None:
    ops = {"create_endpoint": op_create_endpoint, "send": op_send,
           "rotate_secret": op_rotate_secret, "get_delivery": op_get_delivery,
           "hello": lambda _: hello()}
    for line in sys.stdin:
        try:
            req = json.loads(line)
            if not isinstance(req, dict) or not isinstance(req.get("op"), str):
                raise TypeError("a request is a JSON object with an op")
            if req["op"] == "shutdown":
                print(json.dumps({"ok": True}), flush=True)
                return
            handler = ops.get(req["op"])
            unknown = "invalid_request" if BUG == "unknown_op_invalid_request" else "unknown_op"
            reply = handler(checked(req)) if handler else {"ok": False, "error": unknown}
        except (TypeError, ValueError, KeyError) as exc:
            if BUG == "crashes_on_bad_request":
                raise
            reply = {"ok": False, "error": "invalid_request", "detail": str(exc)}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
