"""Portal pages over HTTP: endpoint management, the delivery log's filters and cursors."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hookseal_sender import Sender
from hookseal_sender.portal import COOKIE
from starlette.testclient import TestClient

from ._history import History
from .portal_testing import login, make_client, make_sender


@pytest.fixture
def sender(tmp_path: Path) -> Iterator[Sender]:
    s = make_sender(tmp_path)
    yield s
    s.close()


@pytest.fixture
def client(sender: Sender) -> TestClient:
    return make_client(sender)


def rows(html: str) -> list[str]:
    """Delivery ids listed in a delivery-log table, in order."""
    return re.findall(r'aria-label="Delivery (dlv_\w+)', html)


def test_manage_an_endpoint(client: TestClient, sender: Sender) -> None:
    ep = sender.create_endpoint("alice", "https://hooks.example.com/a").endpoint
    csrf = login(client, sender, "alice", user="ann")
    page = client.get(f"/portal/endpoints/{ep.id}").text
    assert "Send test event" in page and "Pause" in page and "closed (normal)" in page
    r = client.post(f"/portal/endpoints/{ep.id}", data={
        "csrf": csrf, "description": "Billing", "event_types": ["invoice.paid"],
        "other_types": "custom.thing, invoice.paid"})
    assert r.status_code == 303 and "notice=updated" in r.headers["location"]
    got = sender.get_endpoint("alice", ep.id)
    assert (got.description, got.event_types) == ("Billing", ["custom.thing", "invoice.paid"])
    page = client.get(f"/portal/endpoints/{ep.id}?notice=updated").text
    assert "Endpoint updated." in page and 'value="custom.thing"' in page
    # Clearing every type subscribes to all of them again.
    client.post(f"/portal/endpoints/{ep.id}", data={"csrf": csrf, "description": "Billing"})
    assert sender.get_endpoint("alice", ep.id).event_types is None
    client.post(f"/portal/endpoints/{ep.id}/pause", data={"csrf": csrf})
    assert "paused by you" in client.get("/portal/").text
    client.post(f"/portal/endpoints/{ep.id}/resume", data={"csrf": csrf})
    assert sender.get_endpoint("alice", ep.id).status == "active"
    r = client.post(f"/portal/endpoints/{ep.id}/rotate", data={"csrf": csrf, "overlap": "1h"})
    assert "Secret rotated" in r.text and "keeps working beside the new one" in r.text
    rot = next(e for e in sender.store.list_audit("alice") if e.action == "rotate")
    assert rot.actor == "portal:ann"
    assert "This cannot be undone" in client.get(f"/portal/endpoints/{ep.id}/delete").text
    r = client.post(f"/portal/endpoints/{ep.id}/delete", data={"csrf": csrf})
    assert r.headers["location"] == "/portal/?notice=deleted"
    assert "No endpoints yet" in client.get("/portal/").text
    assert client.get(f"/portal/endpoints/{ep.id}").status_code == 404


def test_disabled_endpoints_say_why(client: TestClient, sender: Sender) -> None:
    ep = sender.create_endpoint("alice", "https://hooks.example.com/a").endpoint
    sender.store.update_endpoint("alice", ep.id, status="disabled", status_reason="410 Gone")
    login(client, sender, "alice")
    page = client.get("/portal/").text
    assert "st-disabled" in page and "410 Gone" in page
    assert "Resume" in client.get(f"/portal/endpoints/{ep.id}").text


def test_the_log_pages_by_cursor_and_keeps_its_filters(client: TestClient,
                                                       sender: Sender) -> None:
    ep = sender.create_endpoint("alice", "https://hooks.example.com/a").endpoint
    other = sender.create_endpoint("alice", "https://hooks.example.com/b").endpoint
    for _ in range(120):
        sender.ping("alice", ep.id)
    sender.ping("alice", other.id)
    login(client, sender, "alice")
    q = f"endpoint={ep.id}"
    first = client.get(f"/portal/deliveries?{q}").text
    assert len(rows(first)) == 50 and "Newer" not in first
    older = re.search(r'href="(/portal/deliveries\?[^"]*before=[^"]+)" rel="next"', first)
    assert older and f"endpoint={ep.id}" in older.group(1)
    second = client.get(older.group(1).replace("&amp;", "&")).text
    assert len(rows(second)) == 50 and not set(rows(second)) & set(rows(first))
    third_url = re.search(r'href="([^"]+)" rel="next"', second)
    assert third_url
    third = client.get(third_url.group(1).replace("&amp;", "&")).text
    assert len(rows(third)) == 20 and 'rel="next"' not in third
    back = re.search(r'href="([^"]+)" rel="prev"', third)
    assert back
    assert rows(client.get(back.group(1).replace("&amp;", "&")).text) == rows(second)
    everything = rows(first) + rows(second) + rows(third)
    assert everything == sorted(everything, reverse=True) and len(set(everything)) == 120
    assert len(rows(client.get(f"/portal/deliveries?endpoint={other.id}").text)) == 1
    assert rows(client.get("/portal/deliveries?status=delivered").text) == []
    assert len(rows(client.get("/portal/deliveries?status=pending&range=1h").text)) == 50
    assert rows(client.get("/portal/deliveries?until=2000-01-01T00:00").text) == []
    for bad in ("status=nope", "since=yesterday"):
        r = client.get(f"/portal/deliveries?{bad}")
        assert r.status_code == 400 and "That did not work" in r.text


def test_sign_out_ends_the_session(client: TestClient, sender: Sender) -> None:
    csrf = login(client, sender, "alice")
    r = client.post("/portal/logout", data={"csrf": csrf})
    assert r.status_code == 200 and "Signed out" in r.text
    assert f'{COOKIE}=""' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]
    client.cookies.clear()
    assert client.get("/portal/").status_code == 401


@pytest.mark.parametrize("query", ["since=nan", "since=inf", "until=-inf", "since=NaN",
                                   "until=1e308", "since=-1", "since=9999-99-99T00:00"])
def test_bad_times_in_the_log_filters_are_400_not_500(client: TestClient, sender: Sender,
                                                       query: str) -> None:
    """Regression: /portal/deliveries?since=nan (and inf, until=-inf) was a 500."""
    eid = sender.create_endpoint("alice", "https://hooks.example.com/a").endpoint.id
    login(client, sender, "alice")
    field = query.split("=")[0]
    r = client.get(f"/portal/deliveries?{query}")
    assert r.status_code == 400 and field in r.text, (r.status_code, r.text[:300])
    # The bulk replay form shows the error beside the filter it came from.
    r = client.get(f"/portal/replay?{query}&endpoint={eid}")
    assert r.status_code == 200
    assert f"{field} must be" in r.text or f"{field}: not a date" in r.text


def figure(html: str, name: str) -> str:
    """The text of one figure on the log page, tags and spacing removed."""
    found = re.search(rf'data-figure="{name}">(.*?)</dd>', html, re.S)
    assert found, f"no figure {name}"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).replace("&nbsp;", " ").split())


def test_the_log_shows_figures_of_the_last_week(client: TestClient, sender: Sender) -> None:
    now = time.time()
    a = sender.create_endpoint("alice", "https://hooks.example.com/a").endpoint.id
    b = sender.create_endpoint("alice", "https://hooks.example.com/b").endpoint.id
    history = History()
    for i in range(6):  # the last day: delivered at once, 100..600 ms
        history.delivery("alice", a, "invoice.paid", now - 600 - i, [(0.0, 200, 100.0 * (i + 1))],
                         "delivered")
    history.delivery("alice", a, "invoice.paid", now - 3 * 86400, [(0.0, 502, 50.0),
                     (60.0, 200, 50.0)], "delivered")
    for i in range(3):  # dead on the other endpoint, two days ago
        history.delivery("alice", b, "payment.failed", now - 2 * 86400 - i,
                         [(0.0, 503, 10.0)] * 3, "dead_lettered")
    history.delivery("bob", "ep_bob", "invoice.paid", now - 60, [(0.0, 500, 9.0)] * 20,
                     "dead_lettered")
    history.write(sender)
    login(client, sender, "alice")
    page = client.get("/portal/deliveries").text
    assert (figure(page, "sent-24h"), figure(page, "sent-7d")) == ("6", "10")
    assert figure(page, "first") == "60.0 % 6"
    assert figure(page, "retried") == "10.0 % 1"
    assert figure(page, "failed") == "30.0 % 3"
    assert figure(page, "top-failure") == "HTTP 503 9 attempts"  # not bob's 500s
    assert figure(page, "latency") == "10 / 520 ms"  # 9 x 10, 2 x 50, 100..600 ms
    only_a = client.get(f"/portal/deliveries?endpoint={a}").text
    assert figure(only_a, "sent-7d") == "7" and figure(only_a, "failed") == "0.0 % 0"
    assert figure(only_a, "top-failure") == "HTTP 502 1 attempt"
    assert "https://hooks.example.com/a · all event types" in only_a
    # The live poll refreshes the table only: no figures read every two seconds.
    poll = client.get("/portal/deliveries", headers={"HX-Request": "true", "HX-Target": "log"})
    assert 'data-figure="sent-7d"' not in poll.text and 'id="log"' in poll.text
