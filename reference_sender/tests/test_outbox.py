"""Enqueue: validation, one delivery per subscribed endpoint, the caller's transaction."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
from hookseal_sender import InvalidPayloadError, Sender
from hookseal_sender.catalog import _catalog


def example(t: str = "invoice.paid") -> dict[str, Any]:
    return _catalog().example(t)  # type: ignore[no-any-return]


def test_fan_out_to_subscribed_endpoints_of_the_tenant(sender: Sender) -> None:
    a = sender.create_endpoint("t1", "https://hooks.example.com/a")
    b = sender.create_endpoint("t1", "https://hooks.example.com/b",
                               event_types=["invoice.paid"])
    sender.create_endpoint("t1", "https://hooks.example.com/c",
                           event_types=["customer.created"])
    sender.create_endpoint("t2", "https://hooks.example.com/other-tenant")
    result = sender.send("t1", "invoice.paid", example())
    assert sorted(e for _, e in result.deliveries) == sorted([a.endpoint.id, b.endpoint.id])
    body = json.loads(result.payload)
    assert body["id"] == result.event_id and body["type"] == "invoice.paid"
    _catalog().validate_envelope(body)


def test_invalid_payload_writes_nothing(sender: Sender) -> None:
    sender.create_endpoint("t1", "https://hooks.example.com/a")
    for t, d in (("invoice.paid", {"nope": 1}), ("no.such_type", {}), ("invoice.paid", [])):
        with pytest.raises(InvalidPayloadError):
            sender.send("t1", t, d)
    assert sender.list_deliveries("t1") == []


def _caller_conn(sender: Sender) -> Any:
    store: Any = sender.store
    if store.dialect == "sqlite":
        return sqlite3.connect(store.path)
    import psycopg

    return psycopg.connect(store.dsn)


def test_joins_the_callers_transaction(sender: Sender) -> None:
    sender.create_endpoint("t1", "https://hooks.example.com/a")
    conn = _caller_conn(sender)
    conn.execute("CREATE TABLE IF NOT EXISTS orders (id TEXT)")
    conn.commit()
    # Rolled back with the business change: no event, no delivery.
    conn.execute("INSERT INTO orders VALUES ('o1')")
    sender.send("t1", "invoice.paid", example(), conn=conn)
    conn.rollback()
    assert sender.list_deliveries("t1") == []
    # Committed with it: both are there.
    conn.execute("INSERT INTO orders VALUES ('o2')")
    result = sender.send("t1", "invoice.paid", example(), conn=conn)
    assert sender.list_deliveries("t1") == []  # not visible before the caller commits
    conn.commit()
    assert [d.id for d in sender.list_deliveries("t1")] == [result.deliveries[0][0]]
    assert conn.execute("SELECT id FROM orders").fetchall() == [("o2",)]
    conn.close()
