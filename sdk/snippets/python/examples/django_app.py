"""Django: verify ``request.body`` (bytes) in a CSRF-exempt view.

A single-file project for the example; in your project only the two views and the URL
patterns matter (hookseal_verify.py copied into your app).
"""

from __future__ import annotations

import json
import os

from django.conf import settings

if not settings.configured:  # a real project has settings.py instead
    settings.configure(
        ROOT_URLCONF=__name__,
        SECRET_KEY="example-only",  # noqa: S106 - Django insists on one; unused here
        ALLOWED_HOSTS=["testserver"],
        MIDDLEWARE=[],
    )

import django

django.setup()

from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from django.views.decorators.http import require_POST  # noqa: E402
from hookseal_verify import WebhookVerificationError, verify_hookseal_v1  # noqa: E402

SECRET = os.environ.get("HOOKSEAL_SECRET", "whsec_test")


@csrf_exempt  # the signature authenticates the sender; there is no browser session
@require_POST
def webhooks(request: HttpRequest) -> HttpResponse:
    """RIGHT: ``request.body`` is the raw bytes; ``request.headers`` is case-insensitive."""
    try:
        verify_hookseal_v1(request.body, request.headers, SECRET)
    except WebhookVerificationError as err:
        return HttpResponse(err.code, status=400)
    event = json.loads(request.body)
    return HttpResponse(f"got {event['type']}")


@csrf_exempt
@require_POST
def webhooks_wrong(request: HttpRequest) -> HttpResponse:
    """WRONG, do not copy: parsing then ``json.dumps`` changes the bytes that were signed."""
    event = json.loads(request.body)
    try:
        verify_hookseal_v1(json.dumps(event).encode(), request.headers, SECRET)
    except WebhookVerificationError as err:
        return HttpResponse(err.code, status=400)
    return HttpResponse("ok")


urlpatterns = [path("webhooks", webhooks), path("webhooks-wrong", webhooks_wrong)]
