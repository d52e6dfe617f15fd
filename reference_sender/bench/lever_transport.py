"""A/B of an HTTP client cheaper than aiohttp (issue 25's last CPU lever): measured, not
shipped.

The prototype (:class:`Client`) is a minimal HTTP/1.1 keep-alive POST client on asyncio
Protocols: ``loop.create_connection``, a small per-host pool of idle connections, the
response parsed by ``httptools`` (MagicStack's binding of llhttp). It handles
Content-Length, chunked and close-delimited responses, 1xx answers, ``Connection:
close`` (and HTTP/1.0), keeps the first :data:`BODY_CAP` bytes of a body (a longer answer
is not drained: its connection is closed, as aiohttp does when the sender stops reading
its excerpt) and one deadline per request, connect included. It has none of what the
product's aiohttp use covers beyond that (SSRF-checked addresses, the egress proxy, mTLS
contexts, OAuth token requests, aiohttp's error classes): BENCHMARKS.md, "Worker
processes and capacity", says what shipping it would take.

Measured (CPU time of the process from a warm-up mark, as ``bench_levers.py`` does; each
run a process of its own pinned to CPU 0, the fast receiver and PostgreSQL on CPU 1;
interleaved rounds, medians):

- the bare clients: ``bench_levers.bare_run`` (aiohttp, the sender's very requests) and
  the same loop on the prototype, on asyncio's loop and, when uvloop is importable, on
  uvloop too;
- end to end: ``bench_levers.sender_run`` (a worker drains ``500 + N`` 1 KiB deliveries
  to one endpoint, SQLite and PostgreSQL) unpatched, and with ``AttemptRunner._send``
  swapped for the prototype by a monkeypatch in the run's process (nothing under
  ``src`` changes); and, unless ``--no-old``, the old commit ``915f42b`` unpatched, for
  the throughput target.

Not in ``make bench`` (the lever was not kept). httptools is in the workspace's ``bench``
dependency group (``make install`` installs it); uvloop is not a dependency (see
``lever_uvloop.py``): without it the uvloop runs are left out. The runs recorded were
taken with both installed beside the shared venv, not into it::

    .tools/uv/bin/uv pip install --python .venv/bin/python --target /tmp/lever-pkgs httptools uvloop
    PYTHONPATH=/tmp/lever-pkgs .venv/bin/python reference_sender/bench/lever_transport.py
    # --rounds 7 --deliveries 5000 --backends sqlite,postgresql --no-uvloop --no-old

(the runs' processes get the directory httptools and uvloop were imported from on their
``PYTHONPATH`` when it is not the venv's own). Results: BENCHMARKS.md, "Worker processes and capacity", "An HTTP
client cheaper than aiohttp".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import site
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

import bench_levers as levers
import httptools

HERE = Path(__file__).resolve().parent
#: Bytes of a response body kept (the sender records a 4 KiB excerpt).
BODY_CAP = 4096
#: Idle connections kept per host.
MAX_IDLE = 128

#: ``(status, headers, body excerpt)`` of one answer.
Answer = tuple[int, dict[str, str], bytes]


class ProtocolError(Exception):
    """The answer was not valid HTTP/1.1 (llhttp refused it)."""


class _Conn(asyncio.Protocol):
    """One connection: at most one request in flight, its answer parsed as it comes."""

    def __init__(self, client: Client, key: tuple[str, int, bool]) -> None:
        self._client = client
        self._key = key
        self._loop = asyncio.get_running_loop()
        self.transport: Any = None
        self.closed = False
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: Optional[asyncio.Future[Answer]] = None
        self._timer: Optional[asyncio.TimerHandle] = None
        self._reset()

    def _reset(self) -> None:
        self._status = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._headers_done = self._complete = self._unsized = self._keep_alive = False

    # asyncio.Protocol
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # nobody asked (an idle connection): not ours to keep
            self.transport.close()
            return
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            # (Upgrade, on a 101, is no HttpParserError; uncaught, asyncio logged it and the
            # caller saw a reset.) Bytes past a whole answer do not spoil it.
            if not self._complete:
                self._fail(ProtocolError(f"invalid HTTP answer: {exc!r}"))
                return
            self._keep_alive = False
        if self._complete or self._size > BODY_CAP:
            self._finish()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.closed = True
        if self._waiter is None:
            return
        if self._headers_done and self._unsized:  # the body ran until the close
            self._complete = True
            self._finish()
        else:
            self._fail(ConnectionResetError("the server closed the connection before its answer"))

    # httptools callbacks. Once the answer is complete, llhttp goes on parsing the rest of
    # the read as a next message: unasked bytes, which must not overwrite the answer and
    # condemn the connection.
    def on_message_begin(self) -> None:
        if self._complete:
            self._keep_alive = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._complete:
            self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self._complete:
            return
        self._status = status = self._parser.get_status_code()
        self._headers_done = True
        if status >= 200 and status not in (204, 304):
            names = {n.lower() for n, _ in self._headers}
            self._unsized = b"content-length" not in names and b"transfer-encoding" not in names

    def on_body(self, body: bytes) -> None:
        if self._complete:
            return
        room = BODY_CAP - self._size
        if room > 0:
            self._body.append(body if len(body) <= room else body[:room])
        self._size += len(body)

    def on_message_complete(self) -> None:
        if self._complete:
            return
        if 100 <= self._status < 200:  # 100 Continue and the like: the answer follows
            self._reset()
            return
        self._complete = True
        # Read here: llhttp resets its flags once this callback returns.
        self._keep_alive = self._parser.should_keep_alive()

    # the request
    def request(self, data: bytes, timeout: float) -> asyncio.Future[Answer]:
        """Send one request; the future gets its answer."""
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
            headers = {n.decode("latin-1"): v.decode("latin-1") for n, v in self._headers}
            waiter.set_result((self._status, headers, b"".join(self._body)))
        # A truncated body is not drained: the connection goes (aiohttp does the same).
        if self._keep_alive and not self.closed:
            self._client._release(self._key, self)
        else:
            self.abort()

    def _fail(self, exc: Exception) -> None:
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
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class Client:
    """A minimal HTTP/1.1 keep-alive POST client with a per-host pool of idle
    connections (at most :data:`MAX_IDLE` kept per host; the callers bound how many are
    open, as the sender's slots do).

    Args:
        user_agent: The ``User-Agent`` header of every request.
        tls: The TLS context of ``https`` URLs (default: the system's).
    """

    def __init__(self, user_agent: str, tls: Optional[ssl.SSLContext] = None) -> None:
        self._user_agent = user_agent
        self._tls = tls
        self._idle: dict[tuple[str, int, bool], list[_Conn]] = {}
        self._targets: dict[str, tuple[tuple[str, int, bool], str, str]] = {}

    def _target(self, url: str) -> tuple[tuple[str, int, bool], str, str]:
        """(pool key, request path, ``Host`` header) of ``url``, parsed once."""
        got = self._targets.get(url)
        if got is None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) URL: {url!r}")
            https = parts.scheme == "https"
            port = parts.port or (443 if https else 80)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            got = (parts.hostname, port, https), path, parts.netloc.rsplit("@", 1)[-1]
            self._targets[url] = got
        return got

    def _release(self, key: tuple[str, int, bool], conn: _Conn) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) < MAX_IDLE:
            idle.append(conn)
        else:
            conn.abort()

    async def _connect(self, key: tuple[str, int, bool], timeout: float) -> _Conn:
        host, port, https = key
        loop = asyncio.get_running_loop()
        tls = (self._tls or ssl.create_default_context()) if https else None
        _, conn = await asyncio.wait_for(loop.create_connection(
            lambda: _Conn(self, key), host, port, ssl=tls), timeout)
        return conn

    async def post(self, url: str, headers: dict[str, str], body: bytes,
                   timeout: float) -> Answer:
        """POST ``body`` to ``url`` on a kept connection (or a new one) within
        ``timeout`` seconds, connect included; redirects are not followed.

        Returns:
            ``(status, headers, the body's first BODY_CAP bytes)``.

        Raises:
            asyncio.TimeoutError: No whole answer in time.
            OSError: The connection failed or closed before the answer.
            ProtocolError: The answer was not HTTP.
            ValueError: Not an http(s) URL, or a header with a line break.
        """
        key, path, host = self._target(url)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        conn = None
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                break
            conn = None
        if conn is None:
            conn = await self._connect(key, timeout)
        head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {self._user_agent}\r\n"
                f"Content-Length: {len(body)}\r\n"
                + "".join([f"{k}: {v}\r\n" for k, v in headers.items()]) + "\r\n")
        if head.count("\n") != 5 + len(headers):  # a CR or LF inside a name or value
            conn.abort()
            raise ValueError("a header name or value holds a line break")
        fut = conn.request(head.encode("latin-1") + body, max(deadline - loop.time(), 0.0))
        try:
            return await fut
        except asyncio.CancelledError:
            conn.abort()
            raise

    def close(self) -> None:
        """Close the idle connections."""
        for idle in self._idle.values():
            for conn in idle:
                conn.abort()
        self._idle.clear()


# the runs (child processes) -------------------------------------------------------------
def patch_sender() -> None:
    """Swap the attempt's request (``AttemptRunner._send``) for the prototype in this
    process: the same headers, timeout and recorded answer; no SSRF checks, proxy or TLS
    context (the benchmark's endpoint is a local ``http`` one)."""
    import aiohttp
    from hookseal_sender._attempt import AttemptRunner

    async def send(self: Any, ep: Any, headers: dict[str, str], body: bytes,
                   timeout: aiohttp.ClientTimeout, access: Any) -> Any:
        client = self.__dict__.get("_lever_client")
        if client is None:
            client = self._lever_client = Client(self._user_agent)
        try:
            status, answer, raw = await client.post(ep.url, headers, body, timeout.total)
        except ProtocolError as exc:  # recorded as protocol_error, as aiohttp's would be
            raise aiohttp.ClientPayloadError(str(exc)) from None
        return status, None, answer, raw.decode("utf-8", "replace").replace("\x00", "\ufffd")

    close = AttemptRunner.close

    async def close_too(self: Any) -> None:
        client = self.__dict__.get("_lever_client")
        if client is not None:
            client.close()
        await close(self)

    AttemptRunner._send = send  # type: ignore[method-assign]
    AttemptRunner.close = close_too  # type: ignore[method-assign]


def bare_proto_run(url: str, n: int) -> dict[str, float]:
    """``WARM + n`` requests with the prototype (``bench_levers.bare_run``'s loop: the
    sender's headers, 64 looping tasks); CPU microseconds per request and requests/s from
    the warm-up mark."""
    from bench_sender import BODY, sender_request_headers
    from hookseal_sender import SenderConfig, tune_gc

    tune_gc()
    warm, conc = levers.WARM, levers.CONCURRENCY

    async def go() -> dict[str, float]:
        cfg = SenderConfig()
        client = Client(cfg.user_agent)
        total = cfg.connect_timeout + cfg.read_timeout
        headers = sender_request_headers()
        left, mark = [warm + n], [0.0, 0.0]

        async def loop() -> None:
            while left[0] > 0:
                left[0] -= 1
                if left[0] == n:
                    mark[:] = [levers._cpu(), time.perf_counter()]
                status, _, _ = await client.post(url, headers, BODY, total)
                assert status == 200, status

        await asyncio.gather(*(loop() for _ in range(conc)))
        cpu1, t1 = levers._cpu(), time.perf_counter()
        client.close()
        return {"cpu_us": (cpu1 - mark[0]) / n * 1e6, "rate": n / (t1 - mark[1])}

    return asyncio.run(go())


def child(args: argparse.Namespace) -> int:
    levers._pin(0)
    sys.path.insert(0, str(HERE))
    if args.loop == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    if args.child == "bare":
        out = levers.bare_run(args.url, args.n)
    elif args.child == "bare-proto":
        out = bare_proto_run(args.url, args.n)
    else:
        if args.child == "sender-proto":
            patch_sender()
        out = levers.sender_run(args.db, args.url, args.n)
    print(json.dumps(out), flush=True)
    return 0


# the conductor ------------------------------------------------------------------------
def spawn(tree: Optional[Path], extra: list[str], *args: str) -> dict[str, float]:
    """One run in a process of its own, importing ``tree`` (``None``: this checkout as
    the environment has it) and the directories of ``extra``."""
    env = dict(os.environ)
    paths = [str(tree / s) for s in levers.SOURCES] if tree is not None else []
    paths += env.get("PYTHONPATH", "").split(os.pathsep) if tree is None else []
    env["PYTHONPATH"] = os.pathsep.join([p for p in paths if p] + extra)
    done = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"run failed ({' '.join(args[:2])}): {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _med(runs: list[dict[str, float]], key: str = "cpu_us") -> float:
    return statistics.median(r[key] for r in runs)


def _paired(a: list[dict[str, float]], b: list[dict[str, float]]) -> float:
    """Median over the rounds of a's CPU per delivery / b's."""
    return statistics.median(x["cpu_us"] / y["cpu_us"] for x, y in zip(a, b))


def report(res: dict[tuple[str, str], list[dict[str, float]]], backends: list[str]) -> None:
    """Print medians, ratios to both bare clients and the throughput ratios."""
    for backend in backends:
        runs = {name: v for (b, name), v in res.items() if b == backend}
        print(f"{backend}:")
        for name, v in runs.items():
            cpu = [r["cpu_us"] for r in v]
            print(f"  {name:<22} {_med(v):6.1f} us CPU (runs {min(cpu):.0f}-{max(cpu):.0f}), "
                  f"{_med(v, 'rate'):,.0f}/s")
        for loop in ("asyncio", "uvloop"):
            ba, bp = runs.get(f"bare aiohttp {loop}"), runs.get(f"bare proto {loop}")
            if ba is None or bp is None:
                continue
            print(f"  [{loop}] bare proto / bare aiohttp: {_med(bp) / _med(ba):.2f}x "
                  f"(paired {_paired(bp, ba):.2f}x)")
            for name in ("sender old", "sender aiohttp", "sender proto"):
                s = runs.get(f"{name} {loop}")
                if s is None:
                    continue
                print(f"  [{loop}] {name}: {_med(s) / _med(ba):.2f}x bare aiohttp "
                      f"(paired {_paired(s, ba):.2f}x), {_med(s) / _med(bp):.2f}x bare proto "
                      f"(paired {_paired(s, bp):.2f}x)")
        for a, b in (("sender aiohttp asyncio", "sender proto asyncio"),
                     ("sender old asyncio", "sender aiohttp asyncio"),
                     ("sender old asyncio", "sender proto asyncio"),
                     ("sender old asyncio", "sender proto uvloop"),
                     ("sender aiohttp asyncio", "sender proto uvloop")):
            if a in runs and b in runs:
                per_cpu = _paired(runs[a], runs[b])
                wall = statistics.median(y["rate"] / x["rate"] for x, y in zip(runs[a], runs[b]))
                print(f"  {b} / {a}: deliveries per CPU second {per_cpu:.2f}x, "
                      f"deliveries/s {wall:.2f}x (medians of the rounds' ratios)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--deliveries", type=int, default=6000, help="measured per run")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--no-uvloop", action="store_true", help="asyncio's loop only")
    ap.add_argument("--no-old", action="store_true", help="without the old commit's sender")
    ap.add_argument("--old", default="915f42b", help="the old commit (default 915f42b)")
    ap.add_argument("--child", choices=["sender", "sender-proto", "bare", "bare-proto"],
                    help=argparse.SUPPRESS)
    ap.add_argument("--loop", default="asyncio", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    sys.path.insert(0, str(HERE.parent / "tests"))
    from _pg import PostgresServer
    from bench_sender import start_receiver, stop_services

    own = {str(Path(p).resolve()) for p in site.getsitepackages()}

    def beside(module: Any) -> list[str]:
        where = str(Path(module.__file__).resolve().parent.parent)
        return [] if where in own else [where]

    extra = beside(httptools)
    loops = ["asyncio"]
    if not args.no_uvloop:
        try:
            import uvloop
        except ImportError:
            print("uvloop not importable: asyncio's loop only", file=sys.stderr)
        else:
            loops.append("uvloop")
            extra += beside(uvloop)
    backends, n = args.backends.split(","), args.deliveries
    tmp = Path(tempfile.mkdtemp(prefix="hookseal-transport-"))
    old = None if args.no_old else levers.unpack(args.old, tmp / "old")
    # (name, tree, child, loop); None: this checkout. uvloop: the bare clients and the
    # patched sender (its best case), so each ratio is on one loop.
    variants: list[tuple[str, Optional[Path], str, str]] = []
    if old is not None:
        variants.append(("sender old asyncio", old, "sender", "asyncio"))
    for loop in loops:
        if loop == "asyncio":
            variants.append(("sender aiohttp asyncio", None, "sender", loop))
        variants += [(f"sender proto {loop}", None, "sender-proto", loop),
                     (f"bare aiohttp {loop}", None, "bare", loop),
                     (f"bare proto {loop}", None, "bare-proto", loop)]
    load = os.getloadavg()
    levers._pin(1)  # the receiver and PostgreSQL (and every backend it forks) on CPU 1
    recv, port = start_receiver()
    pg = PostgresServer().start() if "postgresql" in backends else None
    levers._pin(0)
    url = f"http://127.0.0.1:{port}/hook"
    print(f"HTTP client lever: {len(variants)} variants, {n:,} deliveries or requests a run "
          f"after {levers.WARM}; {args.rounds} interleaved rounds (order rotated each round); "
          f"runs on CPU 0, receiver and PostgreSQL on CPU 1; "
          f"{time.strftime('%H:%M', time.gmtime())} UTC, load average {load[0]:.2f} "
          f"{load[1]:.2f} {load[2]:.2f} at the start")
    res: dict[tuple[str, str], list[dict[str, float]]] = {}
    count = iter(range(10**6))
    try:
        for r in range(args.rounds):
            for backend in backends:
                k = r % len(variants)
                for name, tree, kind, loop in variants[k:] + variants[:k]:
                    i = next(count)
                    run = ["--child", kind, "--loop", loop, "--url", url, "--n", str(n)]
                    if kind.startswith("sender"):
                        run += ["--db", levers._db(backend, tmp, pg, i)]
                    res.setdefault((backend, name), []).append(spawn(tree, extra, *run))
                    for f in tmp.glob(f"r{i}.db*"):
                        f.unlink()
            print(f"  round {r + 1} of {args.rounds} done "
                  f"({time.strftime('%H:%M:%S', time.gmtime())} UTC)", file=sys.stderr, flush=True)
    finally:
        stop_services(recv, pg, tmp)
    load = os.getloadavg()
    print(f"{time.strftime('%H:%M', time.gmtime())} UTC, load average {load[0]:.2f} "
          f"{load[1]:.2f} {load[2]:.2f} at the end")
    report(res, backends)
    return 0


if __name__ == "__main__":
    sys.exit(main())
