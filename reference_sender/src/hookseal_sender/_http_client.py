"""The HTTP/1.1 client deliveries are POSTed with: keep-alive, SSRF-checked connections.

Why not aiohttp for this: the delivery path's CPU was more than half aiohttp's (py-spy),
and this client, on asyncio Protocols with the answer parsed by ``httptools`` (llhttp,
the parser uvicorn uses), costs 0.31-0.43x aiohttp's CPU per request for the same POST
(``reference_sender/bench/lever_transport.py``; BENCHMARKS.md, "An HTTP client cheaper
than aiohttp"). It does only what a delivery needs, and aiohttp keeps the rest: requests
through the egress proxy and OAuth token requests (both in :mod:`._attempt`).

What it guarantees:

- **SSRF**: a name is resolved by :class:`~hookseal_sender.ssrf.CheckedResolver` (every
  address checked; answers cached :data:`DNS_TTL` seconds) and the socket made by
  :func:`~hookseal_sender.ssrf.guarded_socket` (the address checked again), so a
  connection only ever goes to a checked address. Connections are pooled apart by
  whether local addresses are allowed, so an allowed endpoint's connection is never
  reused for another's request.
- **TLS**: the endpoint's context (client certificate, trusted CA) or the system's,
  the certificate checked against the URL's host; pooled apart per context.
- **Limits**: at most ``connections`` open at once (an idle one of another host is
  closed to make room, else the request waits); idle ones closed after
  :data:`KEEPALIVE` seconds; one deadline per request, connect included, and a connect
  timeout; an answer's head at most :data:`MAX_HEAD` bytes (with its interim 1xx
  answers, chunk framing and trailers; trailers are not headers, and not kept); the first
  :data:`BODY_EXCERPT` bytes of its body kept (a longer body is not read: its
  connection is closed); no redirect followed; no compression asked for.
- **Errors**: one typed error per failure (:class:`HttpClientError` and its
  subclasses), each with the attempt error ``.code`` it is recorded as.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections import deque
from typing import Any, ClassVar, Optional

import aiohappyeyeballs
import httptools
from yarl import URL

from .errors import DestinationRefusedError
from .ssrf import CheckedResolver, Resolve, guarded_socket, parse_destination

__all__ = ["BODY_EXCERPT", "DNS_TTL", "HAPPY_EYEBALLS_DELAY", "KEEPALIVE", "MAX_HEAD", "Answer", "ClosedError",
           "ConnectError", "DNSError", "HttpClient", "HttpClientError", "ProtocolError",
           "TLSError"]

#: Bytes of an answer's body kept (the delivery log records this excerpt).
BODY_EXCERPT = 4096
#: Most bytes of an answer's status line and headers.
MAX_HEAD = 64 * 1024
#: Seconds an idle connection is kept (aiohttp's default too).
KEEPALIVE = 15.0
#: Seconds a name's checked addresses are reused.
DNS_TTL = 10.0
#: Seconds before the next address is tried while one still connects (RFC 8305).
HAPPY_EYEBALLS_DELAY = 0.25

#: ``(status, headers, the body's first BODY_EXCERPT bytes)`` of one answer.
Answer = tuple[int, dict[str, str], bytes]


class HttpClientError(Exception):
    """A request got no answer; ``code`` is the attempt error it is recorded as."""

    code: ClassVar[str] = "connection_error"


class DNSError(HttpClientError):
    """The destination's name did not resolve."""

    code = "dns_error"


class ConnectError(HttpClientError):
    """No connection could be made, or it broke while the request was sent."""


class ClosedError(ConnectError):
    """The server closed (or reset) the connection before its whole answer."""


class TLSError(HttpClientError):
    """The TLS handshake failed (certificate not trusted, wrong name, refused)."""

    code = "tls_error"


class ProtocolError(HttpClientError):
    """The answer was not valid HTTP/1.1, or its head was too large."""

    code = "protocol_error"


