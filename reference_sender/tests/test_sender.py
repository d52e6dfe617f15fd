"""The Sender API: tenant isolation, rotation, replay, cancel, audit, purge, metrics."""

from __future__ import annotations

import time
from typing import Any

import hookseal
import pytest
from hookseal_sender import (
    ConfigError,
    ConflictError,
    DeliveryFilter,
    DestinationRefusedError,
    InvalidPayloadError,
    InvalidRequestError,
    NotFoundError,
    Sender,
    SenderConfig,
)
from hookseal_sender.catalog import _catalog, no_validation
from hookseal_sender.config import MAX_RETRY_WINDOW, RetryPolicy, endpoint_retry_policy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ._receiver import Receiver
from .conftest import wait_for


def example() -> dict[str, Any]:
    return _catalog().example("invoice.paid")  # type: ignore[no-any-return]


def final(sender: Sender, tenant: str, did: str) -> Any:
    wait_for(lambda: sender.get_delivery(tenant, did).status not in ("pending", "delivering"))
    return sender.get_delivery(tenant, did)


def test_tenant_isolation(sender: Sender) -> None:
    a = sender.create_endpoint("alice", "https://hooks.example.com/a")
    sender.create_endpoint("bob", "https://hooks.example.com/b")
    (did, _), = sender.send("alice", "invoice.paid", example()).deliveries
    eid = a.endpoint.id
    assert [e.id for e in sender.list_endpoints("bob")] != [eid]
    assert all(e.tenant_id == "bob" for e in sender.list_endpoints("bob"))
    assert sender.list_deliveries("bob") == []
    for call in (
        lambda: sender.get_endpoint("bob", eid),
        lambda: sender.update_endpoint("bob", eid, description="x"),
        lambda: sender.rotate_secret("bob", eid),
        lambda: sender.pause_endpoint("bob", eid),
        lambda: sender.resume_endpoint("bob", eid),
        lambda: sender.delete_endpoint("bob", eid),
        lambda: sender.ping("bob", eid),
        lambda: sender.public_keys("bob", eid),
        lambda: sender.get_delivery("bob", did),
        lambda: sender.replay("bob", did),
        lambda: sender.cancel("bob", endpoint_id=eid),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert sender.cancel("bob", delivery_ids=[did]) == 0
    assert sender.replay_bulk("bob", DeliveryFilter(), confirm=True)["matched"] == 0
    # Alice's things are untouched.
    assert sender.get_endpoint("alice", eid).status == "active"
    assert sender.get_delivery("alice", did).status == "pending"


def test_update_pause_delete(sender: Sender) -> None:
    ep = sender.create_endpoint("t1", "https://hooks.example.com/a")
    eid = ep.endpoint.id
    up = sender.update_endpoint("t1", eid, description="billing", event_types=["invoice.paid"])
    assert up.description == "billing" and up.event_types == ["invoice.paid"]
    assert up.version > ep.endpoint.version
    with pytest.raises(InvalidRequestError):
        sender.update_endpoint("t1", eid, allow_local=True)
    with pytest.raises(InvalidRequestError):
        sender.update_endpoint("t1", eid, signing="rsa")
    assert sender.pause_endpoint("t1", eid).status == "paused"
    assert sender.resume_endpoint("t1", eid).status == "active"
    sender.send("t1", "invoice.paid", example())
    sender.delete_endpoint("t1", eid)
    assert sender.list_endpoints("t1") == []
    assert [d.status for d in sender.list_deliveries("t1")] == ["cancelled"]
    with pytest.raises(NotFoundError):
        sender.get_endpoint("t1", eid)


def test_rotation_overlap_then_only_new(sender: Sender, receiver: Receiver,
                                        worker: Any) -> None:
    ep = sender.create_endpoint("t1", receiver.route("/r"), allow_local=True, signing="both")
    rot = sender.rotate_secret("t1", ep.endpoint.id, overlap=1.0)
    assert rot.secret != ep.secret and rot.public_key != ep.public_key
    assert abs(rot.overlap_ends_at - (time.time() + 1.0)) < 1
    assert sender.public_keys("t1", ep.endpoint.id) == [ep.public_key, rot.public_key]
    worker()
    (d1, _), = sender.send("t1", "invoice.paid", example()).deliveries
    final(sender, "t1", d1)
    req = receiver.requests("/r")[0]
    for key in (ep.secret, rot.secret, ep.public_key, rot.public_key):
        hookseal.Webhook(key).verify(req.body, req.headers)
    assert req.headers["Hookseal-Signature"].count("v1=") == 2
    time.sleep(1.1)
    (d2, _), = sender.send("t1", "invoice.paid", example()).deliveries
    final(sender, "t1", d2)
    req = receiver.requests("/r")[1]
    hookseal.Webhook(rot.secret).verify(req.body, req.headers)
    with pytest.raises(hookseal.SignatureMismatchError):
        hookseal.Webhook(ep.secret).verify(req.body, req.headers)
    assert req.headers["Hookseal-Signature"].count("v1=") == 1
    assert [a.action for a in sender.store.list_audit("t1")] == ["rotate"]


def test_default_overlap_is_24h(sender: Sender) -> None:
    ep = sender.create_endpoint("t1", "https://hooks.example.com/a")
    rot = sender.rotate_secret("t1", ep.endpoint.id)
    assert rot.overlap_ends_at == pytest.approx(time.time() + 86400, abs=5)


def test_replay_single_and_bulk(sender: Sender, receiver: Receiver, worker: Any) -> None:
    ep = sender.create_endpoint("t1", receiver.route("/x", statuses=[400, 400, 400, 200]),
                                allow_local=True)
    worker()
    dids = [sender.send("t1", "invoice.paid", example()).deliveries[0][0] for _ in range(3)]
    for d in dids:
        assert final(sender, "t1", d).status == "failed"
    paused = sender.create_endpoint("t1", "https://hooks.example.com/paused")
    sender.pause_endpoint("t1", paused.endpoint.id)
    with pytest.raises(ConflictError):  # still pending: nothing to replay
        sender.replay("t1", sender.ping("t1", paused.endpoint.id).deliveries[0][0])
    replayed = sender.replay("t1", dids[0], actor="alice", reason="fixed the bug")
    assert replayed.id == dids[0] and replayed.status in ("pending", "delivering", "delivered")
    d = final(sender, "t1", dids[0])
    assert d.status == "delivered" and [a.number for a in d.attempts] == [1, 2]
    ids_seen = {r.headers["Hookseal-Webhook-Id"] for r in receiver.requests("/x")}
    assert d.event_id in ids_seen  # the replay carries the same (event) id
    flt = DeliveryFilter(endpoint_id=ep.endpoint.id, status=["failed"])
    preview = sender.replay_bulk("t1", flt)
    assert preview["matched"] == 2 and preview["replayed"] == 0
    done = sender.replay_bulk("t1", flt, confirm=True, actor="alice", reason="bulk")
    assert done["replayed"] == 2
    for d_id in dids[1:]:
        assert final(sender, "t1", d_id).status == "delivered"
    audit = sender.store.list_audit("t1")
    assert [a.action for a in audit] == ["bulk_replay", "replay"]
    assert audit[1].actor == "alice" and audit[1].reason == "fixed the bug"
    assert audit[0].target["count"] == 2


def test_bulk_replay_is_rate_limited(sender: Sender) -> None:
    sender.config = sender.config.replace(replay_rate=2.0)
    ep = sender.create_endpoint("t1", "https://hooks.example.com/a")
    dids = [sender.send("t1", "invoice.paid", example()).deliveries[0][0] for _ in range(4)]
    sender.cancel("t1", endpoint_id=ep.endpoint.id)
    out = sender.replay_bulk("t1", DeliveryFilter(status=["cancelled"]), confirm=True)
    assert out["replayed"] == 4
    times = sorted(sender.get_delivery("t1", d).next_attempt_at or 0 for d in dids)
    assert times[-1] - times[0] == pytest.approx(1.5, abs=0.01)  # 2 per second


def test_cancel_and_list_filters(sender: Sender) -> None:
    a = sender.create_endpoint("t1", "https://hooks.example.com/a")
    b = sender.create_endpoint("t1", "https://hooks.example.com/b")
    sender.send("t1", "invoice.paid", example())
    sender.send("t1", "customer.created", _catalog().example("customer.created"))
    assert sender.cancel("t1", endpoint_id=a.endpoint.id, reason="x") == 2
    assert len(sender.list_deliveries("t1", DeliveryFilter(status=["cancelled"]))) == 2
    assert len(sender.list_deliveries("t1", DeliveryFilter(endpoint_id=b.endpoint.id))) == 2
    assert len(sender.list_deliveries("t1", DeliveryFilter(event_type="invoice.paid"))) == 2
    assert sender.list_deliveries("t1", DeliveryFilter(since=time.time() + 60)) == []
    page1 = sender.list_deliveries("t1", limit=3)
    page2 = sender.list_deliveries("t1", limit=3, before=page1[-1].id)
    assert len(page1) == 3 and len(page2) == 1
    assert not {d.id for d in page1} & {d.id for d in page2}


def test_purge_retention(sender: Sender) -> None:
    sender.create_endpoint("t1", "https://hooks.example.com/a")
    sender.send("t1", "invoice.paid", example())
    sender.cancel("t1", delivery_ids=[d.id for d in sender.list_deliveries("t1")])
    assert sender.purge() == 0  # younger than 30 days
    assert sender.purge(older_than_days=-1) == 1
    assert sender.list_deliveries("t1") == []


def test_metrics(sender: Sender, receiver: Receiver, worker: Any) -> None:
    sender.create_endpoint("t1", receiver.route("/m"), allow_local=True)
    worker()
    (did, _), = sender.send("t1", "invoice.paid", example()).deliveries
    final(sender, "t1", did)
    text = sender.metrics.render().decode()
    assert 'hookseal_events_enqueued_total{event_type="invoice.paid"} 1.0' in text
    assert 'hookseal_attempts_total{endpoint_id=' in text and 'outcome="delivered"' in text
    assert "hookseal_attempt_latency_seconds_bucket" in text
    assert "hookseal_queue_depth 0.0" in text


def test_ping_is_counted_like_any_enqueued_event(sender: Sender) -> None:
    ep = sender.create_endpoint("t1", "https://hooks.example.com/a")
    sender.ping("t1", ep.endpoint.id)
    sender.ping("t1", ep.endpoint.id)
    text = sender.metrics.render().decode()
    assert 'hookseal_events_enqueued_total{event_type="test.ping"} 2.0' in text
    assert "hookseal_deliveries_created_total 2.0" in text


def test_signing_keys_per_tenant(sender: Sender) -> None:
    sender.config = sender.config.replace(signing_keys="tenant")
    a = sender.create_endpoint("t1", "https://hooks.example.com/a", signing="ed25519")
    b = sender.create_endpoint("t1", "https://hooks.example.com/b", signing="both")
    other = sender.create_endpoint("t2", "https://hooks.example.com/c", signing="ed25519")
    assert a.public_key == b.public_key != other.public_key
    rot = sender.rotate_secret("t1", a.endpoint.id, overlap=60)
    assert sender.public_keys("t1", b.endpoint.id) == [a.public_key, rot.public_key]
    assert sender.public_keys("t2", other.endpoint.id) == [other.public_key]
    c = sender.create_endpoint("t1", "https://hooks.example.com/d", signing="ed25519")
    assert sender.public_keys("t1", c.endpoint.id) == [a.public_key, rot.public_key]


def test_purge_in_batches_reports_progress(sender: Sender) -> None:
    sender.create_endpoint("t1", "https://hooks.example.com/a")
    for _ in range(5):
        sender.send("t1", "invoice.paid", example())
    sender.cancel("t1", delivery_ids=[d.id for d in sender.list_deliveries("t1")])
    for bad in (0, 10_001, True):
        with pytest.raises(InvalidRequestError):
            sender.purge(older_than_days=-1, batch_size=bad)
    calls: list[tuple[int, int]] = []
    assert sender.purge(older_than_days=-1, batch_size=2,
                        on_progress=lambda d, t: calls.append((d, t))) == 5
    assert calls == [(0, 5), (2, 5), (4, 5), (5, 5)]
    assert sender.list_deliveries("t1") == []


def test_status_counts_follow_a_bulk_replay_per_tenant(sender: Sender) -> None:
    ep = sender.create_endpoint("t1", "https://hooks.example.com/a")
    sender.create_endpoint("t2", "https://hooks.example.com/b")
    dids = [sender.send("t1", "invoice.paid", example()).deliveries[0][0] for _ in range(3)]
    other = sender.send("t2", "invoice.paid", example()).deliveries[0][0]
    sender.cancel("t1", endpoint_id=ep.endpoint.id)
    flt = DeliveryFilter(status=["cancelled"])
    assert "ids" not in sender.replay_bulk("t1", flt)  # the API's answer is unchanged
    out = sender.replay_bulk("t1", flt, confirm=True, include_ids=True)
    assert sorted(out["ids"]) == sorted(dids) and out["replayed"] == 3
    assert sender.delivery_status_counts("t1", [*dids, other]) == {"pending": 3}
    assert sender.delivery_status_counts("t2", dids) == {}  # not t2's deliveries
    assert sender.delivery_status_counts("t2", [*dids, other]) == {"pending": 1}
    with pytest.raises(InvalidRequestError):
        sender.delivery_status_counts("", dids)


# Hostile input: every bad value is refused with InvalidRequestError before anything is
# written (on PostgreSQL a NUL used to surface as psycopg's untyped DataError).
URL = "https://hooks.example.com/a"
BAD_FIELDS = [
    pytest.param("description", "a\x00b", id="description-nul"),
    pytest.param("description", "a\x1bb", id="description-escape"),
    pytest.param("description", "a\r\nb", id="description-cr"),
    pytest.param("description", "a\ud800", id="description-surrogate"),
    pytest.param("description", "x" * 1001, id="description-too-long"),
    pytest.param("description", 123, id="description-int"),
    pytest.param("description", None, id="description-none"),
    pytest.param("header_prefix", "Bad Prefix", id="prefix-space"),
    pytest.param("header_prefix", "X\r\nY", id="prefix-crlf"),
    pytest.param("header_prefix", "X\x00", id="prefix-nul"),
    pytest.param("header_prefix", "", id="prefix-empty"),
    pytest.param("header_prefix", "X_Y", id="prefix-underscore"),
    pytest.param("header_prefix", "Hook:seal", id="prefix-colon"),
    pytest.param("header_prefix", "Hookséal", id="prefix-non-ascii"),
    pytest.param("header_prefix", "A" * 65, id="prefix-too-long"),
    pytest.param("header_prefix", 7, id="prefix-int"),
    pytest.param("header_prefix", None, id="prefix-none"),
    pytest.param("notify_email", "a\x00@example.com", id="email-nul"),
    pytest.param("notify_email", "ops@example.com\r\nBcc: x@evil.test", id="email-header-injection"),
    pytest.param("notify_email", "not an email", id="email-no-at"),
    pytest.param("notify_email", "a@b@example.com", id="email-two-at"),
    pytest.param("notify_email", "@example.com", id="email-no-local"),
    pytest.param("notify_email", "ops@", id="email-no-domain"),
    pytest.param("notify_email", "ops @example.com", id="email-space"),
    pytest.param("notify_email", "", id="email-empty"),
    pytest.param("notify_email", "o" * 243 + "@example.com", id="email-too-long"),
    pytest.param("notify_email", 5, id="email-int"),
    pytest.param("retry_after_cap", "10", id="cap-str"),
    pytest.param("retry_after_cap", -1, id="cap-negative"),
    pytest.param("retry_after_cap", float("nan"), id="cap-nan"),
    pytest.param("retry_after_cap", float("inf"), id="cap-inf"),
    pytest.param("retry_after_cap", True, id="cap-bool"),
    pytest.param("timeout", True, id="timeout-bool"),
    pytest.param("timeout", float("inf"), id="timeout-inf"),
    pytest.param("timeout", 0, id="timeout-zero"),
    pytest.param("timeout", "x", id="timeout-str"),
    pytest.param("event_types", ["a\x00b"], id="types-nul"),
    pytest.param("event_types", ["a\r\nb"], id="types-crlf"),
    pytest.param("event_types", ["a\ud800"], id="types-surrogate"),
    pytest.param("event_types", ["x" * 201], id="types-too-long"),
    pytest.param("event_types", [""], id="types-empty-name"),
    pytest.param("event_types", [1], id="types-int"),
    pytest.param("event_types", "invoice.paid", id="types-str"),
    pytest.param("url", URL + "\x00", id="url-nul"),
    pytest.param("url", URL + "\r\nX: y", id="url-crlf"),
    pytest.param("url", URL + "/" + "a" * 2048, id="url-too-long"),
]
BAD_TENANTS = [
    pytest.param("t\x00", id="nul"), pytest.param("t\n", id="newline"),
    pytest.param("t\ud800", id="surrogate"), pytest.param("x" * 201, id="too-long"),
    pytest.param("", id="empty"), pytest.param(5, id="int"), pytest.param(None, id="none"),
]


def endpoint_kwargs(field: str, value: Any) -> dict[str, Any]:
    """create_endpoint's arguments with one field replaced."""
    kwargs: dict[str, Any] = {"url": URL}
    kwargs[field] = value
    return kwargs


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS)
def test_create_endpoint_refuses_hostile_fields(sender: Sender, field: str, value: Any) -> None:
    with pytest.raises(InvalidRequestError, match=field if field != "event_types" else "event type"):
        sender.create_endpoint("t1", **endpoint_kwargs(field, value))
    assert sender.list_endpoints("t1") == []


