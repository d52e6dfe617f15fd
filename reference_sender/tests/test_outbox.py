"""Enqueue: validation, one delivery per subscribed endpoint, the caller's transaction."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import sqlite3
import uuid
from typing import Any

import pytest
from hookseal_sender import InvalidPayloadError, Sender
from hookseal_sender.catalog import _catalog, no_validation
from hookseal_sender.outbox import envelope
from hypothesis import given, settings
from hypothesis import strategies as st


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


def _strict_loads(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


_JSON_LEAVES = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2**70), max_value=2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text())
_JSON = st.recursive(_JSON_LEAVES, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(), inner, max_size=4), max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(data=st.dictionaries(st.text(), _JSON, max_size=5))
def test_the_body_reads_back_as_the_data_given(data: dict[str, Any]) -> None:
    # Whichever encoder wrote it (orjson, or the json module for what orjson cannot
    # write exactly), the body is strict JSON and its data is the data given.
    # (st.text() draws no lone surrogates: the store's driver refuses those, see
    # test_sender.py::test_send_keeps_nul_in_data_and_refuses_lone_surrogates.)
    decoded = _strict_loads(envelope("evt_1", "x.y", data, 1_700_000_000.5))
    assert decoded == {"id": "evt_1", "type": "x.y", "version": 1, "created": 1_700_000_000,
                       "livemode": True, "data": data}


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int


@pytest.mark.parametrize("value", [
    pytest.param(float("nan"), id="nan"), pytest.param([1, {"y": float("inf")}], id="inf"),
    pytest.param(datetime.datetime(2026, 1, 1), id="datetime"),
    pytest.param(uuid.UUID(int=1), id="uuid"), pytest.param(Colour.RED, id="enum"),
    pytest.param(Point(1), id="dataclass"), pytest.param(decimal.Decimal("1.5"), id="decimal"),
])
def test_values_json_cannot_hold_are_refused_even_where_orjson_would_write_them(value: Any) -> None:
    # orjson writes NaN as null and these types as strings or objects: the body would
    # silently differ from the data. The json module refuses them all.
    with pytest.raises(InvalidPayloadError, match="not JSON"):
        envelope("evt_1", "x.y", {"v": value, "ok": None}, 0)


def test_the_envelope_is_the_catalogs_and_validates_against_its_schema() -> None:
    # The sender writes its envelope itself (it also sends types outside the catalog, and
    # encodes once); it must be exactly what the catalog's own builder makes.
    catalog = _catalog()
    data = catalog.example("invoice.paid")
    expected = catalog.build_envelope("invoice.paid", data, event_id="evt_0123456789ab", created=1765000000,
                                      livemode=True)
    body = json.loads(envelope("evt_0123456789ab", "invoice.paid", data, 1765000000.7,
                               version=expected["version"], livemode=True))
    assert body == expected
    catalog.validate_envelope(body)
