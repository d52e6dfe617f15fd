"""Enqueue: validation, one delivery per subscribed endpoint, the caller's transaction."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
from hookseal_sender import InvalidPayloadError, Sender
from hookseal_sender.catalog import _catalog, no_validation


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


def _nested(depth: int) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for _ in range(depth):
        data = {"a": data}
    return data


def _circular() -> dict[str, Any]:
    data: dict[str, Any] = {}
    data["self"] = data
    return data


@pytest.mark.parametrize("data, reason", [
    pytest.param({"x": float("nan")}, "float values", id="nan"),
    pytest.param({"x": [float("-inf")]}, "float values", id="infinity"),
    pytest.param({"x": b"raw"}, "bytes", id="bytes"),
    pytest.param({"x": {1, 2}}, "set", id="set"),
    pytest.param({(1, 2): "tuple key"}, "keys must be", id="tuple-key"),
    pytest.param(_circular(), "[Cc]ircular", id="circular"),
    pytest.param(_nested(100_000), "nested too deeply", id="too-deep"),
])
def test_data_json_cannot_hold_is_refused_typed_and_writes_nothing(
    sender: Sender, data: Any, reason: str,
) -> None:
    # Without a catalog schema to reject them first, these reached the body: `NaN` (not
    # JSON: every receiver's parser refuses it, so the delivery could only dead-letter) or
    # an untyped TypeError from the encoder.
    sender.create_endpoint("t1", "https://hooks.example.com/a")
    sender.validator = no_validation
    with pytest.raises(InvalidPayloadError, match=reason):
        sender.send("t1", "x.y", data)
    assert sender.list_deliveries("t1") == []
    # Ordinary values around them still go through, JSON-exact.
    result = sender.send("t1", "x.y", {"x": 1.5, "big": 10**30, "1": [None, True]})
    assert json.loads(result.payload)["data"] == {"x": 1.5, "big": 10**30, "1": [None, True]}
