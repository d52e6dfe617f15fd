"""The delivery HTTP client (``_http_client.py``) against scripted loopback servers: its
answers, its reuse of connections (a first version silently reused none), its limits,
its SSRF checks and its typed errors."""

from __future__ import annotations

import asyncio
import logging
import select
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Optional, Union

import pytest
from hookseal_sender import _http_client
from hookseal_sender._http_client import (
    BODY_EXCERPT,
    Answer,
    ClosedError,
    HttpClient,
    ProtocolError,
)

#: One scripted answer: the pieces to write one by one (an event: wait for it first), then
#: whether the server closes the connection; ``HANG``: read the request and never answer.
Reply = Union[tuple[Sequence[Union[bytes, asyncio.Event]], bool], None]
HANG: Reply = None
#: A bound on every wait of these tests, far above what a working client needs.
LIMIT = 5.0


def answer(body: bytes = b"ok", *extra: str, version: str = "1.1") -> bytes:
    """A ``200`` with a Content-Length (and the ``extra`` header lines)."""
    head = "".join(f"{h}\r\n" for h in extra)
    return f"HTTP/{version} 200 OK\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body


def ok(body: bytes = b"ok", *extra: str, version: str = "1.1") -> Reply:
    """:func:`answer` as a reply, the connection kept open by the server."""
    return [answer(body, *extra, version=version)], False


class Server:
    """A loopback HTTP server answering each request (in arrival order, whatever its
    connection) with the next scripted :data:`Reply`; it counts the connections it
    accepted and records each request as ``(connection number, head, body)``."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.accepted = 0
        self.ended = 0  # connections ended: the client closed them (or the script did)
        self.requests: list[tuple[int, bytes, bytes]] = []
        self._server: Optional[asyncio.Server] = None
        self._open: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self.url = ""

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/hook?x=1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._open.values():  # each handler then sees the end and returns
            writer.close()
        if self._open:
            await asyncio.wait(list(self._open), timeout=LIMIT)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number, self.accepted = self.accepted, self.accepted + 1
        task = asyncio.current_task()
        assert task is not None
        self._open[task] = writer
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return  # the client closed the connection
                length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                self.requests.append((number, head, await reader.readexactly(length)))
                reply = self.replies.pop(0)
                if reply is None:  # HANG
                    await reader.read()  # until the client gives up
                    return
                pieces, close = reply
                for piece in pieces:
                    if isinstance(piece, asyncio.Event):
                        await piece.wait()
                        continue
                    writer.write(piece)
                    await writer.drain()
                if close:
                    return
        except ConnectionError:
            return
        finally:
            self.ended += 1
            del self._open[task]
            writer.close()


async def until(check: Callable[[], bool]) -> None:
    """Wait until ``check()`` holds (polled), failing after :data:`LIMIT` seconds."""
    deadline = time.monotonic() + LIMIT
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


@pytest.fixture(autouse=True)
def no_loop_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test whose event loop logged an error (a protocol callback that raised:
    asyncio then drops the connection, which could pass for the behaviour tested)."""
    yield
    errors = [r.getMessage() for r in caplog.get_records("call")
              if r.name == "asyncio" and r.levelno >= logging.ERROR]
    assert not errors


def run(test: Callable[[HttpClient], Awaitable[None]], **options: Any) -> None:
    """Run ``test`` with a fresh client on a fresh event loop, the client closed after."""
    async def go() -> None:
        client = HttpClient("client-test/1", **options)
        try:
            await asyncio.wait_for(test(client), LIMIT * 2)
        finally:
            await client.close()

    asyncio.run(go())


async def post(client: HttpClient, server: Server, body: bytes = b"{}",
               timeout: float = LIMIT) -> Answer:
    """POST ``body`` to ``server``'s (loopback) URL."""
    return await client.post(server.url, {"Content-Type": "application/json"}, body,
                             timeout=timeout, allow_local=True)


