"""The admin console over HTTP: sign-in, the cross-tenant log, actions, bulk replays, the
corrected replay, and its security (portal links and sessions refused, CSRF, CSP, no
secret on any page)."""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hookseal_sender import DeliveryFilter, Sender
from hookseal_sender.admin import ADMIN_COOKIE, OPERATOR_LOG, AdminTokens, JobRunner, admin_key
from hookseal_sender.catalog import _catalog
from hookseal_sender.portal import COOKIE, portal_link
from starlette.testclient import TestClient

from .admin_testing import ADMIN_KEY, make_admin_client, sign_in, sign_in_with_link
from .conftest import wait_for
from .portal_testing import login as portal_login
from .portal_testing import make_sender
from .test_owner_notices import Recorder


def example() -> dict[str, Any]:
    return _catalog().example("invoice.paid")  # type: ignore[no-any-return]


@pytest.fixture
def sender(tmp_path: Path) -> Iterator[Sender]:
    s = make_sender(tmp_path, replay_rate=1000.0)
    yield s
    s.close()


@pytest.fixture
def client(sender: Sender) -> TestClient:
    return make_admin_client(sender)


def failed(sender: Sender, tenant: str, n: int = 1, event_type: str = "invoice.paid",
           ) -> tuple[str, list[str]]:
    """An endpoint of ``tenant`` (unreachable: no worker runs here) and ``n`` pending
    deliveries to it; :func:`mark` finishes them in the state a test needs."""
    ep = sender.create_endpoint(tenant, f"https://hooks.example.com/{tenant}").endpoint
    dids = [sender.send(tenant, event_type, example()).deliveries[0][0] for _ in range(n)]
    return ep.id, dids


def mark(sender: Sender, dids: list[str], status: str) -> None:
    """Finish deliveries in a given state, as a worker would have left them (the SQLite
    sender of these tests: out of the queue, then the log row's status)."""
    for did in dids:
        d = sender.store.get_delivery(None, did, detail=False)
        assert d is not None
        sender.store.cancel(d.tenant_id, DeliveryFilter(), [did])
        with sender.store.transaction() as conn:
            conn.execute("UPDATE deliveries SET status = ? WHERE id = ?", [status, did])


# sign-in -------------------------------------------------------------------------------
def test_sign_in_with_a_key_or_a_link_sets_a_strict_session_cookie(
        client: TestClient, sender: Sender) -> None:
    assert client.get("/admin/").status_code == 303  # to the sign-in page
    r = client.post("/admin/login", data={"key": "hsk_wrong"})
    assert r.status_code == 401 and ADMIN_COOKIE not in r.headers.get("set-cookie", "")
    r = client.post("/admin/login", data={"key": ADMIN_KEY})
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/admin/" in cookie
    assert "secure" not in cookie  # plain http here; https makes it Secure (next test)
    assert "Signed in as <code>ann</code>" in client.get("/admin/").text
    other = make_admin_client(sender)
    sign_in_with_link(other, sender, "bob")
    log = sender.store.list_audit(OPERATOR_LOG)
    assert [(e.actor, e.target["via"]) for e in log if e.action == "admin_session"] == \
        [("admin:bob", "link"), ("admin:ann", "api_key")]


def test_the_cookie_is_secure_on_https(sender: Sender) -> None:
    client = make_admin_client(sender)
    client.base_url = "https://testserver"  # type: ignore[assignment]
    r = client.post("https://testserver/admin/login", data={"key": ADMIN_KEY})
    assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()


def test_expired_and_altered_links_are_refused(client: TestClient, sender: Sender) -> None:
    tokens = AdminTokens(admin_key(sender.config), clock=lambda: time.time() - 7200)
    old, _ = tokens.link("eve", ttl=900)
    assert client.get(f"/admin/login?token={old}").status_code == 401
    good, _ = AdminTokens(admin_key(sender.config)).link("eve")
    body, _, mac = good.partition(".")
    assert client.get(f"/admin/login?token={body}.{mac[::-1]}").status_code == 401
    assert client.get(f"/admin/login?token={good}").status_code == 303


