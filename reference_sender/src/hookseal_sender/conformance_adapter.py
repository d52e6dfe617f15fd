"""The conformance sender adapter (contract 5.2): ``python -m hookseal_sender.adapter``.

What ``hookseal-conformance sender --adapter`` drives to test this sender; not a framework
adapter (those are the SDK's integrations). ``hookseal_sender.adapter`` is the documented
command's module and runs this one.

JSON lines on stdin and stdout: one request object per line in, exactly one response
object per line out, in order, flushed. The adapter keeps its own temporary SQLite store
and runs a worker in the background; see ADAPTER.md for the protocol.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional, TextIO

from hookseal.profiles import DEFAULT_HEADER_PREFIX, HOOKSEAL_V1, PROFILES

from ._options import OPTION_FIELDS
from ._version import __version__
from .config import RetryPolicy, SenderConfig
from .errors import SenderError
from .models import SIGNING_MODES, Delivery
from .secretbox import generate_master_key
from .sender import Sender
from .worker import BackgroundWorker

__all__ = ["Adapter", "ConformanceAdapter", "delivery_json", "main", "serve"]

#: The optional features of ADAPTER.md the reference sender implements (``hello``).
FEATURES = ("auth_mtls", "auth_oauth", "auth_static", "batches", "filters", "headers",
            "idempotency", "ordering", "proxy", "rate_limit", "redaction", "traceparent",
            "versions")

Response = dict[str, Any]


def _bad(detail: str) -> Response:
    return {"ok": False, "error": "invalid_request", "detail": detail}


def _num(req: dict[str, Any], key: str) -> Optional[float]:
    value = req.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{key} must be a number")
    return float(value)


def delivery_json(d: Delivery) -> dict[str, Any]:
    """A delivery as the adapter reports it.

    Args:
        d: The delivery with its attempts.

    Returns:
        The ``delivery`` object of a ``get_delivery`` response.
    """
    return {
        "id": d.id,
        "endpoint_id": d.endpoint_id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "status": d.status,
        "attempts": [
            {"number": a.number, "at": a.at, "status_code": a.status_code, "error": a.error,
             "latency_ms": a.latency_ms, "outcome": a.outcome,
             "response_headers": a.response_headers, "response_body": a.response_body}
            for a in d.attempts
        ],
        "next_attempt_at": d.next_attempt_at if d.status == "pending" else None,
        "batch_id": d.batch_id,
    }



class ConformanceAdapter:
    """Answers conformance adapter requests against a sender with a background worker.

    Args:
        directory: Where the temporary SQLite store lives.
    """

    def __init__(self, directory: str) -> None:
        self._directory = Path(directory)
        self._config = SenderConfig(
            database=str(self._directory / "adapter.db"), master_key=generate_master_key(),
            allow_local=True, poll_interval=0.05, visibility_timeout=30.0,
            retry=RetryPolicy(schedule=(0.5, 1.0, 2.0), jitter=0.0, retry_after_cap=5.0),
        )
        self.sender = Sender(self._config)
        self.worker = BackgroundWorker(self.sender).start()
        # The sender has one egress proxy setting: endpoints that name a proxy live in a
        # sender (own store, own worker) of that setting, one per proxy URL.
        self._proxied: dict[str, tuple[Sender, BackgroundWorker]] = {}
        self._sender_of: dict[str, Sender] = {}  # tenant -> its sender
        self._tenant_of: dict[str, str] = {}
        self._ops: dict[str, Callable[[dict[str, Any]], Response]] = {
            "hello": self.hello, "create_endpoint": self.create_endpoint, "send": self.send,
            "rotate_secret": self.rotate_secret, "get_delivery": self.get_delivery,
        }

    def close(self) -> None:
        """Stop the workers and close the stores."""
        for sender, worker in [(self.sender, self.worker), *self._proxied.values()]:
            worker.stop()
            sender.close()

    def _sender_for(self, tenant: str, proxy: Any) -> Sender:
        """The sender of a tenant's endpoints (one per egress proxy)."""
        if proxy is not None and not isinstance(proxy, str):
            raise ValueError("proxy must be a string or null")
        if proxy is not None and proxy not in self._proxied:
            config = self._config.replace(
                egress_proxy=proxy, database=str(self._directory / f"proxy{len(self._proxied)}.db"))
            sender = Sender(config)
            self._proxied[proxy] = (sender, BackgroundWorker(sender).start())
        wanted = self.sender if proxy is None else self._proxied[proxy][0]
        if self._sender_of.setdefault(tenant, wanted) is not wanted:
            raise ValueError("this adapter runs one sender per egress proxy: all endpoints "
                             "of a tenant must name the same proxy")
        return wanted

    def _tenant_sender(self, tenant: str) -> Sender:
        return self._sender_of.get(tenant, self.sender)

    def handle(self, req: Any) -> Response:
        """Answer one request; never raises.

        Args:
            req: The decoded request.

        Returns:
            The response object.
        """
        if not isinstance(req, dict) or not isinstance(req.get("op"), str):
            return _bad("a request is a JSON object with an 'op' string")
        op = self._ops.get(req["op"])
        if op is None:
            return {"ok": False, "error": "unknown_op", "detail": f"unknown op {req['op']!r}"}
        try:
            return op(req)
        except SenderError as exc:
            return {"ok": False, "error": exc.code, "detail": exc.detail}
        except (ValueError, TypeError, KeyError) as exc:
            return _bad(str(exc))

    def hello(self, req: dict[str, Any]) -> Response:
        """``hello``: name, version, profiles, signing modes and the optional features
        implemented (ADAPTER.md, "Optional features")."""
        return {"ok": True, "name": "hookseal-sender", "version": __version__,
                "profiles": list(PROFILES), "signing": list(SIGNING_MODES),
                "features": list(FEATURES)}

    def _tenant(self, req: dict[str, Any]) -> str:
        tenant = req.get("tenant", "default")
        if not isinstance(tenant, str) or not tenant:
            raise ValueError("tenant must be a non-empty string")
        return tenant

    def create_endpoint(self, req: dict[str, Any]) -> Response:
        """``create_endpoint``: register an endpoint; returns its id, secret, public key."""
        tenant = self._tenant(req)
        if not isinstance(req.get("url"), str):
            raise ValueError("url must be a string")
        schedule = req.get("retry_schedule")
        if schedule is not None and not isinstance(schedule, list):
            raise ValueError("retry_schedule must be a list of seconds")
        sender = self._sender_for(tenant, req.get("proxy"))
        created = sender.create_endpoint(
            tenant, req["url"], profile=req.get("profile", HOOKSEAL_V1),
            header_prefix=req.get("header_prefix") or DEFAULT_HEADER_PREFIX,
            event_types=req.get("event_types"), signing=req.get("signing", "hmac"),
            retry_schedule=schedule, retry_after_cap=_num(req, "retry_after_cap"),
            timeout=_num(req, "timeout"), allow_local=bool(req.get("allow_local", False)),
            description=str(req.get("description", "")),
            **{k: req[k] for k in (*OPTION_FIELDS, "auth", "tls_ca_pem") if k in req},
        )
        self._tenant_of[created.endpoint.id] = tenant
        uses_key = created.endpoint.signing in ("ed25519", "both")
        return {"ok": True, "endpoint_id": created.endpoint.id, "secret": created.secret,
                "public_key": created.public_key if uses_key else None}

    def send(self, req: dict[str, Any]) -> Response:
        """``send``: enqueue an event (once per ``idempotency_key`` if given); returns the
        event id and its deliveries."""
        tenant = self._tenant(req)
        result = self._tenant_sender(tenant).send(
            tenant, req.get("type"), req.get("data"),  # type: ignore[arg-type]
            idempotency_key=req.get("idempotency_key"))
        for delivery_id, _ in result.deliveries:
            self._tenant_of[delivery_id] = tenant
        return {"ok": True, "event_id": result.event_id,
                "deliveries": [{"delivery_id": d, "endpoint_id": e}
                               for d, e in result.deliveries]}

    def rotate_secret(self, req: dict[str, Any]) -> Response:
        """``rotate_secret``: new secret at once, old one until the overlap ends."""
        endpoint_id = req.get("endpoint_id")
        if not isinstance(endpoint_id, str):
            return _bad("endpoint_id must be a string")
        if endpoint_id not in self._tenant_of:
            return {"ok": False, "error": "not_found", "detail": f"no endpoint {endpoint_id!r}"}
        tenant = self._tenant_of[endpoint_id]
        rot = self._tenant_sender(tenant).rotate_secret(tenant, endpoint_id,
                                        overlap=_num(req, "overlap_seconds"), actor="adapter")
        return {"ok": True, "secret": rot.secret, "public_key": rot.public_key,
                "overlap_ends_at": rot.overlap_ends_at}

    def get_delivery(self, req: dict[str, Any]) -> Response:
        """``get_delivery``: state, attempts and next attempt time."""
        delivery_id = req.get("delivery_id")
        if not isinstance(delivery_id, str):
            return _bad("delivery_id must be a string")
        if delivery_id not in self._tenant_of:
            return {"ok": False, "error": "not_found", "detail": f"no delivery {delivery_id!r}"}
        tenant = self._tenant_of[delivery_id]
        d = self._tenant_sender(tenant).get_delivery(tenant, delivery_id)
        return {"ok": True, "delivery": delivery_json(d)}