def test_a_content_length_answer_and_the_request_as_sent() -> None:
    async def go(client: HttpClient) -> None:
        async with Server(([b"HTTP/1.1 202 Accepted\r\nContent-Length: 5\r\nX-Id: 7\r\n\r\n",
                            b"hello"], False)) as srv:
            status, headers, body = await post(client, srv, b'{"a":1}')
            assert (status, body) == (202, b"hello")
            assert headers["X-Id"] == "7" and headers["Content-Length"] == "5"
            _, head, sent = srv.requests[0]
            lines = head.decode().split("\r\n")
            assert lines[0] == "POST /hook?x=1 HTTP/1.1"
            assert {"Host: " + srv.url.split("/")[2], "User-Agent: client-test/1",
                    "Content-Length: 7", "Content-Type: application/json"} <= set(lines)
            assert sent == b'{"a":1}'

    run(go)


def test_keep_alive_answers_reuse_one_connection() -> None:
    async def go(client: HttpClient) -> None:
        async with Server(ok(b"1"), ok(b"2"), ok(b"3", version="1.0"),
                          ok(b"4", "Connection: keep-alive", version="1.0"), ok(b"5")) as srv:
            assert [(await post(client, srv))[::2] for _ in range(5)] == [
                (200, str(n).encode()) for n in range(1, 6)]
            # The HTTP/1.0 answer without keep-alive (the third) ends the first connection;
            # the one that asks for keep-alive keeps the second.
            assert [n for n, _, _ in srv.requests] == [0, 0, 0, 1, 1]
            assert srv.accepted == 2

    run(go)


def test_connection_close_makes_the_next_request_open_a_new_connection() -> None:
    async def go(client: HttpClient) -> None:
        # The server says close but leaves the connection open: the client must not reuse it.
        async with Server(ok(b"a"), ok(b"b", "Connection: close"), ok(b"c"), ok(b"d")) as srv:
            bodies = [(await post(client, srv))[2] for _ in range(4)]
            assert bodies == [b"a", b"b", b"c", b"d"]
            assert [n for n, _, _ in srv.requests] == [0, 0, 1, 1]
            await until(lambda: srv.ended == 1)  # and it dropped the closed one

    run(go)


def test_a_chunked_answer_and_its_connection_kept() -> None:
    async def go(client: HttpClient) -> None:
        chunked = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
                   b"6\r\n world\r\n0\r\n\r\n"]
        async with Server((chunked, False), ok(b"next")) as srv:
            assert (await post(client, srv))[::2] == (200, b"hello world")
            assert (await post(client, srv))[::2] == (200, b"next")
            assert srv.accepted == 1

    run(go)


def test_a_chunked_answers_trailers_are_not_taken_for_its_headers() -> None:
    """Found attacking the client with hostile answers: trailer fields were merged into the
    headers (a trailing Retry-After then set the retry), which RFC 9110 6.5.1 forbids and
    aiohttp did not do."""
    async def go(client: HttpClient) -> None:
        chunked = [b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\nRetry-After: 1\r\n\r\n"
                   b"2\r\nno\r\n0\r\nRetry-After: 999\r\nX-Trailer: t\r\n\r\n"]
        async with Server((chunked, False), ok(b"next")) as srv:
            assert await post(client, srv) == (
                503, {"Transfer-Encoding": "chunked", "Retry-After": "1"}, b"no")
            assert (await post(client, srv))[::2] == (200, b"next")
            assert srv.accepted == 1

    run(go)


@pytest.mark.parametrize("head", [b"HTTP/1.0 200 OK\r\nX-A: b\r\n\r\n",
                                  b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
                                  b"HTTP/1.1 200 OK\r\nX-A: b\r\n\r\n",
                                  # Found by the hostile-server property test: a coding
                                  # other than chunked last is no size (RFC 9112 6.3),
                                  # and the close was taken for a broken answer.
                                  b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                                  b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                                  b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                  b"Transfer-Encoding: identity\r\n\r\n"],
                         ids=["http-1.0", "http-1.1-close", "http-1.1-no-length", "te-gzip",
                              "te-chunked-gzip", "te-chunked-then-identity"])
def test_an_until_close_body(head: bytes) -> None:
    async def go(client: HttpClient) -> None:
        async with Server(([head, b"until ", b"the close"], True), ok(b"next")) as srv:
            assert (await post(client, srv))[::2] == (200, b"until the close")
            assert (await post(client, srv))[::2] == (200, b"next")
            assert srv.accepted == 2

    run(go)


