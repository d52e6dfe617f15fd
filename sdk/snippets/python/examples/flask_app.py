"""Flask: verify ``request.get_data()``, the raw body, before touching ``request.json``.

Run: ``flask --app flask_app run`` with hookseal_verify.py next to this file.
"""

from __future__ import annotations

import json
import os

from flask import Flask, request
from hookseal_verify import WebhookVerificationError, verify_hookseal_v1

app = Flask(__name__)
SECRET = os.environ.get("HOOKSEAL_SECRET", "whsec_test")


@app.post("/webhooks")
def webhooks() -> tuple[str, int]:
    """RIGHT: the raw bytes (``cache=True`` keeps them for ``request.get_json()`` later)."""
    body = request.get_data(cache=True)
    try:
        verify_hookseal_v1(body, request.headers, SECRET)
    except WebhookVerificationError as err:
        return err.code, 400
    event = json.loads(body)
    return f"got {event['type']}", 200


@app.post("/webhooks-wrong")
def webhooks_wrong() -> tuple[str, int]:
    """WRONG, do not copy: ``json.dumps(request.json)`` is not the body that was signed."""
    try:
        verify_hookseal_v1(json.dumps(request.json).encode(), request.headers, SECRET)
    except WebhookVerificationError as err:
        return err.code, 400
    return "ok", 200
