"""Tests of sunsets.py with an injected clock: notices 30 and 7 days before a pinned
version's sunset, once each across restarts and concurrent jobs; after it, the pin moves
to the oldest version still served and the audit log says so. Both backends."""

from __future__ import annotations

import datetime as dt
import threading

from hookseal_sender import Sender
from hookseal_sender.notify import Notice
from hookseal_sender.sunsets import MOVED_ACTION, SunsetJob

URL = "http://127.0.0.1:9/hook"


def _at(day: str) -> float:
    return dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc).timestamp() + 3600


class _Notices:
    def __init__(self) -> None:
        self.got: list[Notice] = []
        self._lock = threading.Lock()

    def notify(self, notice: Notice) -> None:
        with self._lock:
            self.got.append(notice)


class _Clock:
    def __init__(self, day: str) -> None:
        self.now = _at(day)

    def __call__(self) -> float:
        return self.now


def test_notices_before_the_sunset_once_each_then_the_move(sender: Sender) -> None:
    # payment.failed v1 is deprecated with its sunset on 2027-05-31 in the sample catalog.
    pinned = sender.create_endpoint("t1", URL, allow_local=True, notify_email="ops@acme.test",
                                    versions={"payment.failed": 1, "invoice.paid": 1}).endpoint
    current = sender.create_endpoint("t1", URL, allow_local=True,
                                      versions={"payment.failed": 2}).endpoint
    sender.create_endpoint("t1", URL, allow_local=True)
    notices, clock = _Notices(), _Clock("2027-04-15")

    def job() -> SunsetJob:  # a new one each time: as a restarted worker would
        return SunsetJob(sender.store, sender.catalog, notices, clock=clock)

    assert job().run().notices == []  # 46 days before: nothing yet
    clock.now = _at("2027-05-01")  # 30 days before
    assert job().run().notices == [(pinned.id, "payment.failed", 1, 30)]
    clock.now = _at("2027-05-10")
    assert job().run().notices == []  # told already, restarts or not
    clock.now = _at("2027-05-24")  # 7 days before
    assert job().run().notices == [(pinned.id, "payment.failed", 1, 7)]
    assert job().run().notices == []
    assert [(n.kind, n.endpoint_id, n.recipient) for n in notices.got] == [
        ("version_sunset", pinned.id, "ops@acme.test")] * 2
    assert "payment.failed v1" in notices.got[0].message
    assert "2027-05-31" in notices.got[0].message

    clock.now = _at("2027-05-31")  # the sunset day is still served
    assert job().run().moved == []
    clock.now = _at("2027-06-01")
    report = job().run()
    assert report.moved == [(pinned.id, "payment.failed", 1, 2)]
    assert sender.get_endpoint("t1", pinned.id).versions == {"payment.failed": 2,
                                                             "invoice.paid": 1}
    assert sender.get_endpoint("t1", current.id).versions == {"payment.failed": 2}
    [entry] = [e for e in sender.store.list_audit("t1") if e.action == MOVED_ACTION]
    assert entry.target == {"endpoint_id": pinned.id, "from": {"payment.failed": 1},
                            "to": {"payment.failed": 2}}
    assert entry.at == clock.now
    assert job().run().moved == []  # moved once
    assert len(notices.got) == 2


def test_a_notice_is_sent_and_a_pin_moved_once_by_concurrent_jobs(sender: Sender) -> None:
    for _ in range(3):
        sender.create_endpoint("t1", URL, allow_local=True, versions={"payment.failed": 1})
    notices, clock = _Notices(), _Clock("2027-05-25")
    jobs = [SunsetJob(sender.store, sender.catalog, notices, clock=clock) for _ in range(4)]
    barrier = threading.Barrier(len(jobs))
    reports = []

    def run(job: SunsetJob) -> None:
        barrier.wait()
        reports.append(job.run())

    def race() -> None:
        threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)

    race()
    assert len(notices.got) == 3
    assert sum(len(r.notices) for r in reports) == 3
    clock.now = _at("2027-06-02")
    reports.clear()
    race()
    assert sum(len(r.moved) for r in reports) == 3
    moves = [e for e in sender.store.list_audit("t1") if e.action == MOVED_ACTION]
    assert len(moves) == 3