@pytest.mark.parametrize("tenant", BAD_TENANTS)
def test_create_endpoint_refuses_hostile_tenants(sender: Sender, tenant: Any) -> None:
    with pytest.raises(InvalidRequestError, match="tenant"):
        sender.create_endpoint(tenant, URL)


@pytest.mark.parametrize("tenant", BAD_TENANTS)
def test_tenant_reads_and_audit_refuse_hostile_tenants(sender: Sender, tenant: Any) -> None:
    """Each call that names a tenant refuses a bad one with InvalidRequestError (on
    PostgreSQL a NUL used to reach the driver), and the audit log gets nothing."""
    calls = [
        lambda: sender.list_endpoints(tenant), lambda: sender.list_deliveries(tenant),
        lambda: sender.replay_bulk(tenant, DeliveryFilter(), confirm=True),
        lambda: sender.delivery_status_counts(tenant, ["dlv_x"]),
        lambda: sender.audit(tenant, "api", "replay", "", {}),
    ]
    for call in calls:
        with pytest.raises(InvalidRequestError, match="tenant"):
            call()


@pytest.mark.parametrize(("field", "value"), [
    ("actor", "a\x00"), ("actor", ""), ("action", "x\r\ny"), ("action", 5), ("reason", "\ud800"),
    ("reason", "r" * 1001),
])
def test_audit_refuses_hostile_fields(sender: Sender, field: str, value: Any) -> None:
    entry: dict[str, Any] = {"actor": "api", "action": "replay", "reason": "why"}
    entry[field] = value
    with pytest.raises(InvalidRequestError, match=field):
        sender.audit("t1", entry["actor"], entry["action"], entry["reason"], {})
    assert sender.store.list_audit("t1") == []


