"""The portal's subscription options page (portal/_option_pages.py): edit an endpoint's
filter, headers, redactions and rate limit, and preview a filter on recent events; CSRF
and tenant scoping as on every portal write."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hookseal_sender import Sender
from hookseal_sender.catalog import event_catalog
from starlette.testclient import TestClient

from .portal_testing import login, make_client, make_sender


@pytest.fixture
def sender(tmp_path: Path) -> Iterator[Sender]:
    s = make_sender(tmp_path)
    yield s
    s.close()


@pytest.fixture
def client(sender: Sender) -> TestClient:
    return make_client(sender)


def _form(csrf: str, **values: str) -> dict[str, str]:
    return {"csrf": csrf, "filter": "", "headers": "", "redact": "", "rate_limit": "",
            **values}


def test_options_are_shown_saved_and_cleared(client: TestClient, sender: Sender) -> None:
    ep = sender.create_endpoint("alice", "https://hooks.example.com/a",
                                event_types=["test.ping"]).endpoint
    csrf = login(client, sender, "alice")
    assert "Edit options and test the filter" in client.get(f"/portal/endpoints/{ep.id}").text
    flt = {"/data/message": {"$ne": "quiet"}}
    r = client.post(f"/portal/endpoints/{ep.id}/options", data=_form(
        csrf, filter=json.dumps(flt), headers="X-Team: billing\r\n\r\nX-Env: prod",
        redact="/endpoint_id\r\n", rate_limit="2.5"))
    assert r.status_code == 303 and "notice=updated" in r.headers["location"], r.text
    got = sender.get_endpoint("alice", ep.id)
    assert (got.filter, got.headers, got.redact, got.rate_limit) == (
        flt, {"X-Team": "billing", "X-Env": "prod"}, ["/endpoint_id"], 2.5)
    page = client.get(f"/portal/endpoints/{ep.id}").text
    assert "X-Team: billing" in page and "2.5 per second" in page and "/endpoint_id" in page
    form = client.get(f"/portal/endpoints/{ep.id}/options").text
    assert "X-Env: prod" in form and "&#34;$ne&#34;" in form  # the stored filter, escaped
    r = client.post(f"/portal/endpoints/{ep.id}/options", data=_form(csrf))
    assert r.status_code == 303
    got = sender.get_endpoint("alice", ep.id)
    assert (got.filter, got.headers, got.redact, got.rate_limit) == (None, None, None, None)


@pytest.mark.parametrize(("values", "words"), [
    ({"filter": '{"/type": {"$regex": "x"}}'}, "unknown operator &#39;$regex&#39;"),
    ({"filter": "{not json"}, "the filter is not JSON"),
    ({"filter": "[1]"}, "must be a JSON object"),
    ({"headers": "Host: evil"}, "is reserved"),
    ({"headers": "no colon"}, "Name: value"),
    ({"redact": "/message"}, "required field of test.ping"),
    ({"rate_limit": "fast"}, "number of deliveries per second"),
    ({"rate_limit": "0"}, "above 0"),
])
def test_a_refusal_keeps_the_input_and_saves_nothing(client: TestClient, sender: Sender,
                                                     values: dict[str, str], words: str) -> None:
    ep = sender.create_endpoint("alice", "https://hooks.example.com/a",
                                event_types=["test.ping"], rate_limit=7).endpoint
    csrf = login(client, sender, "alice")
    r = client.post(f"/portal/endpoints/{ep.id}/options", data=_form(csrf, **values))
    assert r.status_code == 400 and words in r.text, r.text
    entered = next(iter(values.values()))
    assert entered.replace('"', "&#34;").replace("'", "&#39;") in r.text
    assert sender.get_endpoint("alice", ep.id).rate_limit == 7.0


def test_the_preview_shows_which_recent_events_would_be_sent(client: TestClient,
                                                             sender: Sender) -> None:
    ep = sender.create_endpoint("alice", "https://hooks.example.com/a",
                                event_types=["invoice.paid"]).endpoint
    invoice = event_catalog().example("invoice.paid")
    amounts = [500, 20000, 15000]
    sent = []
    for amount in amounts:
        invoice["invoice"]["total"]["amount"] = amount
        sent.append(sender.send("alice", "invoice.paid", invoice).event_id)
    ping = sender.send("alice", "test.ping", {"message": "hi"}).event_id
    other = sender.send("bob", "test.ping", {"message": "not alice's"}).event_id
    csrf = login(client, sender, "alice")
    flt = json.dumps({"/data/invoice/total/amount": {"$gte": 10000}})
    r = client.post(f"/portal/endpoints/{ep.id}/options/preview",
                    data=_form(csrf, filter=flt))
    assert r.status_code == 200, r.text
    assert "2 of your last 4 events" in r.text and "Nothing was saved" in r.text
    verdicts = dict(re.findall(r"<code>(evt_\w+)</code></td>\s*<td[^>]*>.*?>([^<]+)</span>",
                               r.text))
    assert verdicts == {sent[0]: "No: filter does not match", sent[1]: "Yes: matches",
                        sent[2]: "Yes: matches", ping: "No: type not subscribed"}
    assert other not in r.text  # another tenant's events are never shown
    assert sender.get_endpoint("alice", ep.id).filter is None  # a preview saves nothing
    bad = client.post(f"/portal/endpoints/{ep.id}/options/preview",
                      data=_form(csrf, filter='{"$nor": []}'))
    assert bad.status_code == 400 and "$nor" in bad.text


def test_writes_need_the_csrf_token_and_the_tenant(client: TestClient, sender: Sender) -> None:
    ep = sender.create_endpoint("alice", "https://hooks.example.com/a").endpoint
    login(client, sender, "bob")
    csrf = login(client, sender, "bob")
    r = client.get(f"/portal/endpoints/{ep.id}/options")
    assert r.status_code == 404  # bob's session never sees alice's endpoint
    r = client.post(f"/portal/endpoints/{ep.id}/options", data=_form(csrf, rate_limit="1"))
    assert r.status_code == 404
    alice_csrf = login(client, sender, "alice")
    for path in ("options", "options/preview"):
        r = client.post(f"/portal/endpoints/{ep.id}/{path}", data=_form("forged", rate_limit="1"))
        assert r.status_code == 403
    assert alice_csrf and sender.get_endpoint("alice", ep.id).rate_limit is None


def test_a_customer_pins_and_unpins_an_event_version(client: TestClient, sender: Sender) -> None:
    """payment.failed is served as v1 (deprecated, with a sunset) and v2 in the sample."""
    ep = sender.create_endpoint("alice", "https://hooks.example.com/a").endpoint
    csrf = login(client, sender, "alice")
    form = client.get(f"/portal/endpoints/{ep.id}/options").text
    assert 'name="pin:payment.failed"' in form and "Current (v2)" in form
    assert re.search(r'<option value="1" >v1 \(until 20\d\d-\d\d-\d\d\)', form)
    r = client.post(f"/portal/endpoints/{ep.id}/options",
                    data=_form(csrf, **{"pin:payment.failed": "1"}))
    assert r.status_code == 303, r.text
    assert sender.get_endpoint("alice", ep.id).versions == {"payment.failed": 1}
    assert re.search(r'<option value="1" selected>v1',
                     client.get(f"/portal/endpoints/{ep.id}/options").text)
    r = client.post(f"/portal/endpoints/{ep.id}/options",
                    data=_form(csrf, **{"pin:payment.failed": "9"}))
    assert r.status_code == 400 and "versions served are 1, 2" in r.text
    assert sender.get_endpoint("alice", ep.id).versions == {"payment.failed": 1}
    r = client.post(f"/portal/endpoints/{ep.id}/options", data=_form(csrf))
    assert r.status_code == 303 and sender.get_endpoint("alice", ep.id).versions is None
