"""FastAPI helpers (``pip install 'hookseal[fastapi]'``): a dependency yielding the verified event.

Examples:
    >>> from fastapi import Depends, FastAPI
    >>> from hookseal.integrations.fastapi import VerifiedEvent, install
    >>> app = FastAPI()
    >>> install(app)  # rejections answered as application/problem+json
    >>> verified = VerifiedEvent(hookseal.Webhook(secret))  # doctest: +SKIP
    >>> @app.post("/webhooks")
    ... async def webhooks(event: dict = Depends(verified)) -> dict:  # doctest: +SKIP
    ...     return {"received": event["id"]}

FastAPI is built on Starlette, so this module re-exports
:mod:`hookseal.integrations.starlette`.
"""

from __future__ import annotations

from .starlette import HooksealReply, VerifiedEvent, install, reply_handler, webhook_endpoint

__all__ = ["HooksealReply", "VerifiedEvent", "install", "reply_handler", "webhook_endpoint"]
