"""Tests for hookseal.integrations.django with Django's test client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hookseal
import pytest
from hookseal.idempotency import MemoryIdempotencyStore, ProcessOnce
from receiving_fixtures import SECRET, assert_problem, event_body, rejection_cases, signed

django = pytest.importorskip("django", reason="needs hookseal[django]")
from django.conf import settings  # noqa: E402

if not settings.configured:
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF=__name__,
        SECRET_KEY="test-only",
        MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
        INSTALLED_APPS=[],
    )
    django.setup()

from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from hookseal.integrations.django import verify_webhook  # noqa: E402

SEEN: list[Any] = []
ONCE = ProcessOnce(MemoryIdempotencyStore())


@verify_webhook(hookseal.Webhook(SECRET))
def webhooks(request: HttpRequest, event: dict[str, Any]) -> HttpResponse:
    SEEN.append(event["id"])
    assert request.hookseal_event is event  # type: ignore[attr-defined]
    return JsonResponse({"received": event["id"]})


@verify_webhook(hookseal.Webhook(SECRET), once=ONCE)
def webhooks_once(request: HttpRequest, event: dict[str, Any], tenant: str) -> HttpResponse:
    SEEN.append((tenant, event["id"]))
    if tenant == "failing":
        return JsonResponse({"error": "later"}, status=500)
    return JsonResponse({"received": event["id"]})


@verify_webhook(hookseal.Webhook(SECRET), once=ONCE)
async def webhooks_async(request: HttpRequest, event: dict[str, Any]) -> HttpResponse:
    SEEN.append(("async", event["id"]))
    return JsonResponse({"received": event["id"]})


urlpatterns = [
    path("webhooks", webhooks),
    path("once/<str:tenant>", webhooks_once),
    path("async", webhooks_async),
]


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    SEEN.clear()
    # Another test module may have configured Django first: route to this module anyway.
    with override_settings(ROOT_URLCONF=__name__):
        yield


def client() -> Client:
    # enforce_csrf_checks proves the decorator exempts the view from CSRF.
    return Client(enforce_csrf_checks=True)


def post(c: Client, url: str, body: bytes, headers: dict[str, str]) -> Any:
    extra = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    return c.post(url, data=body, content_type="application/json", headers=extra)


def test_verified_event_reaches_the_view() -> None:
    body = event_body()
    r = post(client(), "/webhooks", body, signed(body))
    assert r.status_code == 200 and r.json() == {"received": "evt_1"}
    assert SEEN == ["evt_1"]


@pytest.mark.parametrize("case", rejection_cases(), ids=lambda c: c[0])
def test_rejections_answer_a_problem_and_never_run_the_view(case: Any) -> None:
    _, body, headers, status, code = case
    r = post(client(), "/webhooks", body, headers)
    assert_problem(r.status_code, r["Content-Type"], r.json(), status, code)
    assert SEEN == []


def test_once_runs_once_and_releases_after_a_non_2xx() -> None:
    body = event_body("evt_dj")
    c = client()
    assert post(c, "/once/ok", body, signed(body, msg_id="evt_dj")).status_code == 200
    dup = post(c, "/once/ok", body, signed(body, msg_id="evt_dj"))
    assert dup.status_code == 200 and dup.json()["status"] == "duplicate"
    body2 = event_body("evt_dj_fail")
    assert post(c, "/once/failing", body2, signed(body2)).status_code == 500
    assert post(c, "/once/failing", body2, signed(body2)).status_code == 500
    assert SEEN == [("ok", "evt_dj"), ("failing", "evt_dj_fail"), ("failing", "evt_dj_fail")]


def test_async_view_with_once() -> None:
    body = event_body("evt_async")
    c = client()
    assert post(c, "/async", body, signed(body)).status_code == 200
    dup = post(c, "/async", body, signed(body))
    assert dup.status_code == 200 and dup.json()["status"] == "duplicate"
    bad = post(c, "/async", body, {})
    assert bad.status_code == 400 and bad.json()["code"] == "missing_header"
    assert SEEN == [("async", "evt_async")]