class _Conn(asyncio.Protocol):
    """One connection: at most one request in flight, its answer parsed as it comes."""

    def __init__(self, client: HttpClient, key: tuple[Any, ...]) -> None:
        self._client = client
        self.key = key
        self._loop = asyncio.get_running_loop()
        self.transport: Any = None
        self.closed = False
        self.unasked = False  # it was dropped for bytes sent before any request
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: Optional[asyncio.Future[Answer]] = None
        self._timer: Optional[asyncio.TimerHandle] = None
        self._reset()

    def _reset(self) -> None:
        self._status = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = self._head = 0
        self._headers_done = self._complete = self._unsized = self._keep_alive = False
        self._invalid_status = False

    # asyncio.Protocol
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # nobody asked (an idle connection): not ours to keep
            self.unasked = True
            self.abort()
            return
        if not self._headers_done and self._head + len(data) > MAX_HEAD + 1:
            # A read that takes the head past its bound is fed in two, the bound's worth
            # and one byte more first: a head that ends past the bound is then refused
            # below whatever reads it came in (the read that ended it went uncounted).
            room = MAX_HEAD + 1 - self._head
            self.data_received(data[:room])
            if not self.closed:
                self.data_received(data[room:])
            return
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            # Bytes past a whole answer do not spoil it (the connection is not kept).
            if not self._complete:
                self._fail(ProtocolError(f"invalid HTTP answer: {exc}"))
                return
            self._keep_alive = False
        if self._invalid_status:
            self._fail(ProtocolError(f"invalid HTTP answer: status {self._status} is not "
                                     f"one of 100-599"))
            return
        # httptools gathers a header however long, a chunked body's trailers too, and
        # llhttp reads chunk extensions however long: what is not body is bounded here,
        # head, chunk framing and trailers (one read past the bound at most is held).
        self._head += len(data)
        if self._head - self._size > MAX_HEAD and not self._complete:
            what = "chunk framing and trailers are" if self._headers_done else "head is"
            self._fail(ProtocolError(f"the answer's {what} over {MAX_HEAD} bytes"))
            return
        if self._complete or self._size > BODY_EXCERPT:
            self._finish()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.closed = True
        self._client._gone(self)
        if self._waiter is None:
            return
        if self._headers_done and self._unsized:  # the body ran until the close
            self._complete = True
            self._finish()
        else:
            self._fail(ClosedError("the server closed the connection before its answer"
                                   + (f" ({exc})" if exc else "")))

    # httptools callbacks. Once the answer is complete, llhttp parses what follows as a
    # next message: unasked bytes, which must not overwrite the answer.
    def on_message_begin(self) -> None:
        if self._complete:
            self._keep_alive = False

    def on_header(self, name: bytes, value: bytes) -> None:
        # Once the head is done, fields are a chunked body's trailers: not headers (RFC
        # 9110 6.5.1; a trailing Retry-After must not set the retry).
        if not self._headers_done:
            self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self._complete:
            return
        self._status = status = self._parser.get_status_code()
        self._headers_done = True
        # llhttp takes any three digits; a status of no class (0xx, 6xx-9xx) is no valid
        # answer (RFC 9110 15), not a 4xx-like refusal that would fail the delivery.
        self._invalid_status = not 100 <= status <= 599
        if status >= 200 and status not in (204, 304):
            # The body runs until the close unless sized by a Content-Length or chunked,
            # that is chunked as the last coding of the Transfer-Encoding (RFC 9112 6.3;
            # llhttp reads "Transfer-Encoding: gzip" so): a TE header alone is no size.
            lengths = False
            codings = [b""]
            for name, value in self._headers:
                lower = name.lower()
                if lower == b"content-length":
                    lengths = True
                elif lower == b"transfer-encoding":
                    codings = value.lower().split(b",")
            self._unsized = not lengths and codings[-1].strip(b" ") != b"chunked"

    def on_body(self, body: bytes) -> None:
        if self._complete:
            return
        room = BODY_EXCERPT - self._size
        if room > 0:
            self._body.append(body if len(body) <= room else body[:room])
        self._size += len(body)

    def on_message_complete(self) -> None:
        if self._complete:
            return
        if 100 <= self._status < 200:  # 100 Continue and the like: the answer follows
            # Interim answers count toward the head's bound (else endless ones, each
            # starting the count anew, were parsed until the deadline).
            head = self._head
            self._reset()
            self._head = head
            return
        self._complete = True
        # Read here: llhttp resets its flags once this callback returns.
        self._keep_alive = self._parser.should_keep_alive()

    # the request
    def request(self, data: bytes, timeout: float) -> asyncio.Future[Answer]:
        """Send one request; the future gets its answer, or fails within ``timeout``."""
        self._reset()
        self._waiter = fut = self._loop.create_future()
        self._timer = self._loop.call_later(timeout, self._timed_out)
        self.transport.write(data)
        return fut

    def _finish(self) -> None:
        waiter, self._waiter = self._waiter, None
        assert waiter is not None
        if self._timer is not None:
            self._timer.cancel()
        if not waiter.done():
            headers = {n.decode("latin-1"): v.decode("utf-8", "replace")
                       for n, v in self._headers}
            waiter.set_result((self._status, headers, b"".join(self._body)))
        # A body past the excerpt is not drained: the connection goes (as aiohttp's does).
        if self._keep_alive and not self.closed and self._size <= BODY_EXCERPT:
            self._client._release(self)
        else:
            self.abort()

    def _fail(self, exc: BaseException) -> None:
        waiter, self._waiter = self._waiter, None
        if self._timer is not None:
            self._timer.cancel()
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.abort()

    def _timed_out(self) -> None:
        self._fail(asyncio.TimeoutError())

    def abort(self) -> None:
        """Drop the connection at once (no answer expected on it any more)."""
        if not self.closed:
            self.closed = True
            self._client._gone(self)
        if self.transport is not None:
            self.transport.abort()


