"""The store's operator reads and admin jobs, on both backends."""

from __future__ import annotations

import time
from typing import Any

from hookseal_sender import DeliveryFilter, Sender
from hookseal_sender.catalog import _catalog
from hookseal_sender.records import AdminJob


def example() -> dict[str, Any]:
    return _catalog().example("invoice.paid")  # type: ignore[no-any-return]


def test_search_reads_one_tenant_or_all_and_filters_by_event_id(sender: Sender) -> None:
    ids = {}
    for tenant in ("alice", "bob"):
        sender.create_endpoint(tenant, "https://hooks.example.com/" + tenant)
        ids[tenant] = sender.send(tenant, "invoice.paid", example())
    store = sender.store
    every = store.search_deliveries(None, DeliveryFilter())
    assert {d.tenant_id for d in every.deliveries} == {"alice", "bob"}
    only = store.search_deliveries("bob", DeliveryFilter())
    assert [d.tenant_id for d in only.deliveries] == ["bob"]
    by_event = store.search_deliveries(None, DeliveryFilter(event_id=ids["alice"].event_id))
    assert [d.id for d in by_event.deliveries] == [ids["alice"].deliveries[0][0]]
    rows = store.select_for_replay(None, DeliveryFilter(status=["pending"]), 10)
    assert sorted(t for _, t in rows) == ["alice", "bob"]
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)  # oldest first
    assert store.select_for_replay("alice", DeliveryFilter(), 10) == \
        [(ids["alice"].deliveries[0][0], "alice")]
    # Time windows: the rows created in it, every tenant's, and none outside it.
    now = time.time()
    window = store.select_for_replay(None, DeliveryFilter(since=now - 60, until=now + 1), 10)
    assert len(window) == 2
    assert store.select_for_replay(None, DeliveryFilter(since=now + 1), 10) == []
    assert store.select_for_replay(None, DeliveryFilter(until=now - 60), 10) == []


def test_jobs_record_progress_and_stop_requests(sender: Sender) -> None:
    store, now = sender.store, time.time()
    job = AdminJob("job_1", "bulk_replay", "admin:ann", "outage", {"kind": "x"}, 10, 0, 0,
                   "running", created_at=now, updated_at=now)
    store.insert_job(job)
    assert store.get_job("job_1") == job
    store.update_job("job_1", done=5, replayed=4, status="running", now=now + 1)
    assert store.request_job_stop("job_1", now + 2)
    got = store.get_job("job_1")
    assert got is not None and (got.done, got.replayed, got.stop_requested) == (5, 4, True)
    store.update_job("job_1", done=5, replayed=4, status="stopped", now=now + 3)
    assert not store.request_job_stop("job_1", now + 4)  # only a running job is asked
    assert [j.id for j in store.list_jobs()] == ["job_1"] and store.get_job("nope") is None


def test_stale_running_jobs_are_marked_abandoned(sender: Sender) -> None:
    store, now = sender.store, time.time()
    for jid, status, updated in (("job_old", "running", now - 600), ("job_new", "running", now),
                                 ("job_done", "finished", now - 600)):
        store.insert_job(AdminJob(jid, "bulk_replay", "admin:ann", "r", {}, 10, 3, 3, status,
                                  created_at=updated, updated_at=updated))
    assert store.abandon_stale_jobs(now - 300, now, "its process ended") == ["job_old"]
    old = store.get_job("job_old")
    assert old is not None and (old.status, old.error, old.done) == (
        "abandoned", "its process ended", 3)
    statuses = {j.id: j.status for j in store.list_jobs()}
    assert statuses == {"job_old": "abandoned", "job_new": "running", "job_done": "finished"}
    assert store.abandon_stale_jobs(now - 300, now, "again") == []
