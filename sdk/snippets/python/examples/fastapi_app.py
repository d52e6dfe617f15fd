"""FastAPI: verify the raw body bytes, then parse them.

Run: ``uvicorn fastapi_app:app`` with hookseal_verify.py next to this file.
"""

from __future__ import annotations

import json
import os

from fastapi import FastAPI, Request, Response
from hookseal_verify import WebhookVerificationError, verify_hookseal_v1

app = FastAPI()
SECRET = os.environ.get("HOOKSEAL_SECRET", "whsec_test")


# --8<-- [start:call]
@app.post("/webhooks")
async def webhooks(request: Request) -> Response:
    """RIGHT: verify ``await request.body()``, the bytes exactly as they arrived."""
    body = await request.body()
    try:
        verify_hookseal_v1(body, request.headers, SECRET)
    except WebhookVerificationError as err:
        return Response(err.code, status_code=400)
    event = json.loads(body)  # only now is the body trusted
    return Response(f"got {event['type']}", status_code=200)
# --8<-- [end:call]


@app.post("/webhooks-wrong")
async def webhooks_wrong(event: dict[str, object], request: Request) -> Response:
    """WRONG, do not copy: FastAPI parsed the body into ``event`` and we re-serialize it.

    ``json.dumps`` rewrites spacing, key order and escapes, so its bytes are not the
    signed bytes: genuine deliveries get rejected (or, worse, someone "fixes" that by
    skipping verification).
    """
    try:
        verify_hookseal_v1(json.dumps(event).encode(), request.headers, SECRET)
    except WebhookVerificationError as err:
        return Response(err.code, status_code=400)
    return Response("ok", status_code=200)