class HttpClient:
    """POSTs to endpoints on kept-alive connections, at most ``connections`` open.

    Args:
        user_agent: The ``User-Agent`` of every request (unless the headers name one).
        resolve: The DNS resolver the SSRF checks use (``None``: the system's).
        connections: Most connections open at once.
    """

    def __init__(self, user_agent: str, resolve: Optional[Resolve] = None, *,
                 connections: int = 100) -> None:
        self._user_agent = user_agent
        self._resolvers = {flag: CheckedResolver(resolve, allow_local=flag)
                           for flag in (False, True)}
        self._limit = max(1, connections)
        self._open: set[_Conn] = set()
        self._connecting = 0
        self._idle: dict[tuple[Any, ...], list[_Conn]] = {}
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._targets: dict[tuple[str, bool], tuple[str, int, bool, str, str]] = {}
        self._dns: dict[tuple[str, int, bool], tuple[float, list[str]]] = {}
        self._default_tls: Optional[ssl.SSLContext] = None
        self._sweep: Optional[asyncio.TimerHandle] = None
        self._closings = 0  # how many times close() ran: connections made across one go

    @property
    def open_connections(self) -> int:
        """How many connections are open now (in use, idle or being made)."""
        return len(self._open) + self._connecting

    async def post(self, url: str, headers: dict[str, str], body: bytes, *, timeout: float,
                   connect_timeout: Optional[float] = None,
                   tls: Optional[ssl.SSLContext] = None,
                   allow_local: bool = False) -> Answer:
        """POST ``body`` to ``url``; redirects are not followed.

        Args:
            url: An ``https://`` URL (``http://`` too with ``allow_local``); refused
                as :func:`~hookseal_sender.ssrf.parse_destination` refuses.
            headers: The request's headers; ``Host`` and ``Content-Length`` are added,
                and ``User-Agent`` unless given.
            body: The body.
            timeout: Seconds for the whole request, waiting for a connection included.
            connect_timeout: Seconds for a new connection (``None``: ``timeout``).
            tls: The TLS context of an ``https`` URL (``None``: the system's).
            allow_local: Connect to local addresses too (testing only).

        Returns:
            ``(status, headers, the body's first BODY_EXCERPT bytes)``.

        Raises:
            asyncio.TimeoutError: No whole answer in time.
            HttpClientError: No answer (its subclass and ``.code`` say why).
            DestinationRefusedError: The host resolves to (or is) a forbidden address.
        """
        host, port, https, target, host_header = self._target(url, allow_local)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        context = (tls or self._system_tls()) if https else None
        key = (host, port, context, allow_local)
        head = [f"POST {target} HTTP/1.1\r\nHost: {host_header}\r\n"
                f"Content-Length: {len(body)}\r\n"]
        agent = True
        for name, value in headers.items():
            if agent and name.lower() == "user-agent":
                agent = False
            head.append(f"{name}: {value}\r\n")
        if agent:
            head.append(f"User-Agent: {self._user_agent}\r\n")
        head.append("\r\n")
        text = "".join(head)
        lines = len(head) + 2  # the first holds three: the request line, Host, Content-Length
        if text.count("\n") != lines or text.count("\r") != lines or "\x00" in text:
            raise ProtocolError("a request header holds a line break or NUL")
        data = text.encode("utf-8") + body
        conn = await self._acquire(key, https, deadline, connect_timeout)
        fut = conn.request(data, max(deadline - loop.time(), 0.0))
        try:
            return await fut
        except asyncio.CancelledError:
            conn.abort()
            raise

    async def close(self) -> None:
        """Close every connection; requests still waiting for one, or connecting, fail.

        The client may be used again afterwards (new connections are made).
        """
        self._closings += 1
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        for conn in list(self._open):
            conn.abort()
        self._idle.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(ConnectError("the client is closed"))

    # targets, DNS and TLS
    def _target(self, url: str, allow_local: bool) -> tuple[str, int, bool, str, str]:
        """(host, port, https, request target, ``Host`` header) of ``url``, checked and
        parsed once (the SSRF form checks stand here too, not only in the caller)."""
        got = self._targets.get((url, allow_local))
        if got is None:
            parse_destination(url, allow_local=allow_local)
            parsed = URL(url)
            if parsed.port is None:
                raise DestinationRefusedError(f"no port in {url!r}")
            raw = parsed.raw_host or ""  # IDNA-encoded: what is resolved and connected to
            shown = f"[{raw}]" if ":" in raw else raw
            host_header = shown if parsed.is_default_port() else f"{shown}:{parsed.port}"
            got = (raw.rstrip("."), parsed.port, parsed.scheme == "https",
                   parsed.raw_path_qs or "/", host_header)
            if len(self._targets) > 10_000:  # endpoints come and go: bound the memo
                self._targets.clear()
            self._targets[(url, allow_local)] = got
        return got

    def _system_tls(self) -> ssl.SSLContext:
        if self._default_tls is None:  # tens of ms (the system's CAs): made once
            self._default_tls = ssl.create_default_context()
        return self._default_tls

    async def _addresses(self, host: str, port: int, allow_local: bool) -> list[str]:
        """The checked addresses of ``host``: an IP literal as it is (:meth:`_target`'s
        ``parse_destination`` refused a forbidden one), or a name resolved and checked."""
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
            return [host]
        except ValueError:
            pass
        now = time.monotonic()
        cache_key = (host, port, allow_local)
        cached = self._dns.get(cache_key)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            found = await self._resolvers[allow_local].resolve(host, port)
        except OSError as exc:  # DestinationRefusedError is a ValueError: it goes through
            raise DNSError(f"{host!r} does not resolve: {exc}") from None
        addresses = [r["host"] for r in found]
        if len(self._dns) > 10_000:
            self._dns.clear()
        self._dns[cache_key] = (now + DNS_TTL, addresses)
        return addresses

    # the pool
    async def _acquire(self, key: tuple[Any, ...], https: bool, deadline: float,
                       connect_timeout: Optional[float]) -> _Conn:
        loop = asyncio.get_running_loop()
        while True:
            idle = self._idle.get(key)
            now = loop.time()
            while idle:
                conn = idle.pop()
                if not conn.closed and now - conn.idle_since < KEEPALIVE:
                    return conn
                conn.abort()
            if len(self._open) + self._connecting < self._limit:
                return await self._connect(key, https, deadline, connect_timeout)
            if not self._evict_idle():
                waiter = loop.create_future()
                self._waiters.append(waiter)
                try:
                    await asyncio.wait_for(waiter, max(deadline - loop.time(), 0.0))
                except BaseException:
                    if waiter.done() and not waiter.cancelled():
                        self._wake()  # woken as it gave up: the freed slot is another's
                    raise

    def _evict_idle(self) -> bool:
        """Close the longest-idle connection of any host; whether there was one."""
        oldest: Optional[_Conn] = None
        for idle in self._idle.values():
            if idle and (oldest is None or idle[0].idle_since < oldest.idle_since):
                oldest = idle[0]
        if oldest is None:
            return False
        oldest.abort()
        return True

    async def _connect(self, key: tuple[Any, ...], https: bool, deadline: float,
                       connect_timeout: Optional[float]) -> _Conn:
        loop = asyncio.get_running_loop()
        budget = max(deadline - loop.time(), 0.0)
        if connect_timeout is not None:
            budget = min(budget, connect_timeout)
        self._connecting += 1  # holds a slot while connecting
        closings = self._closings
        try:
            conn = await asyncio.wait_for(self._open_connection(key, https), budget)
        except BaseException:
            self._connecting -= 1
            self._wake()  # the slot is free again
            raise
        self._connecting -= 1
        if self._closings != closings:  # close() ran meanwhile: nothing may outlive it
            conn.abort()
            raise ConnectError("the client was closed while connecting")
        if conn.closed:
            # Closed before its request: the server spoke first (the bytes came before the
            # request could be sent, so the connection was dropped), or closed it. Counted
            # as open it would hold its slot for ever, its request waiting out the deadline.
            self._wake()
            if conn.unasked:
                raise ProtocolError("the server sent data before the request")
            raise ClosedError("the server closed the connection before the request")
        self._open.add(conn)
        return conn

    async def _open_connection(self, key: tuple[Any, ...], https: bool) -> _Conn:
        host, port, context, allow_local = key
        addresses = await self._addresses(host, port, allow_local)
        sock = await self._socket(addresses, port, allow_local)
        try:
            _, conn = await asyncio.get_running_loop().create_connection(
                lambda: _Conn(self, key), sock=sock, ssl=context,
                server_hostname=host if https else None)
        except BaseException as exc:
            sock.close()
            if isinstance(exc, ssl.SSLError):  # before OSError: it is one
                raise TLSError(str(exc)) from None
            if isinstance(exc, ConnectionError) and https:  # reset during the handshake
                raise ClosedError(f"the connection closed during the TLS handshake: "
                                  f"{exc}") from None
            if isinstance(exc, OSError):
                raise ConnectError(str(exc)) from None
            raise
        return conn

    async def _socket(self, addresses: list[str], port: int,
                      allow_local: bool) -> socket.socket:
        """A socket connected to one of ``addresses``: happy eyeballs over them (a
        black-holed IPv6 address does not use up the connect timeout), each socket made
        by :func:`~hookseal_sender.ssrf.guarded_socket` (the last SSRF check, on the very
        address connected to) unless local addresses are allowed."""
        infos: list[Any] = [
            (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port, 0, 0))
            if ":" in a else (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                              (a, port))
            for a in addresses]
        try:
            return await aiohappyeyeballs.start_connection(
                infos, happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
                socket_factory=None if allow_local else guarded_socket)
        except OSError as exc:
            raise ConnectError(f"cannot connect to {addresses[0] if addresses else '?'} "
                               f"port {port}: {exc}") from None

    def _release(self, conn: _Conn) -> None:
        """A connection whose answer is complete goes back to its host's idle list."""
        conn.idle_since = asyncio.get_running_loop().time()
        self._idle.setdefault(conn.key, []).append(conn)
        if self._sweep is None:
            self._sweep = asyncio.get_running_loop().call_later(KEEPALIVE, self._sweep_idle)
        self._wake()

    def _gone(self, conn: _Conn) -> None:
        """A connection closed: it frees its slot."""
        if conn in self._open:
            self._open.discard(conn)
            idle = self._idle.get(conn.key)
            if idle and conn in idle:
                idle.remove(conn)
            self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _sweep_idle(self) -> None:
        """Close connections idle for :data:`KEEPALIVE` seconds; again while any are idle."""
        self._sweep = None
        loop = asyncio.get_running_loop()
        limit = loop.time() - KEEPALIVE
        for key, idle in list(self._idle.items()):
            for conn in [c for c in idle if c.idle_since <= limit]:
                conn.abort()
            if not idle:
                del self._idle[key]
        if any(self._idle.values()):
            self._sweep = loop.call_later(KEEPALIVE, self._sweep_idle)
