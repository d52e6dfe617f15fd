"""The delivery log's search box: what it takes, and that it finds only the tenant's rows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hookseal_catalog import load_catalog
from hookseal_sender import Sender
from hookseal_sender.errors import InvalidRequestError
from hookseal_sender.portal._search import SEARCH_PATTERN, search_ids

from .portal_testing import login, make_client, make_sender


@pytest.fixture
def sender(tmp_path: Path) -> Iterator[Sender]:
    s = make_sender(tmp_path)
    yield s
    s.close()


def rows(html: str) -> list[str]:
    return re.findall(r'aria-label="Delivery (dlv_\w+)', html)


@pytest.mark.parametrize(("typed", "ids"), [
    ("", (None, None)), ("   ", (None, None)),
    ("dlv_0190abc", ("dlv_0190abc", None)), (" DLV_0190ABC ", ("dlv_0190abc", None)),
    ("evt_01", (None, "evt_01")), ("evt_" + "a" * 28, (None, "evt_" + "a" * 28))])
def test_the_box_takes_a_delivery_or_event_id(typed: str, ids: tuple[object, object]) -> None:
    assert search_ids(typed) == ids
    if typed.strip():
        assert re.fullmatch(SEARCH_PATTERN, typed)  # the browser's check agrees


@pytest.mark.parametrize("typed", ["dlv_", "ep_0190", "invoice.paid", "dlv_xyz",
                                   "evt_" + "a" * 29, "dlv_01 OR 1=1", "%", "dlv_0_"])
def test_anything_else_is_refused_saying_what_it_takes(typed: str) -> None:
    with pytest.raises(InvalidRequestError) as err:
        search_ids(typed)
    assert err.value.code == "invalid_request" and "dlv_" in str(err.value)


def test_search_finds_a_delivery_and_an_event_of_this_account_only(sender: Sender) -> None:
    client = make_client(sender)
    mine = sender.create_endpoint("alice", "https://hooks.example.com/a").endpoint
    other = sender.create_endpoint("alice", "https://hooks.example.com/b").endpoint
    theirs = sender.create_endpoint("bob", "https://hooks.example.com/c").endpoint
    sent = sender.send("alice", "invoice.paid", load_catalog().example("invoice.paid"))
    for _ in range(3):
        sender.ping("alice", mine.id)
    bob = sender.ping("bob", theirs.id).deliveries[0][0]
    login(client, sender, "alice")
    ids = sorted(d for d, _ in sent.deliveries)
    assert len(ids) == 2  # one event, both endpoints

    page = client.get("/portal/deliveries", params={"q": ids[0]}).text
    assert rows(page) == [ids[0]] and f'data-id="delivery">{ids[0]}</code>' in page
    assert f"Deliveries matching <code>{ids[0]}</code>" in page
    assert sorted(rows(client.get("/portal/deliveries", params={"q": sent.event_id}).text)
                  ) == ids
    # A delivery's page links to its event's deliveries.
    detail = client.get(f"/portal/deliveries/{ids[0]}").text
    assert f'href="/portal/deliveries?q={sent.event_id}"' in detail
    # An event id's beginning, upper case, with spaces: still found.
    page = client.get("/portal/deliveries",
                      params={"q": f"  {sent.event_id[:-4].upper()} "}).text
    assert sorted(rows(page)) == ids
    # With the other filters, and kept in the export links.
    page = client.get("/portal/deliveries", params={"q": sent.event_id, "endpoint": other.id}).text
    assert len(rows(page)) == 1
    assert f"deliveries.csv?q={sent.event_id}&amp;endpoint={other.id}" in page
    # Another account's delivery or event is not found, whole or in part.
    bob_event = sender.get_delivery("bob", bob).event_id
    for q in (bob, bob[:-3], bob_event):
        page = client.get("/portal/deliveries", params={"q": q}).text
        assert rows(page) == [] and "No deliveries match." in page
    r = client.get("/portal/deliveries", params={"q": "invoice.paid"})
    assert r.status_code == 400 and "not a delivery id (dlv_...) or an event id" in r.text