@pytest.mark.parametrize("actor", ["", "a\x00", "a\nb", "\ud800", "a" * 301, 5])
def test_hostile_actors_are_refused_before_anything_changes(sender: Sender, actor: Any) -> None:
    ep = sender.create_endpoint("t1", URL)
    (did, _), = sender.send("t1", "invoice.paid", _catalog().example("invoice.paid")).deliveries
    sender.cancel("t1", delivery_ids=[did])
    calls = [
        lambda: sender.rotate_secret("t1", ep.endpoint.id, actor=actor),
        lambda: sender.replay("t1", did, actor=actor),
        lambda: sender.replay_bulk("t1", DeliveryFilter(status=["cancelled"]), confirm=True,
                                   actor=actor),
        lambda: sender.cancel("t1", endpoint_id=ep.endpoint.id, actor=actor),
    ]
    audited, keys = sender.store.list_audit("t1"), sender.store.keys(ep.endpoint.id)
    for call in calls:
        with pytest.raises(InvalidRequestError, match="actor"):
            call()
    assert sender.get_delivery("t1", did).status == "cancelled"  # not replayed
    assert sender.store.keys(ep.endpoint.id) == keys  # not rotated
    assert sender.store.list_audit("t1") == audited


def test_list_deliveries_refuses_a_hostile_cursor(sender: Sender) -> None:
    for bad in ("dlv_\x00", "x" * 201, 5):
        with pytest.raises(InvalidRequestError, match="before"):
            sender.list_deliveries("t1", before=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS)
