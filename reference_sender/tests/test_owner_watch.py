"""The periodic owner checks: endpoints down for a day, failing tenants, endpoints with no
success for 90 days; told once per episode across watches (processes) and restarts."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hookseal_sender import BackgroundWorker, Notice, Sender, SenderConfig
from hookseal_sender.catalog import _catalog
from hookseal_sender.models import Attempt, AttemptResult
from hookseal_sender.owner_notices import OwnerNoticePolicy
from hookseal_sender.owner_watch import OwnerWatch

from .conftest import reopen, wait_for
from .test_owner_notices import Recorder

DAY = 86400.0
HOUR = 3600.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def watch(sender: Sender, clock: Clock, rec: Recorder, **policy: Any) -> OwnerWatch:
    return OwnerWatch(sender.store, rec, OwnerNoticePolicy(**policy), clock=clock)


def endpoint(sender: Sender, tenant: str = "acme", email: str = "ops@acme.example") -> str:
    return sender.create_endpoint(tenant, "http://127.0.0.1:9/hook", allow_local=True,
                                  notify_email=email).endpoint.id


def attempts(sender: Sender, tenant: str, outcomes: list[str], at: float) -> None:
    """Record one finished attempt per outcome for the tenant's endpoints, made at ``at``."""
    for _ in outcomes:
        sender.send(tenant, "invoice.paid", _catalog().example("invoice.paid"))
    claimed = sender.store.claim("test", 1000, time.time() + 1, time.time() + 60)
    mine = [c for c in claimed if c.tenant_id == tenant]
    other = [c for c in claimed if c.tenant_id != tenant]
    sender.store.release("test", [c.id for c in other], time.time())
    results = []
    for c, outcome in zip(mine, outcomes * len(sender.list_endpoints(tenant))):
        code = 200 if outcome == "delivered" else 500 if outcome == "retry" else 400
        results.append(AttemptResult(c.id, c.endpoint_id,
                                     Attempt(1, at, code, None, 5.0, outcome=outcome),
                                     "delivered" if outcome == "delivered" else "failed", None, 1))
    sender.store.complete("test", results, time.time())


def kinds(rec: Recorder) -> list[tuple[str, str, str]]:
    return [(n.kind, n.tenant_id, str(n.recipient)) for n in rec.notices]


def test_endpoint_down_for_a_day_is_told_once_per_failing_streak(
        sender: Sender, config: SenderConfig) -> None:
    ep = endpoint(sender)
    endpoint(sender, tenant="other", email="them@other.example")
    t0 = 1_800_000_000.0
    sender.store.endpoint_health([], [ep], t0)
    rec = Recorder()
    clock = Clock(t0 + 23 * HOUR)
    w = watch(sender, clock, rec)
    assert w.run().endpoints_down == [] and not rec.notices
    clock.now = t0 + 25 * HOUR
    assert w.run().endpoints_down == [ep]
    (n,) = rec.notices
    assert (n.kind, n.tenant_id, n.endpoint_id, n.recipient) == \
        ("endpoint_down", "acme", ep, "ops@acme.example")
    assert "failing since 2027-01-15 08:00 UTC (25 hours)" in n.message
    # Every minute after, in this process, another one, and after a restart: not again.
    clock.now += 60
    assert w.run().endpoints_down == []
    store2 = reopen(config)
    try:
        other = OwnerWatch(store2, rec, OwnerNoticePolicy(), clock=clock)
        assert other.run().endpoints_down == [] and len(rec.notices) == 1
    finally:
        store2.close()
    (entry,) = [e for e in sender.store.list_audit("acme") if e.action == "owner_notice"]
    assert entry.target["kind"] == "endpoint_down" and entry.target["message"] == n.message
    # It recovers (the episode ends), then fails again: a new streak is told again.
    sender.store.endpoint_health([ep], [], t0 + 26 * HOUR)
    assert w.run().closed == [f"endpoint_down:{ep}"]
    sender.store.endpoint_health([], [ep], t0 + 30 * HOUR)
    clock.now = t0 + 55 * HOUR
    assert w.run().endpoints_down == [ep] and len(rec.notices) == 2