# the log and a delivery -------------------------------------------------------------
def test_deliveries_of_every_tenant_filtered_and_one_delivery_in_full(
        client: TestClient, sender: Sender) -> None:
    a_ep, a_ids = failed(sender, "alice", 2)
    b_ep, b_ids = failed(sender, "bob", 1)
    sender.ping("bob", b_ep)
    sign_in(client)
    page = client.get("/admin/").text
    assert all(d in page for d in a_ids + b_ids) and "alice" in page and "bob" in page
    page = client.get("/admin/?tenant=bob&event_type=invoice.paid").text
    assert b_ids[0] in page and not any(d in page for d in a_ids)
    assert "test.ping" not in page
    page = client.get(f"/admin/?endpoint={a_ep}&status=pending&range=24h").text
    assert all(d in page for d in a_ids) and b_ids[0] not in page
    event_id = sender.store.get_delivery(None, a_ids[1], detail=False).event_id  # type: ignore[union-attr]
    page = client.get(f"/admin/?event_id={event_id}").text
    assert a_ids[1] in page and a_ids[0] not in page
    future = "2999-01-01T00:00"
    assert "No delivery matches" in client.get(f"/admin/?since={future}").text
    assert client.get("/admin/?status=bogus").status_code == 400
    r = client.get(f"/admin/deliveries/{a_ids[0]}")
    assert r.status_code == 200
    for fact in ("alice", sender.get_delivery("alice", a_ids[0]).event_id, a_ep,
                 "Attempts", "Event body", "customer_name"):
        assert fact in r.text
    assert client.get("/admin/deliveries/dlv_nope").status_code == 404


def test_actions_need_a_reason_and_are_audited_with_who_and_why(
        client: TestClient, sender: Sender) -> None:
    ep, dids = failed(sender, "alice", 3)
    csrf = sign_in(client)
    r = client.post(f"/admin/deliveries/{dids[0]}/cancel", data={"csrf": csrf})
    assert r.status_code == 400 and "reason" in r.text
    assert sender.get_delivery("alice", dids[0]).status == "pending"
    r = client.post(f"/admin/deliveries/{dids[0]}/cancel",
                    data={"csrf": csrf, "reason": "customer asked"})
    assert r.status_code == 303
    assert sender.get_delivery("alice", dids[0]).status == "cancelled"
    # Force replay, also of a delivered delivery (recovery).
    mark(sender, [dids[1]], "delivered")
    r = client.post(f"/admin/deliveries/{dids[1]}/replay",
                    data={"csrf": csrf, "reason": "receiver lost it"})
    assert r.status_code == 303 and sender.get_delivery("alice", dids[1]).status == "pending"
    r = client.post(f"/admin/endpoints/{ep}/pause", data={"csrf": csrf, "reason": "incident"})
    assert r.status_code == 303 and sender.get_endpoint("alice", ep).status == "paused"
    r = client.post(f"/admin/endpoints/{ep}/cancel", data={"csrf": csrf, "reason": "incident"})
    assert r.status_code == 303
    assert {sender.get_delivery("alice", d).status for d in dids} == {"cancelled"}
    entries = [(e.action, e.actor, e.reason) for e in sender.store.list_audit("alice")]
    assert entries == [("cancel", "admin:ann", "incident"),
                       ("pause_endpoint", "admin:ann", "incident"),
                       ("replay", "admin:ann", "receiver lost it"),
                       ("cancel", "admin:ann", "customer asked")]
    page = client.get(f"/admin/deliveries/{dids[1]}").text
    assert "receiver lost it" in page  # the delivery's own audit trail


# bulk replay ------------------------------------------------------------------------
def _bulk(client: TestClient, csrf: str, **fields: str) -> Any:
    return client.post("/admin/bulk", data={"csrf": csrf, **fields})


