"""Crash safety: kill -9 the sender repeatedly while it delivers 2,000 events."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import hookseal
import pytest
from hookseal_sender import Sender, SenderConfig, generate_master_key

from ._receiver import Received, Receiver
from .conftest import wait_for

WORKER = """
import asyncio, sys
from hookseal_sender import BreakerPolicy, Sender, SenderConfig, Worker
# A short breaker pause: a burst of retried 503s may open it, which must not stall the test.
cfg = SenderConfig(database=sys.argv[1], master_key=sys.argv[2], allow_local=True,
                   visibility_timeout=1.0, poll_interval=0.02, global_concurrency=50,
                   per_endpoint_concurrency=25, breaker=BreakerPolicy(open_seconds=0.5))
asyncio.run(Worker(Sender(cfg)).run())
"""

N = 2000


def delivered_events(sender: Sender) -> set[str]:
    conn: Any = sender.store.conn()  # type: ignore[attr-defined]
    rows = conn.execute("SELECT event_id FROM deliveries WHERE status = 'delivered'")
    return {r[0] for r in rows.fetchall()}


def leased(sender: Sender) -> int:
    """Deliveries a (dead) worker still holds: what the next worker must recover."""
    conn: Any = sender.store.conn()  # type: ignore[attr-defined]
    row = conn.execute("SELECT count(*) FROM queue WHERE lease_owner IS NOT NULL").fetchone()
    return int(row[0])


@pytest.mark.slow
def test_kill_9_loses_nothing(db_url: str, receiver: Receiver) -> None:
    rng = random.Random(7)
    answers: list[tuple[str, int]] = []

    def answer(rec: Received) -> int:
        status = 503 if rng.random() < 0.3 else 200
        answers.append((rec.headers.get("Hookseal-Webhook-Id", ""), status))
        return status

    # Answers take 10 ms: at most 2,500 a second through 25 connections, so each worker
    # is killed mid-queue. At full speed the first three drained it while the test waited
    # for a lease to kill in, and the fourth had not 150 requests left to make.
    url = receiver.route("/crash", fn=answer, delay=0.01)
    db, key = db_url, generate_master_key()
    sender = Sender(SenderConfig(database=db, master_key=key, allow_local=True))
    ep = sender.create_endpoint("t1", url, allow_local=True, retry_schedule=[0.05] * 15)
    event_ids = set()
    with sender.store.transaction() as conn:  # enqueue fast, in one transaction
        from hookseal_sender.catalog import no_validation
        from hookseal_sender.outbox import enqueue

        for i in range(N):
            r = enqueue(sender.store, "t1", "crash.test", {"i": i}, validator=no_validation,
                        conn=conn)
            event_ids.add(r.event_id)
    assert len(event_ids) == N

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-c", WORKER, db, key],
                                stderr=subprocess.DEVNULL)

    # After each kill: the deliveries answered 200 whose success the dead worker never
    # recorded. Only these may be delivered again, once for each kill that caught them.
    unrecorded: list[set[str]] = []
    held_at_kill: list[int] = []
    for _ in range(4):
        proc = start()
        try:
            target = len(receiver.requests("/crash")) + 150
            # Kill while it is delivering: after it made some progress.
            wait_for(lambda t=target: len(receiver.requests("/crash")) > t, 20, 0.005)
            time.sleep(rng.uniform(0.0, 0.2))
            # And while it holds leases: between a write-back and its next claim (or while
            # a burst of 503s holds its breaker open) it holds none, and a kill then tests
            # nothing (seen: all four kills at such moments, in 1 run of 11 alone).
            wait_for(lambda: leased(sender) > 0, 20, 0.001)
        finally:  # a failed wait leaves no worker behind
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        # The receiver may still be answering what the dead worker sent: wait until each
        # of its connections is closed and its last request handled.
        wait_for(lambda: receiver.open_connections() == 0, 10, 0.01)
        answered = {d for d, status in list(answers) if status == 200}
        unrecorded.append(answered - delivered_events(sender))
        held_at_kill.append(leased(sender))
    final = start()
    try:
        wait_for(lambda: len(delivered_events(sender)) == N, 45, 0.1)
    finally:
        final.terminate()
        final.wait(15)
    # Every delivery reached the receiver with a 200, and every request verifies.
    ok = Counter(d for d, status in answers if status == 200)
    assert set(ok) == event_ids
    wh = hookseal.Webhook(ep.secret)
    for rec in receiver.requests("/crash"):
        event = wh.construct_event(rec.body, rec.headers, now=int(rec.at))
        assert event["type"] == "crash.test"
    # Duplicates only of attempts in flight at a kill: a delivery answered 200 twice was
    # answered before some kill and not yet recorded then. A worker that sent a delivery it
    # still held (say, its lease ran out and it claimed the row again) fails here.
    for d, n in ok.items():
        caught = sum(d in lost for lost in unrecorded)
        assert n - 1 <= caught, (d, n, caught)
    # And the kills caught the worker holding deliveries: otherwise the test did not test the
    # crash path. (Answered-but-unrecorded deliveries are too timing-dependent to require: a
    # fast PostgreSQL write-back can leave none at all four kills.)
    assert any(held_at_kill), held_at_kill
    statuses = json.dumps(Counter(d.status for d in sender.list_deliveries("t1", limit=5)))
    assert "delivered" in statuses
    sender.close()
