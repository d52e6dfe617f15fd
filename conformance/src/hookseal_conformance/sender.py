"""Drive a sender adapter and receive its deliveries on loopback (pytest-httpserver).

:class:`SenderHarness` owns the adapter process and the receiver. Each test creates its
own endpoints (each under a fresh tenant) with a :class:`Script` of replies, sends events
and waits on what arrives, with timeouts, never on sleeps.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from hookseal.profiles import DEFAULT_HEADER_PREFIX, HOOKSEAL_V1

from ._tls import TestPKI, make_pki, server_context
from .adapter_process import Adapter
from .errors import AdapterError
from .report import ConformanceFailure, bug_report


@dataclass(frozen=True)
class Reply:
    """How the receiver answers one attempt.

    Attributes:
        status: HTTP status code.
        headers: response headers (``Retry-After``, ``Location``...).
        hang: seconds to hold the request before answering (a slow endpoint).
        body: the response body (e.g. a token endpoint's JSON); empty for a short text.
    """

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    hang: float = 0.0
    body: str = ""  # the response body ("" for a short default text)


@dataclass
class Received:
    """One request as the receiver saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    answered: Optional[float] = None  # when the receiver's answer went out
    peer_port: Optional[int] = None  # the client's TCP port (to tell proxied connections)

    def header(self, name: str) -> Optional[str]:
        """Return a header value by case-insensitive name."""
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Endpoint:
    """An endpoint created through the adapter, with its receiver script and log."""

    path: str
    url: str
    tenant: str
    options: dict[str, Any]
    script: list[Reply]
    endpoint_id: str = ""
    secret: str = ""
    public_key: Optional[str] = None
    received: list[Received] = field(default_factory=list)
    #: Decides the reply from the request itself (e.g. by the event in its body); when set,
    #: it replaces ``script``.
    decide: Optional[Callable[[Received], Reply]] = None

    def reply_for(self, attempt: int) -> Reply:
        """The reply to the ``attempt``-th request (1-based); the last one repeats."""
        if self.decide is not None:
            return self.decide(self.received[attempt - 1])
        if not self.script:
            return Reply(200)
        return self.script[min(attempt, len(self.script)) - 1]


class SenderHarness:
    """A sender adapter plus a loopback HTTP receiver.

    Args:
        command: the sender adapter command line.
        timeout: seconds each adapter request may take.
        startup_timeout: extra seconds the first answer after a start may take.
    """

    def __init__(self, command: str, *, timeout: float = 10.0,
                 startup_timeout: float = 120.0) -> None:
        from pytest_httpserver import HTTPServer

        self.command = command
        self.adapter = Adapter(command, timeout=timeout, startup_timeout=startup_timeout)
        self.server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        self.server.expect_request(re.compile(r"/.*")).respond_with_handler(self._handle)
        self.server.start()
        self._cond = threading.Condition()
        self._endpoints: dict[str, Endpoint] = {}
        self._stray: list[Received] = []
        self._release = threading.Event()
        self._hello: Optional[dict[str, Any]] = None
        self._pki: Optional[TestPKI] = None
        self._tls_servers: dict[bool, Any] = {}

    def close(self) -> None:
        """Shut the adapter down and stop the receiver."""
        self._release.set()
        self.adapter.close(goodbye={"op": "shutdown"})
        for server in [self.server, *self._tls_servers.values()]:
            server.clear()
            if server.is_running():
                server.stop()

    @property
    def pki(self) -> TestPKI:
        """The test CA and its certificates (made on first use)."""
        if self._pki is None:
            self._pki = make_pki()
        return self._pki

    def tls_url_for(self, path: str, *, require_client_cert: bool) -> str:
        """An ``https://127.0.0.1`` URL for ``path`` on a TLS receiver (certificate from
        :attr:`pki`), which with ``require_client_cert`` completes no handshake without a
        client certificate the test CA issued."""
        from pytest_httpserver import HTTPServer

        server = self._tls_servers.get(require_client_cert)
        if server is None:
            server = HTTPServer(host="127.0.0.1", port=0, threaded=True,
                                ssl_context=server_context(self.pki, require_client_cert))
            server.expect_request(re.compile(r"/.*")).respond_with_handler(self._handle)
            server.start()
            self._tls_servers[require_client_cert] = server
        return f"https://127.0.0.1:{server.port}{path}"

    # -- receiver -----------------------------------------------------------------------

    def _handle(self, request: Any) -> Any:
        from werkzeug import Response

        rec = Received(
            method=request.method,
            path=request.path,
            headers={k: v for k, v in request.headers.items()},
            body=request.get_data(),
            at=time.time(),
            peer_port=_port(request.environ.get("REMOTE_PORT")),
        )
        with self._cond:
            ep = self._endpoints.get(rec.path)
            if ep is None:
                self._stray.append(rec)
                self._cond.notify_all()
                return Response("no such endpoint", status=404)
            ep.received.append(rec)
            reply = ep.reply_for(len(ep.received))
            self._cond.notify_all()
        if reply.hang:
            self._release.wait(reply.hang)
        with self._cond:
            rec.answered = time.time()
            self._cond.notify_all()
        # 204 and 304 carry no body; a client may take one for a broken response.
        text = "" if reply.status in (204, 304) else reply.body or (
            "ok" if reply.status < 300 else "scripted")
        return Response(text, status=reply.status, headers=list(reply.headers))

    def url_for(self, path: str) -> str:
        """The receiver's URL for ``path``."""
        return f"http://127.0.0.1:{self.server.port}{path}"

    def stray(self, path: str) -> list[Received]:
        """Requests that arrived at ``path``, which no endpoint owns (e.g. redirect targets)."""
        with self._cond:
            return [r for r in self._stray if r.path == path]

    # -- adapter ------------------------------------------------------------------------

    def call(self, request: dict[str, Any], prop: str) -> dict[str, Any]:
        """Send one adapter request; fail with a bug report on a protocol violation."""
        try:
            answer = self.adapter.request(request)
        except AdapterError as exc:
            raise ConformanceFailure(bug_report(
                prop=prop, expected="one JSON answer", answered=f"{exc.code}: {exc}",
                request=request, command=self.command)) from None
        if not isinstance(answer.get("ok"), bool):
            raise ConformanceFailure(bug_report(
                prop=prop, expected='an object with "ok": true|false',
                answered=repr(answer), request=request, command=self.command))
        return answer

    def require(self, request: dict[str, Any], prop: str) -> dict[str, Any]:
        """Like :meth:`call`, but the answer must be ``ok``."""
        answer = self.call(request, prop)
        if answer["ok"] is not True:
            raise ConformanceFailure(bug_report(
                prop=prop, expected='{"ok": true, ...}', answered=repr(answer),
                request=request, command=self.command))
        return answer

    def hello(self) -> dict[str, Any]:
        """The adapter's ``hello`` answer (asked once)."""
        if self._hello is None:
            self._hello = self.require({"op": "hello"}, "answers hello")
        return self._hello

    def endpoint(
        self,
        script: Sequence[Reply] = (),
        *,
        prop: str,
        create: bool = True,
        **options: Any,
    ) -> Endpoint:
        """Create an endpoint (fresh tenant, fresh path) whose receiver follows ``script``.

        ``options`` override the ``create_endpoint`` fields; defaults: hookseal-v1, prefix
        ``Hookseal``, every event type, schedule ``[0.5, 1, 2]``, timeout 2 s, local allowed,
        HMAC signing.
        """
        path = f"/hook/{uuid.uuid4().hex[:12]}"
        tenant = f"t-{uuid.uuid4().hex[:10]}"
        fields: dict[str, Any] = {
            "op": "create_endpoint", "tenant": tenant, "url": self.url_for(path),
            "profile": HOOKSEAL_V1, "header_prefix": DEFAULT_HEADER_PREFIX, "event_types": None,
            "retry_schedule": [0.5, 1, 2], "timeout": 2.0, "allow_local": True,
            "signing": "hmac",
        }
        fields.update(options)
        if "url" in options:  # e.g. a TLS receiver's URL: route by its path
            path = urllib.parse.urlsplit(str(options["url"])).path
        ep = Endpoint(path, fields["url"], fields["tenant"], fields, list(script))
        if create:
            answer = self.require(fields, prop)
            self._register(ep, answer)
        return ep

    def try_endpoint(self, prop: str, **options: Any) -> tuple[dict[str, Any], Endpoint]:
        """Ask for an endpoint that may be refused; return the answer and the endpoint
        (registered with the receiver only when the answer is ``ok``)."""
        ep = self.endpoint(prop=prop, create=False, **options)
        answer = self.call(ep.options, prop)
        if answer.get("ok") is True:
            self._register(ep, answer)
        return answer, ep

    def listen(self, decide: Callable[[Received], Reply]) -> Endpoint:
        """Serve a fresh path with ``decide`` (not an adapter endpoint: e.g. an OAuth token
        endpoint); what arrives there is logged in the returned object's ``received``."""
        ep = self.endpoint(prop="", create=False)
        ep.decide = decide
        with self._cond:
            self._endpoints[ep.path] = ep
        return ep

    def _register(self, ep: Endpoint, answer: dict[str, Any]) -> None:
        """Note the created endpoint's id and keys; route its path to it."""
        ep.endpoint_id = str(answer.get("endpoint_id", ""))
        ep.secret = str(answer.get("secret", ""))
        pk = answer.get("public_key")
        ep.public_key = str(pk) if pk else None
        with self._cond:
            self._endpoints[ep.path] = ep

    def send(self, ep: Endpoint, event_type: str, data: dict[str, Any], prop: str) -> str:
        """Send one event to ``ep``'s tenant; return the delivery id for ``ep``."""
        req = {"op": "send", "tenant": ep.tenant, "type": event_type, "data": data}
        answer = self.require(req, prop)
        ids = [d.get("delivery_id") for d in answer.get("deliveries", [])
               if d.get("endpoint_id") == ep.endpoint_id]
        if len(ids) != 1:
            raise ConformanceFailure(bug_report(
                prop=prop, expected=f"one delivery for endpoint {ep.endpoint_id}",
                answered=repr(answer), request=req, command=self.command))
        return str(ids[0])

    def delivery(self, delivery_id: str, prop: str) -> dict[str, Any]:
        """The adapter's record of one delivery."""
        answer = self.require({"op": "get_delivery", "delivery_id": delivery_id}, prop)
        record = answer.get("delivery")
        if not isinstance(record, dict):
            raise ConformanceFailure(bug_report(
                prop=prop, expected="a delivery object", answered=repr(answer),
                command=self.command))
        return record

    # -- waiting ------------------------------------------------------------------------

    def wait_requests(self, ep: Endpoint, count: int, timeout: float) -> list[Received]:
        """Wait until ``ep`` received ``count`` requests or ``timeout`` passed; return them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(ep.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return list(ep.received)

    def wait_status(
        self, delivery_id: str, statuses: Sequence[str], timeout: float, prop: str
    ) -> dict[str, Any]:
        """Poll ``get_delivery`` until its status is one of ``statuses`` (or time is up)."""
        deadline = time.monotonic() + timeout
        record = self.delivery(delivery_id, prop)
        while record.get("status") not in statuses and time.monotonic() < deadline:
            with self._cond:
                self._cond.wait(0.1)
            record = self.delivery(delivery_id, prop)
        return record

    def quiet_for(self, ep: Endpoint, count: int, seconds: float) -> list[Received]:
        """Wait ``seconds`` for more than ``count`` requests; return what arrived.

        Proving that nothing more arrives takes waiting; this waits on the receiver's
        condition, so an extra request ends the wait at once.
        """
        return self.wait_requests(ep, count + 1, seconds)


def _port(value: Any) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _read_request(conn: socket.socket) -> None:
    """Read one HTTP request (head and ``Content-Length`` body) from ``conn``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    match = re.search(rb"(?i)content-length:\s*(\d+)", head)
    need = int(match.group(1)) if match else 0
    while len(rest) < need:
        chunk = conn.recv(65536)
        if not chunk:
            return
        rest += chunk


class _Listener:
    """A loopback socket server on a thread of its own; subclasses handle each connection.

    Subclasses set their own state before calling ``super().__init__()``, which starts
    accepting at once.
    """

    _path = "/"

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The server's URL."""
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}{self._path}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self._accepted(conn)

    def _accepted(self, conn: socket.socket) -> None:
        """Handle (and in the end close) one accepted connection."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop serving."""
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()