def test_bulk_replay_counts_samples_confirms_twice_and_runs_as_a_job(
        client: TestClient, sender: Sender) -> None:
    notices = Recorder()
    sender.notifier = notices
    _, dids = failed(sender, "alice", 7)
    _, other = failed(sender, "bob", 2)
    mark(sender, dids[:6], "failed")
    mark(sender, other, "failed")
    csrf = sign_in(client)
    window = {"kind": "tenant_failed", "tenant": "alice", "since": "2000-01-01T00:00",
              "until": "2999-01-01T00:00"}
    r = _bulk(client, csrf, step="preview", **window)
    assert r.status_code == 400 and "reason" in r.text  # a reason is required
    window["reason"] = "outage of 7 Dec"
    r = _bulk(client, csrf, step="preview", **window)
    assert r.status_code == 200
    assert 'data-count="6"' in r.text and all(d in r.text for d in dids[:6])
    assert other[0] not in r.text and "first confirmation" in r.text
    # Skipping the checkbox stays on the preview; a wrong typed count starts nothing.
    assert "first confirmation" in _bulk(client, csrf, step="confirm", count="6",
                                         **window).text
    r = _bulk(client, csrf, step="confirm", count="6", checked="yes", **window)
    assert r.status_code == 200 and "second confirmation" in r.text
    r = _bulk(client, csrf, step="start", count="6", typed_count="5", **window)
    assert r.status_code == 400 and sender.store.list_jobs() == []
    # The count changed since the preview: refused, nothing starts.
    mark(sender, [dids[6]], "failed")
    r = _bulk(client, csrf, step="start", count="6", typed_count="6", **window)
    assert r.status_code == 409 and sender.store.list_jobs() == []
    r = _bulk(client, csrf, step="start", count="7", typed_count="7", **window)
    assert r.status_code == 303
    job_url = r.headers["location"]
    job_id = job_url.rsplit("/", 1)[1]
    wait_for(lambda: sender.store.get_job(job_id).status == "finished")  # type: ignore[union-attr]
    job = sender.store.get_job(job_id)
    assert job is not None and (job.total, job.done, job.replayed) == (7, 7, 7)
    assert {sender.get_delivery("alice", d).status for d in dids} == {"pending"}
    assert {sender.get_delivery("bob", d).status for d in other} == {"failed"}
    assert "finished" in client.get(job_url).text
    entry = next(e for e in sender.store.list_audit("alice") if e.action == "bulk_replay")
    assert (entry.action, entry.actor, entry.reason, entry.target["count"]) == \
        ("bulk_replay", "admin:ann", "outage of 7 Dec", 7)
    # alice's owners are told, as after a replay from the CLI or the API; bob's are not.
    told = [n for n in notices.notices if n.kind == "bulk_replay"]
    assert len(told) == 1 and "7" in told[0].message and told[0].tenant_id == "alice"
    assert any(e.action == "owner_notice" for e in sender.store.list_audit("alice"))


def test_a_running_bulk_replay_stops_when_asked(sender: Sender) -> None:
    sender.config = sender.config.replace(replay_rate=20.0)  # 5 per batch = 0.25 s a batch
    runner = JobRunner(sender, batch=5)
    client = make_admin_client(sender, runner=runner)
    ep, dids = failed(sender, "alice", 30)
    mark(sender, dids, "dead_lettered")
    csrf = sign_in(client)
    sel = {"kind": "endpoint_dead", "endpoint": ep, "reason": "endpoint back up"}
    assert 'data-count="30"' in _bulk(client, csrf, step="preview", **sel).text
    r = _bulk(client, csrf, step="start", count="30", typed_count="30", **sel)
    job_id = r.headers["location"].rsplit("/", 1)[1]
    wait_for(lambda: sender.store.get_job(job_id).done >= 5)  # type: ignore[union-attr]
    page = client.get(f"/admin/jobs/{job_id}").text
    assert "Stop this job" in page and 'hx-trigger="every 1s"' in page
    # A second bulk replay is refused while one runs.
    r = _bulk(client, csrf, step="start", count="30", typed_count="30", **sel)
    assert r.status_code == 409 and "already running" in r.text
    r = client.post(f"/admin/jobs/{job_id}/stop", data={"csrf": csrf})
    assert r.status_code == 303
    runner.threads[job_id].join(10)
    job = sender.store.get_job(job_id)
    assert job is not None and job.status == "stopped" and 5 <= job.done < 30
    pending = sum(sender.get_delivery("alice", d).status == "pending" for d in dids)
    assert pending == job.replayed == job.done
    actions = [e.action for e in sender.store.list_audit(OPERATOR_LOG)]
    assert "bulk_replay_stop" in actions and "bulk_replay_stopped" in actions


