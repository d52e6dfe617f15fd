"""The delivery log's CSV and JSON export: every filtered row, streamed, tenant-scoped,
with hostile values quoted and spreadsheet formulas neutralised."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hookseal_sender import Sender
from hookseal_sender.portal import _export
from hookseal_sender.portal._export import EXPORT_FIELDS, csv_export, neutralise
from starlette.testclient import TestClient

from ._history import History
from .portal_testing import login, make_client, make_sender

NOW = time.time()
HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1:A9)",
           "\tcmd", "a,b", 'say "hi"', "line one\nline two", "crlf\r\nend", "plain.type"]


@pytest.fixture
def sender(tmp_path: Path) -> Iterator[Sender]:
    s = make_sender(tmp_path)
    yield s
    s.close()


@pytest.fixture
def client(sender: Sender) -> TestClient:
    return make_client(sender)


def _history(sender: Sender) -> tuple[str, list[str], str]:
    """Alice: one delivery per hostile event type (the same text as its last error),
    and 1,100 ordinary ones; Bob: one. Returns alice's endpoint, hostile ids, bob's id."""
    ep = sender.create_endpoint("alice", "https://hooks.example.com/a").endpoint.id
    bob_ep = sender.create_endpoint("bob", "https://hooks.example.com/b").endpoint.id
    history = History()
    hostile = [history.delivery("alice", ep, text, NOW - 3600 + i, [(0.0, None, 5.0)],
                                "failed") for i, text in enumerate(HOSTILE)]
    for i in range(1100):
        history.delivery("alice", ep, "invoice.paid", NOW - 7200 + i, [(0.0, 200, 5.0)],
                         "delivered")
    bob = history.delivery("bob", bob_ep, "invoice.paid", NOW - 60, [(0.0, 200, 5.0)],
                           "delivered")
    history.write(sender)
    store: Any = sender.store
    with store.transaction() as conn:
        for did, text in zip(hostile, HOSTILE):
            store._exec(conn, "UPDATE deliveries SET last_error = ? WHERE id = ?", [text, did])
    return ep, hostile, bob


def test_csv_has_every_filtered_row_quoted_and_no_formula(client: TestClient,
                                                          sender: Sender) -> None:
    _, hostile, bob = _history(sender)
    login(client, sender, "alice")
    r = client.get("/portal/deliveries.csv", params={"status": "failed"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="deliveries-')
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8"), newline="")))
    assert table[0] == list(EXPORT_FIELDS)
    got = {row[0]: dict(zip(EXPORT_FIELDS, row)) for row in table[1:]}
    assert sorted(got) == sorted(hostile)  # only the failed ones, only alice's
    for did, text in zip(hostile, HOSTILE):
        row = got[did]
        expected = "'" + text if text[0] in "=+-@\t\r" else text
        assert row["event_type"] == expected and row["last_error"] == expected
        assert row["endpoint_url"] == "https://hooks.example.com/a"
        assert row["status"] == "failed" and row["attempts"] == "1"
        assert row["created_at"].endswith("Z") and row["next_attempt_at"] == ""
    for row in table[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)
    # Bob's delivery is not in alice's export, even when asked for by id.
    r = client.get("/portal/deliveries.csv", params={"q": bob})
    assert r.text.strip().splitlines() == [",".join(EXPORT_FIELDS)]


def test_json_is_one_document_of_every_page(client: TestClient, sender: Sender) -> None:
    ep, hostile, bob = _history(sender)
    login(client, sender, "alice")
    r = client.get("/portal/deliveries.json", params={"endpoint": ep})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = r.json()
    assert doc["account"] == "alice" and doc["filters"] == {"endpoint": ep}
    assert doc["fields"] == list(EXPORT_FIELDS)
    rows = doc["deliveries"]
    assert len(rows) == 1110 and bob not in {d["delivery_id"] for d in rows}
    ids = [d["delivery_id"] for d in rows]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 1110  # newest first, once
    by_id = {d["delivery_id"]: d for d in rows}
    for did, text in zip(hostile, HOSTILE):  # JSON keeps values exactly
        assert by_id[did]["event_type"] == text and by_id[did]["last_error"] == text
        assert by_id[did]["last_status_code"] is None and by_id[did]["attempts"] == 1
    empty = client.get("/portal/deliveries.json", params={"q": bob}).json()
    assert empty["deliveries"] == []
    assert client.get("/portal/deliveries.json", params={"status": "bogus"}).status_code == 400


def test_the_export_reads_a_page_at_a_time(sender: Sender,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    ep, _, _ = _history(sender)
    calls: list[int] = []
    real = sender.store.page_deliveries

    def counted(*args: Any, **kw: Any) -> Any:
        calls.append(kw["limit"])
        return real(*args, **kw)

    monkeypatch.setattr(sender.store, "page_deliveries", counted)
    from hookseal_sender.models import DeliveryFilter

    rows = _export.export_deliveries(sender, "alice", DeliveryFilter(endpoint_id=ep))
    first = next(rows)
    assert calls == [_export.EXPORT_PAGE] and first.tenant_id == "alice"
    assert sum(1 for _ in rows) == 1109 and calls == [_export.EXPORT_PAGE] * 3
    # The CSV text comes in chunks, not as one string at the end.
    records = ({name: "x" * 40 for name in EXPORT_FIELDS} for _ in range(2000))
    assert len(list(csv_export(records))) > 1


@pytest.mark.parametrize(("value", "cell"), [
    (None, ""), (200, "200"), ("=1+2", "'=1+2"), ("+1", "'+1"), ("-1", "'-1"),
    ("@x", "'@x"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("a=1", "a=1"), ("", "")])
def test_neutralise(value: object, cell: str) -> None:
    assert neutralise(value) == cell


def test_an_empty_export_is_still_valid_json() -> None:
    text = "".join(_export.json_export({"account": "a"}, iter(())))
    assert json.loads(text) == {"account": "a", "deliveries": []}