class _RawServer(_Listener):
    """A raw loopback HTTP server; subclasses answer each connection.

    pytest-httpserver always answers, so connections that must be dropped or trickled
    need their own socket. ``arrivals`` notes when each connection came.
    """

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self._cond = threading.Condition()
        super().__init__()

    def _accepted(self, conn: socket.socket) -> None:
        conn.settimeout(2)
        with contextlib.suppress(OSError):
            _read_request(conn)
        with self._cond:
            self.arrivals.append(time.time())
            n = len(self.arrivals)
            self._cond.notify_all()
        self._answer(conn, n)

    def _answer(self, conn: socket.socket, n: int) -> None:
        """Answer (and close) the ``n``-th connection, its request already read."""
        raise NotImplementedError

    def wait(self, count: int, timeout: float) -> list[float]:
        """Wait until ``count`` connections arrived (or ``timeout``); return arrival times."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.arrivals) < count and time.monotonic() < deadline:
                self._cond.wait(max(0.0, deadline - time.monotonic()))
            return list(self.arrivals)


def _answer_ok(conn: socket.socket) -> None:
    with conn, contextlib.suppress(OSError):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")


class DroppingServer(_RawServer):
    """A raw loopback server that drops the first ``drops`` connections unanswered.

    Each dropped connection is closed after its request was read; those whose number is in
    ``reset`` are reset (RST) instead of closed. Later connections get ``200 OK``.
    """

    _path = "/drop"

    def __init__(self, drops: int = 1, reset: Sequence[int] = ()) -> None:
        self.drops = drops
        self.reset = set(reset)
        super().__init__()

    def _answer(self, conn: socket.socket, n: int) -> None:
        if n > self.drops:
            _answer_ok(conn)
            return
        if n in self.reset:
            # Linger on, zero seconds: close() sends a reset, not a FIN.
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()


class TricklingServer(_RawServer):
    """A raw loopback server that answers its first connection one byte at a time.

    The first connection gets ``HTTP/1.1 200 OK`` and then an endless header, one byte
    every ``interval`` seconds, so no single read waits long but the response never ends:
    only a bound on the whole attempt cuts it off. Later connections get ``200 OK`` at once.
    The server notes when the sender closed the trickled connection.

    Args:
        interval: seconds between two bytes.
        limit: seconds after which the server gives up trickling itself.
    """

    _path = "/trickle"

    def __init__(self, interval: float = 0.2, limit: float = 12.0) -> None:
        self.interval = interval
        self.limit = limit
        self.closed_after: Optional[float] = None  # seconds the sender held the trickle
        super().__init__()

    def _answer(self, conn: socket.socket, n: int) -> None:
        if n == 1:
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()
        else:
            _answer_ok(conn)

    def _trickle(self, conn: socket.socket) -> None:
        import select

        start = time.time()
        data = b"HTTP/1.1 200 OK\r\nX-Trickle: " + b"a" * 100_000
        with conn:
            for byte in data:
                if self._stop.is_set() or time.time() - start > self.limit:
                    return
                try:
                    conn.sendall(bytes([byte]))
                    readable, _, _ = select.select([conn], [], [], self.interval)
                    if readable and not conn.recv(1024):
                        break  # the sender closed its end
                except OSError:
                    break
            with self._cond:
                self.closed_after = time.time() - start
                self._cond.notify_all()

    def wait_closed(self, timeout: float) -> Optional[float]:
        """Wait until the sender closed the trickled connection; seconds it held it, or None."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.closed_after is None and time.monotonic() < deadline:
                self._cond.wait(max(0.0, deadline - time.monotonic()))
            return self.closed_after