def test_an_event_type_bug_window_spans_tenants(client: TestClient, sender: Sender) -> None:
    _, a = failed(sender, "alice", 2)
    _, b = failed(sender, "bob", 1)
    mark(sender, a[:1] + b, "delivered")
    mark(sender, a[1:], "failed")
    csrf = sign_in(client)
    r = _bulk(client, csrf, step="preview", kind="event_type", event_type="invoice.paid",
              since="2000-01-01T00:00", until="2999-01-01T00:00", reason="bug 123")
    assert 'data-count="3"' in r.text and "of 2 tenant(s)" in r.text


# corrected replay ---------------------------------------------------------------------
def test_corrected_replay_from_the_console(client: TestClient, sender: Sender) -> None:
    _, (did,) = failed(sender, "alice", 1)
    event_id = sender.get_delivery("alice", did).event_id
    csrf = sign_in(client)
    url = f"/admin/events/alice/{event_id}/correct"
    form = client.get(url)
    assert form.status_code == 200 and "Northwind Traders" in form.text
    data = copy.deepcopy(example())
    data["invoice"]["customer_name"] = "Northwind Traders Ltd"
    r = client.post(url, data={"csrf": csrf, "data": json.dumps(data), "reason": ""})
    assert r.status_code == 400 and "reason" in r.text
    bad = copy.deepcopy(data)
    bad["invoice"]["total"] = "lots"
    r = client.post(url, data={"csrf": csrf, "data": json.dumps(bad), "reason": "fix"})
    assert r.status_code == 422 and "lots" in r.text  # the operator's input is kept
    r = client.post(url, data={"csrf": csrf, "data": "{not json", "reason": "fix"})
    assert r.status_code == 400
    assert not sender.get_delivery("alice", did).corrected
    # As a browser sends a textarea: CRLF line ends.
    text = json.dumps(data, indent=2).replace("\n", "\r\n")
    r = client.post(url, data={"csrf": csrf, "data": text, "reason": "name cut"})
    assert r.status_code == 303 and r.headers["location"].endswith(did + "?notice=corrected")
    page = client.get(f"/admin/deliveries/{did}").text
    assert "corrected" in page and "Northwind Traders Ltd" in page and "the original" in page
    assert client.get(f"/admin/events/bob/{event_id}/correct").status_code == 404
    # The customer's portal shows it too.
    portal = make_admin_client(sender)
    portal_login(portal, sender, "alice")
    assert "Corrected" in portal.get(f"/portal/deliveries/{did}").text


def test_corrected_replay_through_the_admin_api(client: TestClient, sender: Sender) -> None:
    _, (did,) = failed(sender, "alice", 1)
    event_id = sender.get_delivery("alice", did).event_id
    data = copy.deepcopy(example())
    data["invoice"]["customer_name"] = "X"
    auth = {"Authorization": f"Bearer {ADMIN_KEY}"}
    url = f"/v1/tenants/alice/events/{event_id}/corrections"
    assert client.post(url, json={"data": data}, headers=auth).status_code == 400
    r = client.post(url, json={"data": data, "reason": "typo"}, headers=auth)
    assert r.status_code == 202 and r.json()["delivery_ids"] == [did]
    got = client.get(f"/v1/tenants/alice/deliveries/{did}", headers=auth).json()["delivery"]
    assert got["corrected"] and json.loads(got["original_payload"])["data"] == example()
    assert client.post(url, json={"data": data, "reason": "x"}).status_code == 401


# security ---------------------------------------------------------------------------
def test_no_portal_link_or_session_opens_the_console(client: TestClient,
                                                     sender: Sender) -> None:
    failed(sender, "alice", 1)
    portal_login(client, sender, "alice")
    portal_cookie = client.cookies.get(COOKIE)
    assert portal_cookie
    assert client.get("/admin/").status_code == 303  # the portal session is not enough
    client.cookies.set(ADMIN_COOKIE, portal_cookie, path="/admin/")
    assert client.get("/admin/").status_code == 303
    link = portal_link(sender.config, "alice", base_url="http://testserver")
    assert client.get(f"/admin/login?token={link.token}").status_code == 401
    assert client.post("/admin/login", data={"token": link.token}).status_code == 401
    # And a console session never opens the portal.
    client.cookies.clear()
    sign_in(client)
    console_cookie = client.cookies.get(ADMIN_COOKIE, path="/admin/")
    client.cookies.clear()
    client.cookies.set(COOKIE, console_cookie, path="/portal/")
    assert client.get("/portal/").status_code == 401