def test_failing_tenant_is_told_once_per_episode(sender: Sender, config: SenderConfig) -> None:
    endpoint(sender, email="ops@acme.example")
    endpoint(sender, email="cto@acme.example")
    endpoint(sender, tenant="good", email="ok@good.example")
    endpoint(sender, tenant="small", email="s@small.example")
    now = time.time()
    attempts(sender, "acme", ["retry"] * 30, now - 2 * HOUR)  # before the window
    attempts(sender, "acme", ["retry"] * 8 + ["delivered"] * 4, now - 600)  # 24 of 2 eps
    attempts(sender, "good", ["delivered"] * 25 + ["retry"] * 5, now - 600)
    attempts(sender, "small", ["retry"] * 5, now - 600)  # too few to count
    rec = Recorder()
    clock = Clock(now)
    w = watch(sender, clock, rec)
    assert w.run().tenants_failing == ["acme"]
    assert sorted(kinds(rec)) == [("tenant_failing", "acme", "cto@acme.example"),
                                  ("tenant_failing", "acme", "ops@acme.example")]
    assert rec.notices[0].message.startswith("67% of webhook deliveries to your endpoints "
                                             "failed in the last hour (16 of 24 attempts)")
    clock.now += 60
    assert w.run().tenants_failing == []
    store2 = reopen(config)
    try:
        assert OwnerWatch(store2, rec, OwnerNoticePolicy(),
                          clock=clock).run().tenants_failing == []
    finally:
        store2.close()
    assert len(rec.notices) == 2
    # An hour without attempts ends the episode; failing again is a new one.
    clock.now = now + 2 * HOUR
    assert w.run().closed == ["tenant_failing:acme"]
    attempts(sender, "acme", ["retry"] * 10, clock.now - 60)
    assert w.run().tenants_failing == ["acme"] and len(rec.notices) == 4


def test_tenant_episode_ends_only_at_half_the_threshold(sender: Sender) -> None:
    endpoint(sender)
    now = time.time()
    attempts(sender, "acme", ["retry"] * 15 + ["delivered"] * 5, now - 300)
    rec = Recorder()
    clock = Clock(now)
    w = watch(sender, clock, rec)
    assert w.run().tenants_failing == ["acme"]
    attempts(sender, "acme", ["delivered"] * 10, now - 200)  # 15 of 30: 50 %, not above
    assert w.run().closed == [] and len(rec.notices) == 1
    attempts(sender, "acme", ["delivered"] * 30, now - 100)  # 15 of 60: 25 %
    assert w.run().closed == ["tenant_failing:acme"]


def test_an_endpoint_with_no_success_for_90_days_is_paused_and_its_owner_told(
        sender: Sender, config: SenderConfig) -> None:
    dead = endpoint(sender, tenant="acme")
    alive = endpoint(sender, tenant="good", email="ok@good.example")
    idle = endpoint(sender, tenant="idle", email="idle@idle.example")
    now = time.time()
    attempts(sender, "acme", ["failed"] * 3, now - 60)
    attempts(sender, "good", ["failed", "delivered"], now - 60)
    rec = Recorder()
    clock = Clock(now)
    w = watch(sender, clock, rec)
    assert w.run().paused == []  # activity recorded; nothing is 90 days old yet
    sender.send("idle", "invoice.paid", _catalog().example("invoice.paid"))  # never attempted
    clock.now = now + 50 * DAY
    attempts(sender, "good", ["delivered"], clock.now - 60)  # delivered 50 days on
    assert w.run().paused == []
    clock.now = now + 89 * DAY
    assert w.run().paused == []
    clock.now = now + 91 * DAY
    assert w.run().paused == [dead]
    assert sender.get_endpoint("acme", dead).status == "paused"
    assert "no successful delivery for 90 days" in str(sender.get_endpoint("acme", dead)
                                                        .status_reason)
    assert sender.get_endpoint("good", alive).status == "active"
    assert sender.get_endpoint("idle", idle).status == "active"
    (n,) = rec.notices
    assert (n.kind, n.endpoint_id, n.recipient) == ("endpoint_stale", dead, "ops@acme.example")
    assert "no successful delivery for 90 days, so we paused it" in n.message
    actions = sorted(e.action for e in sender.store.list_audit("acme"))
    assert actions == ["owner_notice", "pause"]
    # Not again: by this watch, another process, or after the owner resumes it.
    clock.now += DAY
    sender.resume_endpoint("acme", dead)
    assert w.run().paused == []
    store2 = reopen(config)
    try:
        assert OwnerWatch(store2, rec, OwnerNoticePolicy(), clock=clock).run().paused == []
    finally:
        store2.close()
    assert sender.get_endpoint("acme", dead).status == "active" and len(rec.notices) == 1