class ConnectProxy(_Listener):
    """An HTTP ``CONNECT`` proxy on loopback that records each tunnel's target.

    It answers ``CONNECT host:port`` with ``200`` and relays bytes both ways; any other
    request gets ``405`` (a sender must tunnel, contract 4.6).
    """

    _path = ""

    def __init__(self) -> None:
        self.targets: list[str] = []
        self.refused: list[str] = []
        self.ports: set[int] = set()  # local ports of the proxy's upstream connections
        self._lock = threading.Lock()
        super().__init__()

    def _accepted(self, conn: socket.socket) -> None:
        threading.Thread(target=self._tunnel, args=(conn,), daemon=True).start()

    def _tunnel(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            head = b""
            try:
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    head += chunk
            except OSError:
                return
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = line.split()
            if len(parts) < 2 or parts[0] != "CONNECT":
                with self._lock:
                    self.refused.append(line)
                with contextlib.suppress(OSError):
                    conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
                return
            host, _, port = parts[1].rpartition(":")
            with self._lock:
                self.targets.append(parts[1])
            try:
                upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
            except (OSError, ValueError):
                with contextlib.suppress(OSError):
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            with self._lock:
                self.ports.add(upstream.getsockname()[1])
            with upstream:
                conn.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                relay = threading.Thread(target=_pipe, args=(upstream, conn), daemon=True)
                relay.start()
                _pipe(conn, upstream)
                relay.join(timeout=10)


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    """Copy ``src`` to ``dst`` until either side closes."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)
