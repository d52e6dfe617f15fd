"""The checks of an endpoint's subscription options (contract 4.2-4.5), in one table.

``versions`` (:mod:`.versioning`), ``filter`` (:mod:`.filters`), ``headers``
(:mod:`.custom_headers`), ``redact`` (:mod:`.redaction`), ``rate_limit``, ``batch`` and
``ordering`` are each checked by one function of :data:`OPTION_CHECKS`, which takes the
value and the endpoint's other settings (:class:`OptionContext`: some options depend on
them, such as the header names the profile reserves, or the fields required in the event
types it takes) and returns the value as stored, or raises the option's own
:class:`~hookseal_sender.InvalidRequestError` subclass (its ``.code`` is the adapter's
``invalid_filter``, ``invalid_batch``, ...). A value of the wrong JSON type is a plain
``invalid_request``, as for every field. ``None`` always means "not set".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .catalog import SenderCatalog
from .custom_headers import check_headers
from .errors import (
    InvalidBatchError,
    InvalidOrderingError,
    InvalidRateLimitError,
    InvalidRequestError,
)
from .filters import check_filter
from .redaction import check_redact
from .versioning import check_versions

__all__ = ["BATCH_DEFAULTS", "MAX_BATCH_EVENTS", "OPTION_CHECKS", "OPTION_FIELDS",
           "ORDERING_MODES", "OptionContext", "check_options"]

#: The options, in the order they are checked.
OPTION_FIELDS = ("versions", "filter", "headers", "redact", "rate_limit", "batch", "ordering")
#: The ordering modes (contract 4.5).
ORDERING_MODES = ("per_key",)
#: Most events in one batch (contract 4.4).
MAX_BATCH_EVENTS = 1000
#: Each batch threshold's default.
BATCH_DEFAULTS: Mapping[str, float] = {"max_events": 100, "max_bytes": 1 << 20, "max_wait": 30.0}


@dataclass(frozen=True)
class OptionContext:
    """The endpoint's other settings, as they will be stored, that options depend on.

    Attributes:
        event_types: Subscribed event types, or ``None`` for all.
        profile: The signature profile.
        header_prefix: The ``hookseal-v1`` header prefix.
        catalog: The sender's event catalog (:class:`~hookseal_sender.catalog.SenderCatalog`;
            ``None``: the sample), which pinned versions are checked against.
    """

    event_types: Optional[list[str]]
    profile: str
    header_prefix: str
    catalog: Optional[SenderCatalog] = None


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRequestError(f"{name} must be a JSON object or null")
    return value




def check_rate_limit(value: Any, context: OptionContext) -> Optional[float]:
    """Deliveries per second: a finite number above 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequestError("rate_limit must be a number of deliveries per second or null")
    if not math.isfinite(value) or value <= 0:
        raise InvalidRateLimitError(
            f"rate_limit must be a finite number of deliveries per second above 0, not {value!r}")
    return float(value)


def check_batch(value: Any, context: OptionContext) -> Optional[dict[str, float]]:
    """Batch thresholds, each optional: ``max_events`` (1 to :data:`MAX_BATCH_EVENTS`),
    ``max_bytes`` (an integer above 0) and ``max_wait`` (seconds above 0); the ones left out
    get :data:`BATCH_DEFAULTS`."""
    if value is None:
        return None
    given = _object(value, "batch")
    unknown = set(given) - set(BATCH_DEFAULTS)
    if unknown:
        raise InvalidBatchError(f"unknown batch setting {sorted(unknown)[0]!r}: the settings are "
                                + ", ".join(BATCH_DEFAULTS))
    batch = {**BATCH_DEFAULTS, **given}
    for name, v in batch.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InvalidRequestError(f"batch.{name} must be a number")
        if not math.isfinite(v) or v <= 0:
            raise InvalidBatchError(f"batch.{name} must be a finite number above 0, not {v!r}")
    for name in ("max_events", "max_bytes"):
        if batch[name] != int(batch[name]):
            raise InvalidBatchError(f"batch.{name} must be a whole number, not {batch[name]!r}")
        batch[name] = int(batch[name])
    if batch["max_events"] > MAX_BATCH_EVENTS:
        raise InvalidBatchError(f"batch.max_events must be at most {MAX_BATCH_EVENTS}, "
                                f"not {batch['max_events']!r}")
    batch["max_wait"] = float(batch["max_wait"])
    return batch


def check_ordering(value: Any, context: OptionContext) -> Optional[str]:
    """The ordering mode: ``None`` (unordered) or one of :data:`ORDERING_MODES`."""
    if value is None:
        return None
    if value not in ORDERING_MODES:
        raise InvalidOrderingError(
            f"ordering must be {' or '.join(map(repr, ORDERING_MODES))} or null, not {value!r}")
    return str(value)


#: The check of each option.
OPTION_CHECKS: dict[str, Callable[[Any, OptionContext], Any]] = {
    "versions": check_versions, "filter": check_filter, "headers": check_headers,
    "redact": check_redact, "rate_limit": check_rate_limit, "batch": check_batch,
    "ordering": check_ordering,
}


def check_options(options: Mapping[str, Any], context: OptionContext) -> dict[str, Any]:
    """Check the options given, in :data:`OPTION_FIELDS` order, before anything is written.

    Args:
        options: Some of :data:`OPTION_FIELDS` and their values (others are ignored).
        context: The endpoint's other settings, as they will be stored.

    Returns:
        The options given, as they are stored.

    Raises:
        InvalidRequestError: An option is invalid (the subclass names which).
    """
    return {name: OPTION_CHECKS[name](options[name], context)
            for name in OPTION_FIELDS if name in options}
