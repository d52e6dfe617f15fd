"""Framework-neutral core of the integrations: verify, map errors to problems, gate on ids."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Union

from .._typed import Typed, parser_for
from ..errors import ERROR_FACTS, InvalidPayloadError, WebhookVerificationError
from ..idempotency import Claim, ClaimState, ProcessOnce
from ..profiles import DEFAULT_HEADER_PREFIX, HOOKSEAL_V1, STANDARD_WEBHOOKS

if TYPE_CHECKING:
    from ..webhook import Webhook

PROBLEM_CONTENT_TYPE = "application/problem+json"

STATUS_FOR_CODE: dict[str, int] = {
    code: facts.status
    for code, facts in ERROR_FACTS.items()
    if facts.error is not None and facts.status is not None
}
"""The HTTP status each rejection code is answered with (from :data:`hookseal.errors.ERROR_FACTS`)."""

DEFAULT_MAX_BODY = 5 * 1024 * 1024
"""Largest body (bytes) the ASGI/WSGI middleware read before answering 413."""


@dataclass(frozen=True)
class Reply:
    """A response the integration sends instead of running the handler.

    Attributes:
        status: HTTP status code.
        payload: The JSON body.
        content_type: ``application/problem+json`` for problems, else ``application/json``.
        headers: Extra response headers (e.g. ``Retry-After``).
    """

    status: int
    payload: dict[str, Any]
    content_type: str = PROBLEM_CONTENT_TYPE
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> bytes:
        """Return the JSON body as bytes."""
        return json.dumps(self.payload, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Admission:
    """A verified delivery that the handler should process.

    Attributes:
        event: The verified, parsed event (a ``dict``, or a pydantic model when typed).
        delivery_id: The delivery id, if one was found.
        claim: The idempotency claim to complete or release (``None`` without ``once``).
    """

    event: Any
    delivery_id: Optional[str]
    claim: Optional[Claim] = None


def problem(code: str, detail: str, headers: Optional[dict[str, str]] = None) -> Reply:
    """Build an RFC 9457 problem reply carrying ``code``, with its status and title.

    Raises:
        KeyError: ``code`` is not in :data:`hookseal.errors.ERROR_FACTS` (add it there).
    """
    facts = ERROR_FACTS[code]
    status = facts.status if facts.status is not None else 500
    payload = {
        "type": f"urn:hookseal:problem:{code}",
        "title": facts.title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    return Reply(status, payload, PROBLEM_CONTENT_TYPE, dict(headers or {}))


def _header_pairs(headers: Any) -> Iterable[tuple[Any, Any]]:
    items = getattr(headers, "items", None)
    pairs: Iterable[Any] = items() if items is not None else headers
    return pairs


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return str(value)


def delivery_id(webhook: Webhook, event: dict[str, Any], headers: Any) -> Optional[str]:
    """Return the id to deduplicate on: the verified body's ``id``, else the id header.

    The envelope's ``id`` is signed in both profiles and is the same on every attempt
    and every replay (contract 2.1 and the catalog's envelope), so it is preferred; the
    ``<prefix>-Webhook-Id`` (``hookseal-v1``, not signed) or ``webhook-id``
    (``standard-webhooks``) header is the fallback for bodies without one.
    """
    body_id = event.get("id")
    if isinstance(body_id, str) and body_id:
        return body_id
    profile = getattr(webhook, "profile", HOOKSEAL_V1)
    prefix = str(getattr(webhook, "header_prefix", DEFAULT_HEADER_PREFIX))
    wanted = "webhook-id" if profile == STANDARD_WEBHOOKS else f"{prefix}-webhook-id".lower()
    for name, value in _header_pairs(headers):
        if _text(name).lower() == wanted and value:
            return _text(value)
    return None


def admit(
    webhook: Webhook,
    body: bytes,
    headers: Any,
    once: Optional[ProcessOnce] = None,
    *,
    typed: Typed = False,
) -> Union[Admission, Reply]:
    """Verify a delivery and, with ``once``, claim its id.

    With ``typed``, the event is parsed into its generated pydantic model: ``True`` for
    ``hookseal.models`` (needs ``hookseal[models]``), a provider's generated models
    package or a callable (see ``Webhook.construct_event``); a body that does not fit is
    answered 400 ``invalid_payload``.

    Returns:
        An :class:`Admission` when the handler must run, else the :class:`Reply` to send:
        a 400/401 problem, 200 for an already processed id, or 503 with ``Retry-After``
        while another worker holds the id.
    """
    try:
        event = webhook.construct_event(body, headers)
    except (WebhookVerificationError, InvalidPayloadError) as err:
        return problem(err.code, str(err))
    did = delivery_id(webhook, event, headers)
    if typed:
        try:
            event = parser_for(typed)(event)
        except ValueError as err:  # pydantic's ValidationError is a ValueError
            return problem("invalid_payload", f"the event does not fit its model: {err}")
    if once is None:
        return Admission(event, did)
    if not did:
        return problem(
            "missing_delivery_id", "the delivery has no id to deduplicate on"
        )
    claim = once.claim(did)
    if claim.state is ClaimState.COMPLETED:
        return Reply(200, {"status": "duplicate", "delivery_id": did}, "application/json")
    if claim.state is ClaimState.IN_PROGRESS:
        retry_after = str(claim.retry_after or 1)
        return problem(
            "delivery_in_progress",
            f"delivery {did} is being processed by another worker; retry later",
            {"Retry-After": retry_after},
        )
    return Admission(event, did, claim)


def finish(once: Optional[ProcessOnce], admission: Admission, succeeded: bool) -> None:
    """Complete the claim after a 2xx, release it otherwise (so a retry runs at once)."""
    if once is None or admission.claim is None:
        return
    if succeeded:
        once.complete(admission.claim)
    else:
        once.release(admission.claim)


def is_success(status: int) -> bool:
    """Return True for a 2xx status, the only outcome that completes a claim."""
    return 200 <= status < 300


def path_set(paths: Optional[Union[str, Iterable[str]]]) -> Optional[frozenset[str]]:
    """Normalise a middleware's ``paths`` option (``None`` means every path)."""
    if paths is None:
        return None
    return frozenset([paths] if isinstance(paths, str) else paths)