def test_update_endpoint_refuses_hostile_fields(sender: Sender, field: str, value: Any) -> None:
    ep = sender.create_endpoint("t1", URL, description="before", notify_email="ops@example.com")
    before = sender.get_endpoint("t1", ep.endpoint.id)
    with pytest.raises(InvalidRequestError):
        sender.update_endpoint("t1", ep.endpoint.id, **{field: value})
    assert sender.get_endpoint("t1", ep.endpoint.id) == before


def test_endpoint_fields_at_their_limits_are_accepted(sender: Sender) -> None:
    fields: dict[str, Any] = {
        "description": "Zahlungen – Büro 日本\tline one\nline two" + "x" * 960,
        "header_prefix": "Acme-Webhook-2", "notify_email": "ops+hooks@example.co.uk",
        "retry_after_cap": 0, "timeout": 2.5, "event_types": ["invoice.paid", "ü" * 200],
    }
    assert len(fields["description"]) <= 1000
    ep = sender.create_endpoint("t" * 200, URL, **fields).endpoint
    got = sender.get_endpoint("t" * 200, ep.id)
    assert {k: getattr(got, k) for k in fields} == fields
    assert sender.create_endpoint("t1", URL).endpoint.header_prefix == "Hookseal"  # the default
    up = sender.update_endpoint("t1", sender.list_endpoints("t1")[0].id, description="",
                                notify_email=None, retry_after_cap=None, timeout=None,
                                header_prefix="A" * 64)
    assert (up.description, up.notify_email, up.header_prefix) == ("", None, "A" * 64)
    for prefix in ("Hookseal", "Acme-Webhook-2", "A" * 64):  # what the SDK signs with
        hookseal.Signer(hookseal.generate_secret(), header_prefix=prefix)


