"""Which versions of an event type are served on a given day (contract 4.2).

An event version is **served** on a day when it is ``released``, or ``deprecated`` and
that day is not after its ``sunset`` (the sunset day itself is the last day served). The
current version (:attr:`hookseal_catalog.EventType.current`) is always served, so every
event type has at least one. ``draft`` versions are never sent to customers.

This module is what a sender asks when it resolves an endpoint's pin::

    from hookseal_catalog import load_catalog
    from hookseal_catalog.lifecycle import served_versions, oldest_served_version, version_to_send

    catalog = load_catalog()
    served_versions(catalog, "payment.failed", on=date(2027, 1, 1))       # [1, 2]
    oldest_served_version(catalog, "payment.failed", on=date(2027, 6, 1))  # 2 (v1's sunset passed)
    version_to_send(catalog, "payment.failed", pinned=1, on=date(2027, 6, 1))  # 2

Dates are UTC calendar dates; ``on=None`` means today (UTC).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Optional

from .catalog import Catalog, EventVersion

__all__ = [
    "VersionLifecycle",
    "is_served",
    "lifecycle",
    "oldest_served_version",
    "served_versions",
    "version_to_send",
]


def _today(on: Optional[_dt.date]) -> _dt.date:
    return on if on is not None else _dt.datetime.now(_dt.timezone.utc).date()


def _date(text: Optional[str]) -> Optional[_dt.date]:
    try:
        return _dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class VersionLifecycle:
    """The lifecycle of one event version, with parsed dates.

    Attributes:
        type: The event type.
        version: The major version.
        status: ``draft``, ``released`` or ``deprecated``.
        is_current: Whether it is the version sent to unpinned endpoints.
        released: When it was released, or None.
        deprecated: When it was deprecated, or None.
        sunset: The last day it is served (deprecated versions only), or None.
    """

    type: str
    version: int
    status: str
    is_current: bool
    released: Optional[_dt.date]
    deprecated: Optional[_dt.date]
    sunset: Optional[_dt.date]

    def served(self, on: Optional[_dt.date] = None) -> bool:
        """Whether this version is served on ``on`` (default: today, UTC)."""
        if self.is_current:
            return True
        if self.status == "released":
            return True
        if self.status == "deprecated":
            return self.sunset is None or _today(on) <= self.sunset
        return False

    def days_to_sunset(self, on: Optional[_dt.date] = None) -> Optional[int]:
        """Days from ``on`` to the sunset (0 on the sunset day, negative after), or None."""
        return None if self.sunset is None else (self.sunset - _today(on)).days


def _of(catalog: Catalog, ev: EventVersion) -> VersionLifecycle:
    return VersionLifecycle(
        type=ev.type,
        version=ev.version,
        status=ev.status,
        is_current=ev.version == catalog.event(ev.type).current.version,
        released=_date(ev.released),
        deprecated=_date(ev.deprecated),
        sunset=_date(ev.sunset),
    )


def lifecycle(catalog: Catalog, event_type: str) -> list[VersionLifecycle]:
    """The lifecycle of every version of ``event_type``, ascending.

    Raises:
        UnknownEventError: no such event type.
    """
    return [_of(catalog, ev) for ev in catalog.event(event_type)]


def is_served(catalog: Catalog, event_type: str, version: int, on: Optional[_dt.date] = None) -> bool:
    """Whether ``version`` of ``event_type`` is served on ``on`` (default: today, UTC).

    Raises:
        UnknownEventError: no such event type or version.
    """
    return _of(catalog, catalog.get(event_type, version)).served(on)


def served_versions(catalog: Catalog, event_type: str, on: Optional[_dt.date] = None) -> list[int]:
    """The versions of ``event_type`` served on ``on``, ascending (never empty)."""
    return [v.version for v in lifecycle(catalog, event_type) if v.served(on)]


def oldest_served_version(catalog: Catalog, event_type: str, on: Optional[_dt.date] = None) -> int:
    """The oldest version of ``event_type`` served on ``on``: where an endpoint pinned to a
    version past its sunset moves (contract 4.2)."""
    return served_versions(catalog, event_type, on)[0]


def version_to_send(
    catalog: Catalog, event_type: str, pinned: Optional[int] = None, on: Optional[_dt.date] = None
) -> int:
    """The version an endpoint receives on ``on``: the current one when it is not pinned
    (``pinned=None``), the pinned one while it is served, and after its sunset the oldest
    version still served that is newer than the pin.

    Raises:
        UnknownEventError: no such event type, or the pinned version is not in the catalog.
    """
    etype = catalog.event(event_type)
    if pinned is None:
        return etype.current.version
    if pinned not in etype.versions:
        # A version removed from the catalog after its sunset: move on as after a sunset.
        newer = [v for v in served_versions(catalog, event_type, on) if v > pinned]
        if isinstance(pinned, int) and not isinstance(pinned, bool) and newer and pinned > 0:
            return newer[0]
        catalog.get(event_type, pinned)  # raises UnknownEventError
    if is_served(catalog, event_type, pinned, on):
        return pinned
    newer = [v for v in served_versions(catalog, event_type, on) if v > pinned]
    return newer[0] if newer else etype.current.version
