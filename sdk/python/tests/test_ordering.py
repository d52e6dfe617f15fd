"""Tests for hookseal.ordering: newest-wins per resource, by the envelope's ``created``."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hookseal.ordering import (
    MemoryOrderingStore,
    Ordering,
    OrderingStore,
    RedisOrderingStore,
    SQLiteOrderingStore,
    resource_key,
)
from receiving_fixtures import redis_url  # noqa: F401 - fixture


def customer_updated(event_id: str, created: int, email: str, cid: str = "cus_1") -> dict[str, Any]:
    return {"id": event_id, "type": "customer.updated", "version": 1, "created": created,
            "livemode": False, "data": {"customer": {"id": cid, "email": email}}}


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OrderingStore]:
    if request.param == "memory":
        yield MemoryOrderingStore()
    elif request.param == "sqlite":
        s = SQLiteOrderingStore(tmp_path / "order.db")
        yield s
        s.close()
    else:
        import redis

        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        yield RedisOrderingStore(client, prefix=f"order:{uuid.uuid4().hex}:")
        client.close()


def test_resource_key_reads_data_resource_id() -> None:
    assert resource_key(customer_updated("evt_1", 1, "a")) == "customer:cus_1"
    assert resource_key({"type": "test.ping", "data": {"message": "hi"}}) is None
    assert resource_key({"type": 3}) is None


def test_out_of_order_delivery_keeps_the_newest_state(store: OrderingStore) -> None:
    ordering = Ordering(store)
    state: dict[str, str] = {}

    def apply(event: dict[str, Any]) -> bool:
        c = event["data"]["customer"]
        return ordering.apply_if_newer(event, lambda: state.__setitem__(c["id"], c["email"]))

    assert apply(customer_updated("evt_new", 200, "new@example.com"))
    assert not apply(customer_updated("evt_old", 100, "old@example.com"))  # late retry
    assert state == {"cus_1": "new@example.com"}
    assert apply(customer_updated("evt_other", 50, "x@example.com", cid="cus_2"))  # independent
    assert apply(customer_updated("evt_newer", 300, "newer@example.com"))
    assert state == {"cus_1": "newer@example.com", "cus_2": "x@example.com"}


def test_a_retry_of_the_last_applied_event_is_let_through(store: OrderingStore) -> None:
    ordering = Ordering(store)
    event = customer_updated("evt_1", 100, "a@example.com")
    assert ordering.check_and_record(event)
    assert ordering.check_and_record(event)  # its handler failed the first time


def test_equal_timestamps_follow_allow_equal(store: OrderingStore) -> None:
    assert Ordering(store).check_and_record(customer_updated("evt_a", 100, "a"))
    assert Ordering(store).check_and_record(customer_updated("evt_b", 100, "b"))
    strict = Ordering(store, allow_equal=False)
    assert not strict.check_and_record(customer_updated("evt_c", 100, "c"))


def test_events_without_a_resource_are_always_applied() -> None:
    ordering = Ordering()
    ping = {"id": "evt_p", "type": "test.ping", "created": 5, "data": {"message": "hi"}}
    assert ordering.check_and_record(ping) and ordering.check_and_record({**ping, "created": 1})


def test_events_without_created_or_id_are_refused() -> None:
    with pytest.raises(ValueError):
        Ordering().check_and_record({"id": "evt_1", "type": "customer.updated", "data": {}})
    with pytest.raises(ValueError):
        Ordering().check_and_record({"created": 1, "type": "customer.updated", "data": {}})


def test_concurrent_events_for_one_resource_end_with_the_newest(store: OrderingStore) -> None:
    ordering = Ordering(store, allow_equal=False)
    n = 8
    barrier = threading.Barrier(n)
    accepted: list[int] = []
    lock = threading.Lock()

    def deliver(created: int) -> None:
        barrier.wait(timeout=10)
        if ordering.check_and_record(customer_updated(f"evt_{created}", created, "x")):
            with lock:
                accepted.append(created)

    threads = [threading.Thread(target=deliver, args=(c,)) for c in range(100, 100 + n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    # Whatever the interleaving, the newest is accepted exactly once and ends recorded: an
    # event no newer than it is refused afterwards. (The order in which threads append to
    # `accepted` is not the order of their atomic records, so it is not asserted.)
    newest = 100 + n - 1
    assert accepted.count(newest) == 1 and len(set(accepted)) == len(accepted)
    assert not ordering.check_and_record(customer_updated("evt_late", newest, "x"))
    assert not ordering.check_and_record(customer_updated("evt_older", 100, "x"))


def test_with_the_catalog_example_envelopes() -> None:
    catalog_mod = pytest.importorskip("hookseal_catalog.catalog", reason="needs hookseal-catalog")
    catalog = catalog_mod.load_catalog()
    paid = catalog.example_envelope("invoice.paid")
    assert resource_key(paid) == "invoice:" + paid["data"]["invoice"]["id"]
    ordering = Ordering()
    assert ordering.check_and_record(paid)
    assert not ordering.check_and_record({**paid, "id": "evt_olderolder", "created": 1})


def test_redis_record_ttl(redis_url: str) -> None:  # noqa: F811
    import redis

    client = redis.Redis.from_url(redis_url)
    prefix = f"ttl:{uuid.uuid4().hex}:"
    ordering = Ordering(RedisOrderingStore(client, prefix=prefix, ttl=3600))
    assert ordering.check_and_record(customer_updated("evt_1", 100, "a"))
    assert 3_500_000 < client.pttl(prefix + "customer:cus_1") <= 3_600_000