@pytest.mark.parametrize(("tenant", "event_type"), [
    pytest.param("t\x00", "x.y", id="tenant-nul"),
    pytest.param("t\n", "x.y", id="tenant-newline"),
    pytest.param("", "x.y", id="tenant-empty"),
    pytest.param("x" * 201, "x.y", id="tenant-too-long"),
    pytest.param("t1", "x\x00y", id="type-nul"),
    pytest.param("t1", "invoice.p\x00aid", id="type-nul-catalog"),
    pytest.param("t1", "x\r\ny", id="type-crlf"),
    pytest.param("t1", "x\ud800", id="type-surrogate"),
    pytest.param("t1", "y" * 201, id="type-too-long"),
    pytest.param("t1", "", id="type-empty"),
    pytest.param("t1", None, id="type-none"),
])
def test_send_refuses_hostile_tenant_and_type(sender: Sender, tenant: Any, event_type: Any) -> None:
    sender.create_endpoint("t1", URL)
    if event_type != "invoice.p\x00aid":
        sender.validator = no_validation  # the catalog would refuse an unknown type anyway
    with pytest.raises(InvalidRequestError):
        sender.send(tenant, event_type, example())
    assert sender.list_deliveries("t1") == []


def test_send_keeps_nul_in_data_and_refuses_lone_surrogates(sender: Sender) -> None:
    sender.create_endpoint("t1", URL)
    sender.validator = no_validation
    for data in ({"a": "\ud800"}, {"\udfff": 1}):
        with pytest.raises(InvalidPayloadError, match="surrogate"):
            sender.send("t1", "x.y", data)
    assert sender.list_deliveries("t1") == []
    # A NUL in the data is JSON-escaped in the payload: stored and sent like any character.
    (did, _), = sender.send("t1", "x.y", {"a": "\x00"}).deliveries
    assert '"a":"\\u0000"' in sender.get_delivery("t1", did).payload


