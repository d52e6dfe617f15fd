"""The database restarted under a running sender: workers, the admin API and the portal
reconnect by themselves, log one line per outage, and lose nothing (issue 19 item 2)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from hookseal_sender import BackgroundWorker, Sender, SenderConfig
from hookseal_sender._outage import StoreOutage
from hookseal_sender.api import create_app
from hookseal_sender.catalog import _catalog
from hookseal_sender.config import RetryPolicy
from hookseal_sender.portal import create_portal
from starlette.routing import Mount
from starlette.testclient import TestClient

from ._pg import PostgresServer
from ._receiver import Receiver
from .conftest import fake_resolve, wait_for
from .portal_testing import login

pytestmark = pytest.mark.postgres

KEY = "sk_test_outage"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    """A server of this test's own: it is stopped mid-test, under nobody else's feet."""
    reason = PostgresServer.missing()
    if reason:
        pytest.skip(f"PostgreSQL tests need a local server: {reason}")
    server = PostgresServer().start()
    yield server
    server.stop()


def test_a_database_restart_under_a_running_sender(
        own_server: PostgresServer, master_key: str, receiver: Receiver,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hookseal_sender")
    config = SenderConfig(
        database=own_server.create_db("outage"), master_key=master_key, allow_local=True,
        poll_interval=0.02, visibility_timeout=30.0,
        retry=RetryPolicy(schedule=(0.2,) * 10, jitter=0.0, retry_after_cap=1.0))
    sender = Sender(config, resolve=fake_resolve)
    sender.store.migrate()
    ep = sender.create_endpoint("t1", receiver.route("/hook", delay=0.05), allow_local=True)
    client = TestClient(create_app(sender, {KEY: "ci"},
                                   mounts=[Mount("/portal", app=create_portal(sender))]),
                        follow_redirects=False)
    login(client, sender, "t1")
    worker = BackgroundWorker(sender).start()
    data = _catalog().example("invoice.paid")
    try:
        before = {sender.send("t1", "invoice.paid", data).event_id for _ in range(60)}
        wait_for(lambda: len(receiver.requests("/hook")) >= 10)

        own_server.halt()  # deliveries are in flight, others still queued
        wait_for(lambda: sender.outage.down, 20)
        api = client.get("/v1/tenants/t1/endpoints", headers=AUTH)
        assert api.status_code == 503 and api.json()["error"] == "store_unavailable"
        page = client.get("/portal/")
        assert page.status_code == 503 and "Temporarily unavailable" in page.text
        scrape = client.get("/metrics", headers=AUTH)
        assert scrape.status_code == 200 and "hookseal_queue_depth NaN" in scrape.text
        time.sleep(3)  # an outage of a few seconds: several claim retries fail meanwhile

        own_server.resume()
        restarted = time.monotonic()
        after = {sender.send("t1", "invoice.paid", data).event_id for _ in range(20)}
        received = lambda: {r.headers["Hookseal-Webhook-Id"]  # noqa: E731
                            for r in receiver.requests("/hook")}
        wait_for(lambda: before | after <= received(), 30)
        assert time.monotonic() - restarted < 30
        wait_for(lambda: not sender.outage.down, 10)
        listed = client.get("/v1/tenants/t1/endpoints", headers=AUTH)
        assert listed.status_code == 200 and listed.json()["endpoints"][0]["id"] == ep.endpoint.id
        assert client.get("/portal/").status_code == 200
    finally:
        worker.stop()
        sender.close()
    ours = [r for r in caplog.records if r.name.startswith("hookseal_sender")]
    down = [r for r in ours if "database unreachable" in r.getMessage()]
    back = [r for r in ours if "database reachable again" in r.getMessage()]
    said = [f"{r.relativeCreated:.0f} ms {r.threadName}: {r.getMessage()}"
            for r in ours if "reachable" in r.getMessage()]
    assert len(down) == 1 and len(back) == 1, said
    assert not [r for r in ours if r.exc_info], "no traceback for an outage"
    assert all(r.levelno < logging.ERROR for r in ours), [r.getMessage() for r in ours]


def test_the_outage_tracker_logs_once_each_way(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hookseal_sender.store")
    outage = StoreOutage()
    outage.recovered(time.monotonic())  # no outage: nothing to say
    for where in ("claim", "admin API", "claim"):
        outage.failed(where, OSError("connection refused\nsecond line"))
    assert outage.down
    outage.recovered(time.monotonic())
    outage.recovered(time.monotonic())
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and not outage.down
    assert "claim: OSError: connection refused" in lines[0] and "second line" not in lines[0]
    assert lines[1].startswith("database reachable again after")


def test_a_call_begun_before_the_outage_does_not_end_it(
        caplog: pytest.LogCaptureFixture) -> None:
    # A server shutting down ends its sessions one by one: a call already running on a
    # session not yet ended succeeds after another call failed. That is not a recovery.
    caplog.set_level(logging.INFO, logger="hookseal_sender.store")
    outage = StoreOutage()
    before = time.monotonic()
    wait_for(lambda: time.monotonic() > before)  # a clock that has moved on
    outage.failed("claim", OSError("terminating connection"))
    outage.recovered(before)
    assert outage.down
    outage.failed("write-back", OSError("the database system is shutting down"))
    outage.recovered(time.monotonic())
    lines = [r.getMessage() for r in caplog.records]
    assert not outage.down and len(lines) == 2, lines
    assert "unreachable" in lines[0] and "reachable again" in lines[1]