def test_csrf_and_origin_are_checked_on_every_post(client: TestClient, sender: Sender) -> None:
    ep, (did,) = failed(sender, "alice", 1)
    csrf = sign_in(client)
    posts = [f"/admin/deliveries/{did}/replay", f"/admin/deliveries/{did}/cancel",
             f"/admin/endpoints/{ep}/pause", f"/admin/endpoints/{ep}/cancel", "/admin/bulk",
             "/admin/logout", "/admin/jobs/job_x/stop"]
    for path in posts:
        for data in ({"reason": "x"}, {"reason": "x", "csrf": csrf[::-1]}):
            r = client.post(path, data=data)
            assert r.status_code == 403, (path, r.status_code)
        r = client.post(path, data={"reason": "x", "csrf": csrf},
                        headers={"Origin": "https://evil.example"})
        assert r.status_code == 403, path
    assert sender.get_delivery("alice", did).status == "pending"
    assert sender.get_endpoint("alice", ep).status == "active"
    r = client.post("/admin/login", data={"key": ADMIN_KEY},
                    headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    # Another session's token does not work in this one.
    other = make_admin_client(sender)
    other_csrf = sign_in(other)
    assert other_csrf != csrf
    r = client.post(f"/admin/deliveries/{did}/cancel", data={"csrf": other_csrf,
                                                             "reason": "x"})
    assert r.status_code == 403


def test_every_page_has_the_strict_csp_and_shows_no_secret(client: TestClient,
                                                           sender: Sender) -> None:
    created = sender.create_endpoint("alice", "https://hooks.example.com/s")
    (did, _), = sender.send("alice", "invoice.paid", example()).deliveries
    csrf = sign_in(client)
    event_id = sender.get_delivery("alice", did).event_id
    pages = ["/admin/login", "/admin/", f"/admin/deliveries/{did}", "/admin/bulk",
             "/admin/jobs", "/admin/audit", "/admin/audit?tenant=alice",
             f"/admin/events/alice/{event_id}/correct", "/admin/nope"]
    master = sender.config.master_key or ""
    for path in pages:
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp, path
        assert "frame-ancestors 'none'" in csp and r.headers["x-frame-options"] == "DENY"
        assert r.headers["cache-control"] == "no-store"
        for secret in (created.secret, ADMIN_KEY, master, csrf if path == "/admin/login"
                       else "\0"):
            assert secret not in r.text, (path, secret[:8])
        assert not re.search(r"whsec_|whsk_", r.text), path


def test_an_abandoned_job_does_not_block_a_new_bulk_replay(client: TestClient,
                                                          sender: Sender) -> None:
    from hookseal_sender.admin.jobs import STALE_AFTER
    from hookseal_sender.records import AdminJob

    ep, dids = failed(sender, "alice", 2)
    mark(sender, dids, "dead_lettered")
    old = time.time() - STALE_AFTER - 1
    sender.store.insert_job(AdminJob("job_0", "bulk_replay", "admin:x", "r", {}, 5, 1, 1,
                                     "running", created_at=old, updated_at=old))
    csrf = sign_in(client)
    page = client.get("/admin/jobs/job_0")  # said so, before any new replay
    assert 'data-job-status="abandoned"' in page.text and "process that ran it ended" in page.text
    assert any(e.action == "bulk_replay_abandoned" and e.target["job_id"] == "job_0"
               for e in sender.store.list_audit(OPERATOR_LOG))
    sel = {"kind": "endpoint_dead", "endpoint": ep, "reason": "retry"}
    r = _bulk(client, csrf, step="start", count="2", typed_count="2", **sel)
    assert r.status_code == 303