@pytest.mark.parametrize("reason", [
    pytest.param("why\x00", id="nul"), pytest.param("why\x1b[2J", id="escape"),
    pytest.param("x" * 1001, id="too-long"), pytest.param(None, id="none"),
])
def test_reason_is_checked_before_the_operation(sender: Sender, reason: Any) -> None:
    ep = sender.create_endpoint("t1", URL)
    (did, _), = sender.send("t1", "invoice.paid", example()).deliveries
    with pytest.raises(InvalidRequestError, match="reason"):
        sender.cancel("t1", endpoint_id=ep.endpoint.id, reason=reason)
    assert sender.get_delivery("t1", did).status == "pending"  # not cancelled, then a 500
    sender.cancel("t1", endpoint_id=ep.endpoint.id)
    with pytest.raises(InvalidRequestError, match="reason"):
        sender.replay("t1", did, reason=reason)
    with pytest.raises(InvalidRequestError, match="reason"):
        sender.replay_bulk("t1", DeliveryFilter(status=["cancelled"]), confirm=True, reason=reason)
    assert sender.get_delivery("t1", did).status == "cancelled"
    assert [a.action for a in sender.store.list_audit("t1")] == ["cancel"]


@pytest.mark.parametrize("flt", [
    pytest.param(DeliveryFilter(endpoint_id="ep\x00"), id="endpoint-nul"),
    pytest.param(DeliveryFilter(event_type="a\x00"), id="type-nul"),
    pytest.param(DeliveryFilter(status=["failed\x00"]), id="status-nul"),
    pytest.param(DeliveryFilter(status="failed"), id="status-str"),  # type: ignore[arg-type]
    pytest.param(DeliveryFilter(since="yesterday"), id="since-str"),  # type: ignore[arg-type]
    pytest.param(DeliveryFilter(until=float("nan")), id="until-nan"),
])
def test_delivery_filters_are_checked(sender: Sender, flt: DeliveryFilter) -> None:
    with pytest.raises(InvalidRequestError):
        sender.list_deliveries("t1", flt)
    with pytest.raises(InvalidRequestError):
        sender.replay_bulk("t1", flt, confirm=True)


@pytest.mark.parametrize("overlap", [float("nan"), float("inf"), -1, True, "60", 1e308,
                                     30 * 86400 + 1])
def test_rotation_overlap_must_be_a_finite_number(sender: Sender, overlap: Any) -> None:
    ep = sender.create_endpoint("t1", URL, signing="both")
    with pytest.raises(InvalidRequestError, match="overlap"):
        sender.rotate_secret("t1", ep.endpoint.id, overlap=overlap)
    assert sender.public_keys("t1", ep.endpoint.id) == [ep.public_key]