def test_stale_check_is_configurable(sender: Sender) -> None:
    dead = endpoint(sender)
    now = time.time()
    attempts(sender, "acme", ["failed"], now - 60)
    rec = Recorder()
    clock = Clock(now)
    off = watch(sender, clock, rec, stale_after_days=0)
    off.run()
    clock.now = now + 400 * DAY
    assert off.run().paused == []
    clock.now = now + 31 * DAY
    assert watch(sender, clock, rec, stale_after_days=30).run().paused == [dead]


def test_endpoint_activity_outlives_the_retention_purge(sender: Sender) -> None:
    ep = endpoint(sender)
    now = time.time()
    attempts(sender, "acme", ["delivered"], now - 60)
    rec = Recorder()
    clock = Clock(now)
    w = watch(sender, clock, rec)
    w.run()
    sender.purge(older_than_days=-1)  # the delivered one is gone from the log
    assert not sender.list_deliveries("acme")
    attempts(sender, "acme", ["failed"], now - 30)  # failed later, within the window
    clock.now = now + 60
    w.run()
    clock.now = now + 60 * DAY
    assert w.run().paused == []  # delivered 60 days ago: not stale
    clock.now = now + 91 * DAY
    assert w.run().paused == [ep]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_worker_runs_the_checks(sender: Sender, receiver: Any) -> None:
    rec = Recorder()
    sender.notifier = rec
    sender.owner_notices = OwnerNoticePolicy(endpoint_down_after=0.0, check_interval=0.2)
    url = receiver.route("/down", statuses=[500])
    sender.create_endpoint("acme", url, allow_local=True, notify_email="ops@acme.example")
    sender.send("acme", "invoice.paid", _catalog().example("invoice.paid"))
    w = BackgroundWorker(sender).start()
    try:
        wait_for(lambda: any(n.kind == "endpoint_down" for n in rec.notices), timeout=20)
    finally:
        w.stop()
    notices: list[Notice] = [n for n in rec.notices if n.kind == "endpoint_down"]
    assert len(notices) == 1 and notices[0].recipient == "ops@acme.example"


def test_attempt_id_before_finds_the_window_in_the_primary_key(sender: Sender) -> None:
    endpoint(sender)
    store = sender.store
    assert store.attempt_id_before(0.0) == 0  # no attempts yet
    t = 1_800_000_000.0
    for i in range(40):
        attempts(sender, "acme", ["delivered"], t + 60 * i)
    conn = store.conn()  # type: ignore[attr-defined]
    ids = [r[0] for r in conn.execute("SELECT id FROM attempts ORDER BY id").fetchall()]
    for k in (0, 1, 17, 39):
        assert store.attempt_id_before(t + 60 * k) == ids[k] - 1
    assert store.attempt_id_before(t + 60 * 40) == ids[-1]  # none that recent
    sender.purge(older_than_days=-1)  # the first 40 go: gaps in the ids do not matter
    for i in range(40, 50):
        attempts(sender, "acme", ["delivered"], t + 60 * i)
    ids += [r[0] for r in conn.execute("SELECT id FROM attempts ORDER BY id").fetchall()]
    assert store.attempt_id_before(t) == ids[40] - 1
    bound = store.attempt_id_before(t + 60 * 45)
    assert bound == ids[45] - 1
    assert sum(r.attempts for r in store.recent_attempts_by_endpoint(bound, 0.0)) == 5