#: The former name of :class:`ConformanceAdapter`.
Adapter = ConformanceAdapter


def serve(stdin: TextIO, stdout: TextIO) -> int:
    """Run the adapter over two text streams until ``shutdown`` or end of input.

    Args:
        stdin: Requests, one JSON object per line.
        stdout: Responses, one per request, flushed.

    Returns:
        The exit status (0).
    """
    with tempfile.TemporaryDirectory(prefix="hookseal-adapter-") as tmp:
        adapter = ConformanceAdapter(tmp)
        try:
            for line in stdin:
                if not line.strip():
                    continue
                try:
                    req = json.loads(line)
                except ValueError as exc:
                    resp: Response = _bad(f"not JSON: {exc}")
                else:
                    if isinstance(req, dict) and req.get("op") == "shutdown":
                        stdout.write(json.dumps({"ok": True}) + "\n")
                        stdout.flush()
                        break
                    try:
                        resp = adapter.handle(req)
                    except Exception as exc:
                        resp = {"ok": False, "error": "internal_error", "detail": repr(exc)}
                stdout.write(json.dumps(resp) + "\n")
                stdout.flush()
        finally:
            adapter.close()
            time.sleep(0)
    return 0


def main() -> int:
    """Entry point of ``python -m hookseal_sender.adapter``.

    Returns:
        The exit status.
    """
    return serve(sys.stdin, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