@pytest.mark.parametrize(("tenant", "kwargs", "match"), [
    pytest.param("t1", {"delivery_ids": ["dlv\x00"]}, "delivery id", id="id-nul"),
    pytest.param("t1", {"delivery_ids": ["DID", "\x00"]}, "delivery id", id="second-id-nul"),
    pytest.param("t1", {"delivery_ids": ["DID\r\n"]}, "delivery id", id="id-crlf"),
    pytest.param("t1", {"delivery_ids": ["dlv\ud800"]}, "delivery id", id="id-surrogate"),
    pytest.param("t1", {"delivery_ids": ["d" * 201]}, "delivery id", id="id-too-long"),
    pytest.param("t1", {"delivery_ids": [7]}, "delivery id", id="id-int"),
    pytest.param("t1", {"delivery_ids": "DID"}, "list", id="ids-str"),
    pytest.param("t1", {"delivery_ids": 7}, "list", id="ids-int"),
    pytest.param("t1", {"endpoint_id": "ep\x00"}, "endpoint_id", id="endpoint-nul"),
    pytest.param("t1", {"endpoint_id": "ep\ud800"}, "endpoint_id", id="endpoint-surrogate"),
    pytest.param("t\x00", {"delivery_ids": ["DID"]}, "tenant", id="tenant-nul"),
    pytest.param("t\ud800", {"endpoint_id": "EP"}, "tenant", id="tenant-surrogate"),
    pytest.param("", {"delivery_ids": ["DID"]}, "tenant", id="tenant-empty"),
])
def test_cancel_checks_its_ids_before_anything(sender: Sender, tenant: Any, kwargs: dict[str, Any],
                                               match: str) -> None:
    ep = sender.create_endpoint("t1", URL)
    (did, _), = sender.send("t1", "invoice.paid", example()).deliveries
    # DID and EP stand for the real ids: a bad value next to a good one cancels nothing.
    real = {"DID": did, "EP": ep.endpoint.id}
    kwargs = {k: [real.get(i, i) for i in v] if isinstance(v, list) else real.get(v, v)
              for k, v in kwargs.items()}
    with pytest.raises(InvalidRequestError, match=match):
        sender.cancel(tenant, **kwargs)
    assert sender.get_delivery("t1", did).status == "pending"
    assert sender.store.list_audit("t1") == []
    # The same ids, well formed, do cancel.
    assert sender.cancel("t1", delivery_ids=(did,)) == 1


@pytest.mark.parametrize("bad", ["a\x00b", "ep\r\n", "\ud800", "x" * 201, 7])
def test_lookups_refuse_ids_no_row_can_have(sender: Sender, bad: Any) -> None:
    """Library callers get InvalidRequestError, not the driver's error (a NUL on PostgreSQL)."""
    ep = sender.create_endpoint("t1", URL)
    calls = [
        lambda: sender.get_endpoint("t1", bad), lambda: sender.get_endpoint(bad, ep.endpoint.id),
        lambda: sender.pause_endpoint("t1", bad), lambda: sender.resume_endpoint("t1", bad),
        lambda: sender.delete_endpoint("t1", bad), lambda: sender.public_keys("t1", bad),
        lambda: sender.rotate_secret("t1", bad), lambda: sender.get_delivery("t1", bad),
        lambda: sender.replay("t1", bad), lambda: sender.delivery_status_counts("t1", [bad]),
    ]
    for call in calls:
        with pytest.raises(InvalidRequestError):
            call()
    assert sender.get_endpoint("t1", ep.endpoint.id).status == "active"  # nothing changed


# Settings the worker cannot use were accepted once (issue 19 item 3): a cap that lets
# Retry-After stretch the default 13 retries past three days, and a long schedule that
# leans on the default cap of 3600 s. Every delivery to such an endpoint waited for ever.
WEDGING_SETTINGS = [
    pytest.param({"retry_after_cap": 19_939}, "retry_after_cap", id="cap-19939"),
    pytest.param({"retry_after_cap": 1e9}, "retry_after_cap", id="cap-huge"),
    pytest.param({"retry_schedule": [0] * 73}, "retry_after_cap", id="schedule-73-default-cap"),
    pytest.param({"retry_schedule": [1] * 101, "retry_after_cap": 0}, "retry_schedule",
                 id="schedule-too-long"),
    pytest.param({"retry_schedule": [86_400.0] * 3}, "retry_schedule", id="schedule-too-slow"),
]


@pytest.fixture
def default_retry(sender: Sender) -> Sender:
    """The sender with the default retry policy (the tests' config has a short one)."""
    sender.config = sender.config.replace(retry=RetryPolicy())
    return sender