def test_a_204_without_a_length_is_whole_and_keeps_its_connection() -> None:
    async def go(client: HttpClient) -> None:
        async with Server(([b"HTTP/1.1 204 No Content\r\n\r\n"], False), ok(b"next")) as srv:
            assert await post(client, srv) == (204, {}, b"")
            assert (await post(client, srv))[::2] == (200, b"next")
            assert srv.accepted == 1

    run(go)


@pytest.mark.parametrize("split", [False, True], ids=["one-write", "two-writes"])
def test_a_100_continue_before_the_answer(split: bool) -> None:
    async def go(client: HttpClient) -> None:
        cont = b"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"
        final = b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone"
        pieces = [cont, final] if split else [cont + final]
        async with Server((pieces, False), ok(b"next")) as srv:
            status, headers, body = await post(client, srv)
            assert (status, body) == (201, b"done")
            assert "X-Interim" not in headers  # the interim answer's headers are not the answer's
            assert (await post(client, srv))[::2] == (200, b"next")
            assert srv.accepted == 1

    run(go)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_long_body_is_cut_at_the_cap_without_waiting_for_its_end(framing: str) -> None:
    async def go(client: HttpClient) -> None:
        data = bytes(range(256)) * (BODY_EXCERPT // 256 + 1)  # BODY_CAP + 256 bytes
        if framing == "chunked":
            first = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + f"{len(data):x}\r\n".encode() + data + b"\r\n")
        else:  # 1 MB announced, never sent in full
            first = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + data
        # The rest never comes: only the cut answers before the deadline.
        async with Server(([first], False), ok(b"next")) as srv:
            status, _, body = await post(client, srv)
            assert status == 200 and body == data[:BODY_EXCERPT]
            await until(lambda: srv.ended == 1)  # its connection, mid-answer, is dropped
            assert (await post(client, srv))[::2] == (200, b"next")
            assert srv.accepted == 2

    run(go)


def test_a_body_of_exactly_the_cap_is_kept_whole() -> None:
    async def go(client: HttpClient) -> None:
        data = b"x" * BODY_EXCERPT
        async with Server(ok(data), ok(b"next")) as srv:
            assert (await post(client, srv))[2] == data
            assert (await post(client, srv))[2] == b"next"
            assert srv.accepted == 1

    run(go)


def test_the_timeout_raises_on_a_server_that_never_answers() -> None:
    async def go(client: HttpClient) -> None:
        async with Server(HANG, ok(b"next")) as srv:
            start = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await post(client, srv, timeout=0.3)
            assert 0.25 <= time.monotonic() - start < LIMIT
            await until(lambda: srv.ended == 1)  # the client dropped that connection
            assert (await post(client, srv))[::2] == (200, b"next")
            assert srv.accepted == 2

    run(go)


