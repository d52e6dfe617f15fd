"""Tests for hookseal.integrations.flask with Flask's test client."""

from __future__ import annotations

import types
from typing import Any

import hookseal
import pytest
from hookseal.idempotency import MemoryIdempotencyStore, ProcessOnce
from receiving_fixtures import SECRET, assert_problem, event_body, rejection_cases, signed

flask = pytest.importorskip("flask", reason="needs hookseal[flask]")
from hookseal.integrations.flask import verify_webhook  # noqa: E402


def make_app(once: ProcessOnce | None = None, fail: bool = False) -> tuple[Any, list[Any]]:
    seen: list[Any] = []
    app = flask.Flask(__name__)

    @app.post("/webhooks/<tenant>")
    @verify_webhook(hookseal.Webhook(SECRET), once=once)
    def webhooks(event: dict[str, Any], tenant: str) -> Any:
        seen.append((tenant, event["id"]))
        assert flask.g.hookseal_event is event
        if fail:
            return {"error": "try again"}, 500
        return {"received": event["id"]}

    return app, seen


def test_verified_event_reaches_the_view_with_url_variables() -> None:
    app, seen = make_app()
    body = event_body()
    r = app.test_client().post("/webhooks/acme", data=body, headers=signed(body))
    assert r.status_code == 200 and r.get_json() == {"received": "evt_1"}
    assert seen == [("acme", "evt_1")]


@pytest.mark.parametrize("case", rejection_cases(), ids=lambda c: c[0])
def test_rejections_answer_a_problem_and_never_run_the_view(case: Any) -> None:
    _, body, headers, status, code = case
    app, seen = make_app()
    r = app.test_client().post("/webhooks/acme", data=body, headers=headers)
    assert_problem(r.status_code, r.headers["Content-Type"], r.get_json(), status, code)
    assert seen == []


def test_once_runs_once_and_releases_after_a_non_2xx() -> None:
    once = ProcessOnce(MemoryIdempotencyStore())
    app, seen = make_app(once)
    body = event_body()
    client = app.test_client()
    assert client.post("/webhooks/a", data=body, headers=signed(body)).status_code == 200
    dup = client.post("/webhooks/a", data=body, headers=signed(body))
    assert dup.status_code == 200 and dup.get_json()["status"] == "duplicate"
    assert seen == [("a", "evt_1")]

    failing_app, failing_seen = make_app(ProcessOnce(MemoryIdempotencyStore()), fail=True)
    failing = failing_app.test_client()
    assert failing.post("/webhooks/a", data=body, headers=signed(body)).status_code == 500
    assert failing.post("/webhooks/a", data=body, headers=signed(body)).status_code == 500
    assert len(failing_seen) == 2


def test_once_answers_503_while_the_id_is_held() -> None:
    once = ProcessOnce(MemoryIdempotencyStore())
    assert once.claim("evt_1").acquired
    app, seen = make_app(once)
    body = event_body()
    r = app.test_client().post("/webhooks/a", data=body, headers=signed(body))
    assert r.status_code == 503 and r.get_json()["code"] == "delivery_in_progress"
    assert "Retry-After" in r.headers
    assert seen == []


def test_async_view() -> None:
    pytest.importorskip("asgiref", reason="async Flask views need flask[async]")
    app = flask.Flask(__name__)
    once = ProcessOnce(MemoryIdempotencyStore())

    @app.post("/webhooks")
    @verify_webhook(hookseal.Webhook(SECRET), once=once)
    async def webhooks(event: dict[str, Any]) -> Any:
        return {"received": event["id"]}

    body = event_body("evt_fa")
    client = app.test_client()
    assert client.post("/webhooks", data=body, headers=signed(body)).get_json() == \
        {"received": "evt_fa"}
    assert client.post("/webhooks", data=body, headers=signed(body)).get_json()["status"] == \
        "duplicate"


def test_typed_passes_the_generated_model() -> None:
    models = pytest.importorskip("hookseal.models", reason="needs hookseal[models]")
    app = flask.Flask(__name__)

    @app.post("/webhooks")
    @verify_webhook(hookseal.Webhook(SECRET), typed=True)
    def webhooks(event: Any) -> Any:
        assert isinstance(event, models.EventBase)
        return {"type": event.type}

    body = b'{"id":"evt_typed0001","type":"test.ping","version":1,"created":1,"livemode":false,' \
           b'"data":{"message":"hi","endpoint_id":"ep_1"}}'
    r = app.test_client().post("/webhooks", data=body, headers=signed(body))
    assert r.status_code == 200 and r.get_json() == {"type": "test.ping"}


class _Parsed:
    def __init__(self, envelope: dict[str, Any]) -> None:
        if "data" not in envelope:
            raise ValueError("no data")  # as pydantic's ValidationError (a ValueError)
        self.type = envelope["type"]


@pytest.mark.parametrize(
    "typed",
    [_Parsed, types.SimpleNamespace(parse_event=_Parsed)],
    ids=["callable", "generated package"],
)
def test_typed_takes_a_callable_or_a_generated_models_package(typed: Any) -> None:
    # The same forms as Webhook.construct_event(typed=...): not only True.
    app = flask.Flask(__name__)

    @app.post("/webhooks")
    @verify_webhook(hookseal.Webhook(SECRET), typed=typed)
    def webhooks(event: Any) -> Any:
        assert isinstance(event, _Parsed)
        return {"type": event.type}

    body = event_body("evt_t", "invoice.paid")
    r = app.test_client().post("/webhooks", data=body, headers=signed(body))
    assert r.status_code == 200 and r.get_json() == {"type": "invoice.paid"}
    bare = b'{"id":"evt_n","type":"test.ping"}'  # verified, but the parser refuses it
    r = app.test_client().post("/webhooks", data=bare, headers=signed(bare))
    assert_problem(r.status_code, r.headers["Content-Type"], r.get_json(), 400, "invalid_payload")
