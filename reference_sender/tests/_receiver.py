"""A programmable local HTTP receiver on 127.0.0.1 (aiohttp in a background thread)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from aiohttp import web


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    peer_cert: Optional[dict[str, Any]] = None  # the client certificate, over TLS


@dataclass
class Route:
    """Answers for one path: a status list consumed in order (the last repeats)."""

    statuses: list[int] = field(default_factory=lambda: [200])
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: str = "ok"
    fn: Optional[Callable[[Received], Any]] = None


class Receiver:
    def __init__(self, ssl_context: Optional[ssl.SSLContext] = None) -> None:
        self.ssl_context = ssl_context
        self.routes: dict[str, Route] = {}
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._ready = threading.Event()
        self._stop: Optional[asyncio.Event] = None
        self._runner: Optional[web.AppRunner] = None
        self.port = 0
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def url(self, path: str) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def route(self, path: str, **kw: Any) -> str:
        self.routes[path] = Route(**kw)
        return self.url(path)

    def requests(self, path: Optional[str] = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if path is None or r.path == path]

    def open_connections(self) -> int:
        """Connections still open or with a request still being handled (read on the loop)."""
        async def count() -> int:
            server = self._runner.server if self._runner else None
            return len(server.connections) if server else 0

        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(count(), self._loop).result(5)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        rec = Received(request.path, {str(k): v for k, v in request.headers.items()}, body,
                       time.time(), _peer_cert(request))
        with self._lock:
            self.received.append(rec)
        route = self.routes.get(request.path, Route())
        if route.fn is not None:
            result = route.fn(rec)
            if isinstance(result, web.StreamResponse):
                return result
            status = int(result)
        else:
            status = route.statuses[0]
            if len(route.statuses) > 1:
                route.statuses.pop(0)
        if route.delay:
            await asyncio.sleep(route.delay)
        return web.Response(status=status, text=route.body, headers=route.headers)

    async def _main(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True,
                               shutdown_timeout=0.5)
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    def start(self) -> Receiver:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def _peer_cert(request: web.Request) -> Optional[dict[str, Any]]:
    transport = request.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport else None
    return ssl_object.getpeercert() if ssl_object is not None else None


class RawReceiver:
    """A loopback server answering every request with the same raw bytes, then closing:
    answers no HTTP library would write (NUL, bytes that are not UTF-8 in its head); over
    TLS with ``ssl_context``."""

    def __init__(self, answer: bytes, ssl_context: Optional[ssl.SSLContext] = None) -> None:
        self.answer = answer
        self.requests = 0
        self._tls = ssl_context
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"{'https' if ssl_context else 'http'}://127.0.0.1:{self.port}/raw"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:  # closed: stop
                return
            try:
                conn.settimeout(10)
                if self._tls is not None:
                    conn = self._tls.wrap_socket(conn, server_side=True)
                self._answer(conn)
            except OSError:  # the client went away (or refused the handshake)
                pass
            finally:
                conn.close()

    def _answer(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return
            body += chunk
        self.requests += 1
        conn.sendall(self.answer)

    def close(self) -> None:
        self._sock.close()
        self._thread.join(10)
