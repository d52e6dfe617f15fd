"""Typed pydantic v2 models of Hookseal event payloads (``pip install hookseal[models]``).

The models are generated from the event catalog (``make generate``); this module adds
:func:`parse_event`, which ``Webhook.construct_event(..., typed=True)`` calls::

    from hookseal.models import InvoicePaidV1Event, parse_event

    event = parse_event(envelope)          # envelope: the verified body, a dict
    if isinstance(event, InvoicePaidV1Event):
        grant_access(event.data.invoice.customer_id, until=event.data.invoice.period_end)

Every typed event class is named ``<Type>V<major>Event`` (``invoice.paid`` v1 is
``InvoicePaidV1Event``) and derives from :class:`EventBase`, which holds the envelope's
fields (``id``, ``type``, ``version``, ``created``, ``livemode``); its ``data`` is the
``<Type>V<major>Data`` model. Amounts are integers in the currency's minor unit beside an
ISO 4217 code (:class:`Money`); timestamps are integer Unix seconds.

Compatibility: models accept and keep fields they do not know (``extra="allow"``), since a
provider may add fields within a version; ``model_dump(mode="json", exclude_unset=True)``
gives back exactly the payload that was parsed. An enum value added by a newer catalog,
however, fails validation until the SDK is updated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

try:
    import pydantic  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without the extra only
    raise ImportError("hookseal.models needs pydantic: pip install 'hookseal[models]'") from exc

from ._events import *  # noqa: F403
from ._events import EVENT_MODELS, EventBase, UnknownEvent
from ._generated import *  # noqa: F403

__all__ = ["EVENT_MODELS", "EventBase", "UnknownEvent", "model_for", "parse_event"]


def model_for(event_type: str, version: int) -> Optional[type[EventBase]]:
    """The typed event class for ``(event_type, version)``, or None if this SDK lacks it."""
    if isinstance(version, bool) or not isinstance(version, int) or not isinstance(event_type, str):
        return None
    return EVENT_MODELS.get((event_type, version))


def parse_event(envelope: Mapping[str, Any]) -> EventBase:
    """Parse a verified webhook body (a decoded JSON object) into a typed event model.

    Returns the ``<Type>V<major>Event`` model for the envelope's ``type`` and ``version``
    when this SDK knows them, and an :class:`UnknownEvent` (the envelope with an untyped
    ``data`` dict) for any other type or version: an unknown event is never an error.

    Validation is strict (no coercion: ``"5"`` is not an integer, ``1`` is not ``true``).

    Raises:
        pydantic.ValidationError: the body is not a Hookseal envelope (a required envelope
            field is missing or of the wrong type), or its ``data`` does not match the
            schema of a known type and version. The error's ``loc`` tuples locate each
            offending value, e.g. ``('data', 'invoice', 'total', 'amount')``.
        TypeError: ``envelope`` is not a mapping.
    """
    if not isinstance(envelope, Mapping):
        raise TypeError(f"parse_event expects the decoded JSON object (a mapping), not {type(envelope).__name__}")
    model = model_for(envelope.get("type"), envelope.get("version"))  # type: ignore[arg-type]
    if model is None:
        return UnknownEvent.model_validate(dict(envelope), strict=True)
    return model.model_validate(dict(envelope), strict=True)