@pytest.mark.parametrize(("settings", "field"), WEDGING_SETTINGS)
def test_settings_the_worker_cannot_use_are_refused_at_create(
        default_retry: Sender, settings: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequestError, match=field):
        default_retry.create_endpoint("t1", URL, **settings)
    assert default_retry.list_endpoints("t1") == []


@pytest.mark.parametrize(("settings", "field"), WEDGING_SETTINGS)
def test_settings_the_worker_cannot_use_are_refused_at_update(
        default_retry: Sender, settings: dict[str, Any], field: str) -> None:
    ep = default_retry.create_endpoint("t1", URL).endpoint
    with pytest.raises(InvalidRequestError, match=field):
        default_retry.update_endpoint("t1", ep.id, **settings)
    assert default_retry.get_endpoint("t1", ep.id).version == ep.version  # nothing written


def test_update_checks_a_new_setting_with_the_stored_ones(default_retry: Sender) -> None:
    """Each value fits alone; together (the stored schedule, the new cap) they do not."""
    s = default_retry
    ep = s.create_endpoint("t1", URL, retry_schedule=[1] * 60, retry_after_cap=60).endpoint
    with pytest.raises(InvalidRequestError, match=r"retry_after_cap to at most 4320 s"):
        s.update_endpoint("t1", ep.id, retry_after_cap=5000)
    short = s.create_endpoint("t1", URL, retry_after_cap=19_000).endpoint
    with pytest.raises(InvalidRequestError, match="retry_after_cap"):
        s.update_endpoint("t1", short.id, retry_schedule=[1] * 14)
    s.update_endpoint("t1", ep.id, retry_after_cap=4320)  # the largest that fits


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedule=st.one_of(st.none(), st.lists(st.floats(0, 40_000), max_size=110)),
       cap=st.one_of(st.none(), st.floats(0, 100_000)))
def test_every_accepted_setting_is_one_the_worker_can_use(
        default_retry: Sender, schedule: Any, cap: Any) -> None:
    """Accepted or refused, never accepted-then-unusable: the worker builds the policy of
    what was stored with the same function, and its window stays within three days."""
    try:
        ep = default_retry.create_endpoint("t1", URL, retry_schedule=schedule,
                                           retry_after_cap=cap).endpoint
    except InvalidRequestError:
        return
    policy = endpoint_retry_policy(default_retry.config.retry, ep.retry_schedule,
                                   ep.retry_after_cap)
    assert policy.retry_after_cap * len(policy.schedule) <= MAX_RETRY_WINDOW
    assert sum(policy.schedule) * (1 + policy.jitter) <= MAX_RETRY_WINDOW


def test_rotation_overlap_is_bounded_at_30_days(sender: Sender) -> None:
    ep = sender.create_endpoint("t1", URL)
    rot = sender.rotate_secret("t1", ep.endpoint.id, overlap=30 * 86400)
    assert abs(rot.overlap_ends_at - (time.time() + 30 * 86400)) < 5
    with pytest.raises(ConfigError, match="rotation_overlap"):
        SenderConfig(rotation_overlap=31 * 86400)


def test_allow_local_without_the_setting_says_what_to_change(sender: Sender) -> None:
    strict = Sender(sender.config.replace(allow_local=False), store=sender.store)
    with pytest.raises(DestinationRefusedError, match="settings do not allow them"):
        strict.create_endpoint("t1", "http://127.0.0.1:4300/", allow_local=True)
    with pytest.raises(DestinationRefusedError) as exc:  # not asked for: the plain refusal
        strict.create_endpoint("t1", "http://127.0.0.1:4300/")
    assert "settings" not in exc.value.detail


def test_bulk_replay_limit_takes_the_oldest(sender: Sender) -> None:
    ep = sender.create_endpoint("t1", URL).endpoint
    dids = [sender.ping("t1", ep.id).deliveries[0][0] for _ in range(5)]
    sender.cancel("t1", endpoint_id=ep.id)
    flt = DeliveryFilter(status=["cancelled"])
    out = sender.replay_bulk("t1", flt, confirm=True, limit=2, include_ids=True)
    assert (out["matched"], out["selected"], out["replayed"]) == (5, 2, 2)
    oldest = sorted(dids)  # ids are time-ordered (to the millisecond)
    assert sorted(out["ids"]) == oldest[:2]
    assert {sender.get_delivery("t1", d).status for d in oldest[:2]} == {"pending"}
    assert {sender.get_delivery("t1", d).status for d in oldest[2:]} == {"cancelled"}