def test_the_timeout_counts_the_wait_for_the_answers_end() -> None:
    async def go(client: HttpClient) -> None:
        # Headers and part of the body, then nothing: no whole answer, so a timeout.
        async with Server(([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"], False)) as srv:
            with pytest.raises(asyncio.TimeoutError):
                await post(client, srv, timeout=0.3)

    run(go)


@pytest.mark.parametrize("answer", [b"NOT HTTP AT ALL\r\n\r\n",
                                    b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok",
                                    b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n",
                                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                                    b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n"
                                    b"Upgrade: websocket\r\n\r\n"],
                         ids=["not-http", "bad-status", "bad-length", "bad-chunk", "upgrade"])
def test_a_malformed_answer_raises_rather_than_hangs(answer: bytes) -> None:
    async def go(client: HttpClient) -> None:
        # The server leaves the connection open: only the parse can end the wait in time.
        async with Server(([answer], False), ok(b"next")) as srv:
            with pytest.raises(ProtocolError):
                await post(client, srv, timeout=LIMIT * 4)
            assert (await post(client, srv))[::2] == (200, b"next")
            assert srv.accepted == 2

    run(go)


def test_a_server_closing_before_its_whole_answer_is_a_closed_error() -> None:
    async def go(client: HttpClient) -> None:
        async with Server(([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"], True)) as srv:
            with pytest.raises(ClosedError) as caught:
                await post(client, srv, timeout=LIMIT * 4)
            assert caught.value.code == "connection_error"

    run(go)


def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    async def go(client: HttpClient) -> None:
        async with Server(([answer(b"a")], True), ok(b"b")) as srv:
            assert (await post(client, srv))[2] == b"a"
            # Once the client has seen the close, its pooled connection must be passed over.
            await until(lambda: all(c.closed for idle in client._idle.values() for c in idle))
            assert (await post(client, srv))[2] == b"b"
            assert srv.accepted == 2

    run(go)


def test_unasked_bytes_on_an_idle_connection_close_it() -> None:
    async def go(client: HttpClient) -> None:
        later = asyncio.Event()
        stray = answer(b"stray", "X-Stray: 1")
        async with Server(([answer(b"a"), later, stray], False), ok(b"b")) as srv:
            assert (await post(client, srv))[2] == b"a"
            later.set()  # the stray answer comes once the first is taken
            await until(lambda: srv.ended == 1)
            assert await post(client, srv) == (200, {"Content-Length": "1"}, b"b")
            assert srv.accepted == 2

    run(go)


def test_a_stray_answer_in_the_same_read_is_not_taken_for_the_answer() -> None:
    async def go(client: HttpClient) -> None:
        stray = b"HTTP/1.1 500 Stray\r\nContent-Length: 5\r\nX-Stray: 1\r\n\r\nstray"
        async with Server(([answer(b"a") + stray], False), ok(b"b")) as srv:
            assert await post(client, srv) == (200, {"Content-Length": "1"}, b"a")
            assert await post(client, srv) == (200, {"Content-Length": "1"}, b"b")
            assert srv.accepted == 2  # a connection that spoke unasked is not kept

    run(go)


def test_a_header_with_a_line_break_is_refused() -> None:
    async def go(client: HttpClient) -> None:
        async with Server(ok()) as srv:
            for bad in ("b\r\nX-Injected: 1", "b\nX-Injected: 1", "b\rX", "b\x00"):
                with pytest.raises(ProtocolError, match="line break"):
                    await client.post(srv.url, {"X-A": bad}, b"", timeout=LIMIT,
                                      allow_local=True)
            assert srv.requests == []
            assert srv.accepted == 0

    run(go)


def test_an_answers_head_past_the_bound_is_a_protocol_error() -> None:
    async def go(client: HttpClient) -> None:
        # One endless header, never finished: the bound ends the wait, not the deadline.
        endless = [b"HTTP/1.1 200 OK\r\nX-Long: "] + [b"a" * 16384] * 8
        async with Server((endless, False), ok(b"next")) as srv:
            with pytest.raises(ProtocolError, match="head is over"):
                await post(client, srv, timeout=LIMIT * 4)
            assert (await post(client, srv))[::2] == (200, b"next")

    run(go)


@pytest.mark.parametrize("endless", [b"0\r\n", b"3;x="], ids=["trailers", "chunk-extension"])
def test_endless_trailers_or_chunk_framing_are_a_protocol_error(endless: bytes) -> None:
    """Found by the hostile-server property test: past the head, nothing was bounded but
    the body. Endless trailers grew in memory (httptools joins a field's pieces, a copy
    of the whole each time) and an endless chunk extension kept the parser busy, both
    until the deadline."""
    async def go(client: HttpClient) -> None:
        filler = b"X-T: t\r\n" if endless.startswith(b"0") else b"x"
        pieces = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n" + endless]
        pieces += [filler * (16384 // len(filler))] * 8
        async with Server((pieces, False), ok(b"next")) as srv:
            start = time.monotonic()
            with pytest.raises(ProtocolError, match="framing and trailers"):
                await post(client, srv, timeout=LIMIT)
            assert time.monotonic() - start < LIMIT / 2
            assert (await post(client, srv))[::2] == (200, b"next")

    run(go)


def test_endless_interim_answers_are_a_protocol_error() -> None:
    """Found attacking the client with hostile answers: each 100 Continue started the head's
    count anew, so endless interim answers were parsed until the deadline (unless they
    came in reads over the bound)."""
    async def go(client: HttpClient) -> None:
        conn = _http_client._Conn(client, ("h", 1, None, True))
        conn.connection_made(_Transport())
        fut = conn.request(b"POST / HTTP/1.1\r\n\r\n", LIMIT)
        interim = b"HTTP/1.1 100 Continue\r\n\r\n" * 40  # 1 KiB a read
        for _ in range(2 * _http_client.MAX_HEAD // len(interim)):
            if fut.done():
                break
            conn.data_received(interim)
        with pytest.raises(ProtocolError, match="head is over"):
            fut.result()

    run(go)


def test_a_head_just_under_the_bound_is_an_answer() -> None:
    async def go(client: HttpClient) -> None:
        value = b"v" * (_http_client.MAX_HEAD - 200)
        async with Server(ok(b"fine", "X-Big: " + value.decode())) as srv:
            status, headers, body = await post(client, srv)
            assert (status, body, len(headers["X-Big"])) == (200, b"fine", len(value))

    run(go)


class _Transport:
    """A transport that takes writes and closes: a connection fed by hand."""

    def write(self, data: bytes) -> None:
        pass

    def abort(self) -> None:
        pass


@pytest.mark.parametrize("reads", [1, 3, 70], ids=["one-read", "three-reads", "70-reads"])
def test_a_head_past_the_bound_is_refused_however_it_is_read(reads: int) -> None:
    """Found by the hostile-server property test: the read that completed a head was not
    counted, so a head over the bound was taken (headers and all, for the delivery log)
    when it ended in the read that crossed the bound: whole in one read (up to 256 KiB),
    always."""
    async def go(client: HttpClient) -> None:
        over = b"HTTP/1.1 200 OK\r\nX-Big: " + b"v" * _http_client.MAX_HEAD \
            + b"\r\nContent-Length: 2\r\n\r\nok"
        conn = _http_client._Conn(client, ("h", 1, None, True))
        conn.connection_made(_Transport())
        fut = conn.request(b"POST / HTTP/1.1\r\n\r\n", LIMIT)
        step = -(-len(over) // reads)
        for at in range(0, len(over), step):
            conn.data_received(over[at:at + step])
        assert fut.done()
        with pytest.raises(ProtocolError, match="head is over"):
            fut.result()
        # A head of the bound exactly, in one read, is taken.
        whole = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
        whole += b"X-Big: " + b"v" * (_http_client.MAX_HEAD - len(whole) - 11) + b"\r\n\r\n"
        assert len(whole) == _http_client.MAX_HEAD
        conn = _http_client._Conn(client, ("h", 1, None, True))
        conn.connection_made(_Transport())
        fut = conn.request(b"POST / HTTP/1.1\r\n\r\n", LIMIT)
        conn.data_received(whole + b"ok")
        assert fut.result()[::2] == (200, b"ok")

    run(go)


def test_at_most_the_connection_limit_is_open_and_the_rest_wait() -> None:
    async def go(client: HttpClient) -> None:
        release = asyncio.Event()
        held = ([release, answer(b"held")], False)
        async with Server(held, held, ok(b"third")) as srv:
            tasks = [asyncio.ensure_future(post(client, srv)) for _ in range(3)]
            await until(lambda: len(srv.requests) == 2)
            await asyncio.sleep(0.1)  # room for a third connection, were one allowed
            assert srv.accepted == 2 and client.open_connections == 2
            release.set()
            bodies = sorted([(await t)[2] for t in tasks])
            assert bodies == [b"held", b"held", b"third"]
            assert srv.accepted == 2  # the third went out on a freed connection

    run(go, connections=2)


def test_a_full_pool_closes_an_idle_connection_of_another_host() -> None:
    async def go(client: HttpClient) -> None:
        async with Server(ok(b"a")) as one, Server(ok(b"b")) as two:
            assert (await post(client, one))[2] == b"a"
            assert (await post(client, two))[2] == b"b"  # one's idle connection made room
            await until(lambda: one.ended == 1)
            assert client.open_connections == 1

    run(go, connections=1)


def test_idle_connections_are_closed_after_the_keepalive(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_http_client, "KEEPALIVE", 0.2)

    async def go(client: HttpClient) -> None:
        async with Server(ok(b"a"), ok(b"b")) as srv:
            assert (await post(client, srv))[2] == b"a"
            await until(lambda: srv.ended == 1)  # closed by the client's sweep
            assert client.open_connections == 0
            assert (await post(client, srv))[2] == b"b"
            assert srv.accepted == 2

    run(go)


def test_data_before_the_request_fails_it_at_once_and_frees_its_slot(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the hostile-server property test: a server that spoke as soon as it
    accepted (here: once its bytes are there before the client's transport is made) had
    its new connection dropped unasked before the request, yet kept counted as open: the
    request waited out its whole deadline, and the slot was lost for good (with one
    connection allowed, every later request timed out)."""
    connect = HttpClient._socket

    async def data_first(client: HttpClient, *args: Any) -> Any:
        sock = await connect(client, *args)
        monkeypatch.undo()  # the first connection only
        await until(lambda: bool(select.select([sock], [], [], 0)[0]))
        return sock

    monkeypatch.setattr(HttpClient, "_socket", data_first)

    async def go(client: HttpClient) -> None:
        async def speak_first(reader: asyncio.StreamReader,
                              writer: asyncio.StreamWriter) -> None:
            writer.write(answer(b"unasked"))
            await reader.read()  # until the client closes
            writer.close()

        server = await asyncio.start_server(speak_first, "127.0.0.1", 0)
        try:
            url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
            start = time.monotonic()
            with pytest.raises(ProtocolError, match="before the request"):
                await client.post(url, {}, b"{}", timeout=LIMIT, allow_local=True)
            assert time.monotonic() - start < LIMIT / 2
            assert client.open_connections == 0
            async with Server(ok(b"next")) as srv:  # the one slot is free
                assert (await post(client, srv))[::2] == (200, b"next")
        finally:
            server.close()

    run(go, connections=1)


def test_a_cancelled_request_drops_its_connection() -> None:
    async def go(client: HttpClient) -> None:
        async with Server(HANG, ok(b"next")) as srv:
            task = asyncio.ensure_future(post(client, srv))
            await until(lambda: len(srv.requests) == 1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await until(lambda: srv.ended == 1)
            assert client.open_connections == 0
            assert (await post(client, srv))[::2] == (200, b"next")

    run(go)


# SSRF: the client's own checks, whatever its caller checked.
def test_local_addresses_are_refused_without_allow_local() -> None:
    from hookseal_sender.errors import DestinationRefusedError

    async def go(client: HttpClient) -> None:
        async with Server(ok()) as srv:
            https = srv.url.replace("http://", "https://")
            for url in (srv.url, https, https.replace("127.0.0.1", "localhost"),
                        https.replace("127.0.0.1", "[::1]"), https.replace("127.0.0.1", "127.1"),
                        https.replace("127.0.0.1", "rebound.example")):
                with pytest.raises(DestinationRefusedError):
                    await client.post(url, {}, b"", timeout=LIMIT)
            assert srv.accepted == 0

    async def resolve(host: str, port: int) -> list[str]:
        return {"rebound.example": ["93.184.216.34", "127.0.0.1"],
                "127.1": ["127.0.0.1"]}[host]

    run(go, resolve=resolve)


def test_names_are_resolved_once_per_ttl_and_failures_are_dns_errors(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_http_client, "DNS_TTL", 0.5)
    asked: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        if host == "nowhere.example":
            raise OSError("no such name")
        return ["127.0.0.1"]

    async def go(client: HttpClient) -> None:
        async with Server(ok(b"1"), ok(b"2"), ok(b"3")) as srv:
            named = srv.url.replace("127.0.0.1", "hooks.example")
            started = time.monotonic()
            for _ in range(2):  # each on a new connection: the second within the TTL
                assert (await client.post(named, {}, b"", timeout=LIMIT, allow_local=True))[0] == 200
                await client.close()
            assert time.monotonic() - started < 0.5, "too slow to test the TTL"
            assert asked == ["hooks.example"]
            _, head, _ = srv.requests[0]
            assert f"Host: {named.split('/')[2]}\r\n".encode() in head
            await asyncio.sleep(0.5 - (time.monotonic() - started) + 0.05)  # the TTL passes
            await client.post(named, {}, b"", timeout=LIMIT, allow_local=True)
            assert asked == ["hooks.example"] * 2
            with pytest.raises(_http_client.DNSError) as caught:
                await client.post("https://nowhere.example/", {}, b"", timeout=LIMIT)
            assert caught.value.code == "dns_error"

    run(go, resolve=resolve)


def test_a_closed_port_is_a_connect_error() -> None:
    async def go(client: HttpClient) -> None:
        async with Server() as srv:
            url = srv.url
        with pytest.raises(_http_client.ConnectError) as caught:  # the server is gone
            await client.post(url, {}, b"", timeout=LIMIT, allow_local=True)
        assert caught.value.code == "connection_error"
        assert client.open_connections == 0

    run(go)


# TLS: the certificate checked against the URL's host, with the endpoint's context.
def test_tls_with_the_endpoints_ca_and_a_refused_certificate() -> None:
    import ssl

    from ._pki import make_pki

    pki = make_pki()
    server_tls = pki.server_context(require_client_cert=False)

    async def go(client: HttpClient) -> None:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(answer(b"over tls", "Connection: close"))
                await writer.drain()
            except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_tls)
        try:
            url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
            trusting = ssl.create_default_context(cadata=pki.ca_pem)
            status, _, body = await client.post(url, {}, b"{}", timeout=LIMIT, tls=trusting,
                                                allow_local=True)
            assert (status, body) == (200, b"over tls")
            with pytest.raises(_http_client.TLSError) as caught:  # the system's CAs
                await client.post(url, {}, b"{}", timeout=LIMIT, allow_local=True)
            assert caught.value.code == "tls_error"
        finally:
            server.close()

    run(go)


def test_an_address_that_never_answers_does_not_use_up_the_connect_timeout() -> None:
    import socket

    # A black hole on 127.0.0.1 (a listener whose backlog is full drops new SYNs, so
    # connecting hangs) and the server on 127.0.0.2, the same port: the name resolves to
    # both, the black hole first.
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(0)
    port = hole.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)

    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1", "127.0.0.2"]

    async def go(client: HttpClient) -> None:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer(b"second address", "Connection: close"))
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.2", port)
        try:
            started = time.monotonic()
            status, _, body = await client.post(f"http://hooks.example:{port}/", {}, b"{}",
                                                timeout=LIMIT, connect_timeout=LIMIT,
                                                allow_local=True)
            assert (status, body) == (200, b"second address")
            # One address after the other would have spent the whole connect timeout.
            assert time.monotonic() - started < LIMIT / 2
        finally:
            server.close()

    try:
        run(go, resolve=resolve)
    finally:
        for s in (hole, *fillers):
            s.close()


@pytest.mark.parametrize("status", [b"099", b"000", b"600", b"999"])
def test_a_status_of_no_class_is_a_protocol_error(status: bytes) -> None:
    async def go(client: HttpClient) -> None:
        # Taken as an answer, 099 failed the delivery for good (below 200, not a 429).
        odd = b"HTTP/1.1 " + status + b" Odd\r\nContent-Length: 2\r\n\r\nok"
        async with Server(([odd], False), ok(b"next")) as srv:
            with pytest.raises(ProtocolError, match="status"):
                await post(client, srv)
            assert (await post(client, srv))[::2] == (200, b"next")

    run(go)


def test_a_connection_made_while_the_client_closes_is_not_kept() -> None:
    async def go(client: HttpClient) -> None:
        slow = asyncio.Event()

        async def resolve(host: str, port: int) -> list[str]:
            await slow.wait()  # the connection is still being made when close() runs
            return ["127.0.0.1"]

        client._resolvers[True] = _http_client.CheckedResolver(resolve, allow_local=True)
        async with Server(ok()) as srv:
            named = srv.url.replace("127.0.0.1", "hooks.example")
            request = asyncio.ensure_future(
                client.post(named, {}, b"", timeout=LIMIT, allow_local=True))
            await until(lambda: client.open_connections == 1)
            await client.close()
            slow.set()
            with pytest.raises(_http_client.ConnectError, match="closed"):
                await request
            assert client.open_connections == 0
            await until(lambda: srv.ended == srv.accepted)

    run(go)
