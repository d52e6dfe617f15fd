"""The admin console on both stores (SQLite and PostgreSQL), with a real worker: every
tenant's failures found, bulk-replayed as a job and delivered."""

from __future__ import annotations

from typing import Any

from hookseal_sender import Sender
from hookseal_sender.admin import JobRunner
from hookseal_sender.catalog import _catalog

from ._receiver import Receiver
from .admin_testing import make_admin_client, sign_in
from .conftest import wait_for


def test_failures_of_a_tenant_are_found_and_bulk_replayed(sender: Sender, receiver: Receiver,
                                                          worker: Any) -> None:
    sender.config = sender.config.replace(replay_rate=500.0)
    url = receiver.route("/acme", statuses=[400, 400, 400, 200])
    sender.create_endpoint("acme", url, allow_local=True)
    sender.create_endpoint("globex", receiver.route("/globex"), allow_local=True)
    worker()
    data = _catalog().example("invoice.paid")
    failed = [sender.send("acme", "invoice.paid", data).deliveries[0][0] for _ in range(3)]
    ok = sender.send("globex", "invoice.paid", data).deliveries[0][0]
    wait_for(lambda: {sender.get_delivery("acme", d).status for d in failed} == {"failed"})
    wait_for(lambda: sender.get_delivery("globex", ok).status == "delivered")
    runner = JobRunner(sender, batch=2)
    client = make_admin_client(sender, runner=runner)
    csrf = sign_in(client)
    page = client.get("/admin/?status=failed").text
    assert all(d in page for d in failed) and ok not in page
    assert ok in client.get("/admin/?tenant=globex").text
    sel = {"csrf": csrf, "kind": "tenant_failed", "tenant": "acme", "reason": "outage",
           "since": "2000-01-01T00:00", "until": "2999-01-01T00:00"}
    assert 'data-count="3"' in client.post("/admin/bulk", data={**sel, "step": "preview"}).text
    r = client.post("/admin/bulk", data={**sel, "step": "start", "count": "3",
                                         "typed_count": "3"})
    job_id = r.headers["location"].rsplit("/", 1)[1]
    runner.threads[job_id].join(30)
    job = sender.store.get_job(job_id)
    assert job is not None and (job.status, job.replayed) == ("finished", 3)
    wait_for(lambda: {sender.get_delivery("acme", d).status for d in failed} == {"delivered"})
    assert len(receiver.requests("/acme")) == 6
