"""Scale-out on PostgreSQL: 4 supervised worker processes on one queue, one of them
killed with SIGKILL twice, against a receiver that answers 30 % 503s and counts each
endpoint's concurrent requests."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest
from aiohttp import web
from hookseal_sender import Sender, SenderConfig, generate_master_key
from hookseal_sender.catalog import no_validation
from hookseal_sender.outbox import enqueue
from hookseal_sender.supervisor import Supervisor
from hookseal_sender.worker import BackgroundWorker

from ._pg import PostgresServer
from .conftest import wait_for

pytestmark = pytest.mark.postgres

EVENTS = 20_000
ENDPOINTS = 32
PROCESSES = 4
PER_ENDPOINT = 4  # 4 processes x 4 would be 16 at once per endpoint without the shared cap

CHILD = """
import asyncio, sys
from hookseal_sender import BreakerPolicy, Sender, SenderConfig
from hookseal_sender._worker_process import deliver_until_stopped
cfg = SenderConfig(database=sys.argv[1], master_key=sys.argv[2], allow_local=True,
                   visibility_timeout=5.0, poll_interval=0.02, global_concurrency=24,
                   per_endpoint_concurrency=int(sys.argv[3]),
                   breaker=BreakerPolicy(open_seconds=0.5))
asyncio.run(deliver_until_stopped(Sender(cfg)))
"""


class CountingReceiver:
    """Answers 503 to 30 % of requests (by a hash of the delivery and its attempt), holds
    each for a few ms, and counts each endpoint's requests in progress."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, int]] = []  # (event id, status), in answer order
        self.inflight: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.requests = 0
        self._server: Optional[Any] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._ready = threading.Event()
        self._stop: Optional[asyncio.Event] = None
        self.port = 0
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path
        self.inflight[path] += 1
        self.most[path] = max(self.most[path], self.inflight[path])
        try:
            await request.read()
            self.requests += 1
            await asyncio.sleep(0.003)  # long enough for requests to overlap
            event = request.headers.get("Hookseal-Webhook-Id", "")
            attempt = request.headers.get("Hookseal-Webhook-Timestamp", "")
            status = 503 if hash((event, attempt, self.requests)) % 10 < 3 else 200
            self.answers.append((event, status))
            return web.Response(status=status, text="ok")
        finally:
            self.inflight[path] -= 1

    async def _main(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._server = runner.server
        assert site._server is not None
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    def peer_ports(self) -> set[int]:
        """The client ports of the connections open now (read on the loop)."""
        async def read() -> set[int]:
            ports = set()
            for handler in getattr(self._server, "connections", []):
                transport = handler.transport
                peer = transport.get_extra_info("peername") if transport else None
                if peer:
                    ports.add(int(peer[1]))
            return ports

        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(read(), self._loop).result(5)

    def start(self) -> CountingReceiver:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def local_ports(pid: int) -> set[int]:
    """The local TCP ports of a process's sockets (from /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


@pytest.fixture
def counting_receiver() -> Iterator[CountingReceiver]:
    r = CountingReceiver().start()
    yield r
    r.stop()


def _delivered(sender: Sender) -> set[str]:
    conn: Any = sender.store.conn()  # type: ignore[attr-defined]
    rows = conn.execute("SELECT event_id FROM deliveries WHERE status = 'delivered'")
    return {r[0] for r in rows.fetchall()}


def _delivered_count(sender: Sender) -> int:
    conn: Any = sender.store.conn()  # type: ignore[attr-defined]
    return int(conn.execute(
        "SELECT count(*) FROM deliveries WHERE status = 'delivered'").fetchone()[0])


@pytest.mark.slow
def test_four_processes_two_kills(pg_server: PostgresServer,
                                  counting_receiver: CountingReceiver, tmp_path: Path) -> None:
    db = pg_server.create_db(f"scale_{int(time.time() * 1000) % 10**8}")
    key = generate_master_key()
    sender = Sender(SenderConfig(database=db, master_key=key, allow_local=True))
    rx = counting_receiver
    eps = [sender.create_endpoint("t1", f"http://127.0.0.1:{rx.port}/ep{i}", allow_local=True,
                                  retry_schedule=[0.05] * 15).endpoint.id
           for i in range(ENDPOINTS)]
    event_ids = set()
    with sender.store.transaction() as conn:
        for i in range(EVENTS):
            r = enqueue(sender.store, "t1", "scale.test", {"i": i}, validator=no_validation,
                        conn=conn, endpoint_ids=[eps[i % ENDPOINTS]])
            event_ids.add(r.event_id)

    errors = (tmp_path / "children.log").open("wb")
    supervisor = Supervisor(lambda i: [sys.executable, "-c", CHILD, db, key, str(PER_ENDPOINT)],
                            PROCESSES, backoff=0.2, stop_timeout=20, stderr=errors)
    supervisor.start_background()
    unrecorded: list[set[str]] = []
    try:
        for kill in range(2):
            # Kill child 1 (the restarted one the second time) while it delivers.
            wait_for(lambda k=kill: len(supervisor.pid_history()[1]) == k + 1
                     and len(supervisor.pids()) == PROCESSES, 20, 0.01)
            pid = supervisor.pid_history()[1][-1]
            # It is delivering: connected to the receiver, and the others made progress.
            wait_for(lambda p=pid: local_ports(p) & rx.peer_ports(), 60, 0.01)
            target = rx.requests + 1000
            wait_for(lambda t=target: rx.requests > t, 60, 0.005)
            os.kill(pid, signal.SIGSTOP)  # frozen: its set of sockets is final
            ports = local_ports(pid)
            os.kill(pid, signal.SIGKILL)
            # Each request the dead process sent is answered once its connection closes.
            wait_for(lambda p=ports: not (rx.peer_ports() & p), 15, 0.01)
            answered = {e for e, status in list(rx.answers) if status == 200}
            unrecorded.append(answered - _delivered(sender))
        wait_for(lambda: len(supervisor.pid_history()[1]) == 3, 20, 0.01)
        wait_for(lambda: _delivered_count(sender) == EVENTS, 240, 0.1)
    finally:
        supervisor.stop()
        supervisor.join(30)
        errors.close()
    assert supervisor.restarts == 2
    log = (tmp_path / "children.log").read_text()
    assert "Traceback" not in log and "ERROR" not in log, log[-3000:]  # no deadlocks
    ok = Counter(e for e, status in rx.answers if status == 200)
    assert set(ok) == event_ids  # none lost
    for e, n in ok.items():  # a second 200 only for a kill that caught it in flight
        caught = sum(e in lost for lost in unrecorded)
        assert n - 1 <= caught, (e, n, caught)
    assert any(unrecorded), [len(lost) for lost in unrecorded]  # the kills caught some
    # The shared cap held across the processes, and was reached (so it was tested).
    assert max(rx.most.values()) == PER_ENDPOINT, dict(rx.most)
    assert sum(s == 503 for _, s in rx.answers) > 0.2 * len(rx.answers)
    sender.close()


def test_two_workers_claim_only_what_they_keep(pg_server: PostgresServer,
                                               counting_receiver: CountingReceiver) -> None:
    """Two workers on one queue, more busy endpoints than their slots hold at full limit
    (so each worker keeps one delivery of an endpoint at a time): their claims bring no
    endpoint more than the worker keeps, so almost nothing is claimed only to be given
    back. (Claims capped only by the shared per-endpoint count brought up to the cap and
    gave the rest back: a sixth to a quarter of the rows delivered here.)"""
    db = pg_server.create_db(f"share_{int(time.time() * 1000) % 10**8}")
    sender = Sender(SenderConfig(database=db, master_key=generate_master_key(),
                                 allow_local=True, global_concurrency=16,
                                 per_endpoint_concurrency=8, poll_interval=0.02))
    rx = counting_receiver
    eps = [sender.create_endpoint("t1", f"http://127.0.0.1:{rx.port}/ep{i}", allow_local=True,
                                  retry_schedule=[0.05] * 15).endpoint.id
           for i in range(16)]
    n = 1500
    with sender.store.transaction() as conn:
        for i in range(n):
            enqueue(sender.store, "t1", "share.test", {"i": i}, validator=no_validation,
                    conn=conn, endpoint_ids=[eps[i % len(eps)]])
    given_back: list[int] = []
    release = sender.store.release

    def counting_release(owner: str, delivery_ids: Any, at: float) -> None:
        given_back.append(len(delivery_ids))
        release(owner, delivery_ids, at)

    sender.store.release = counting_release  # type: ignore[method-assign]
    workers = [BackgroundWorker(sender).start() for _ in range(2)]
    try:
        wait_for(lambda: _delivered_count(sender) == n, 120, 0.05)
    finally:
        for w in workers:
            w.stop()
        sender.close()
    assert max(rx.most.values()) <= 8, dict(rx.most)  # the shared cap held
    # Given back: 2 to 7 rows in 3 runs; before, 224 to 408 (claims of up to the cap).
    assert sum(given_back) <= 0.02 * n, (sum(given_back), len(given_back))
