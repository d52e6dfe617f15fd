"""Event versions pinned per endpoint (contract 4.2): which pins are accepted, which
version an endpoint gets on a day, and what changes when it moves up.

An endpoint's ``versions`` maps an event type to a major version (``{"payment.failed":
1}``); a type it does not pin gets the current version. A pin is accepted when the
sender's catalog (:mod:`hookseal_sender.catalog`) has the type and serves the version
today (:func:`hookseal_catalog.lifecycle.served_versions`: released, or deprecated and
not past its sunset). Past its sunset a pinned endpoint gets the oldest version still
served (:func:`version_for`), and the sunset job (:mod:`hookseal_sender.sunsets`) moves
the stored pin there and records it in the audit log.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from .errors import InvalidRequestError, InvalidVersionError

if TYPE_CHECKING:
    from ._options import OptionContext
    from .catalog import SenderCatalog

__all__ = ["PinInfo", "check_versions", "pin_info", "utc_day", "version_for"]


def utc_day(now: float) -> _dt.date:
    """The UTC calendar day of a Unix time (sunsets are UTC dates).

    Args:
        now: Unix time.

    Returns:
        The date.
    """
    return _dt.datetime.fromtimestamp(now, _dt.timezone.utc).date()


def _today() -> _dt.date:
    return _dt.datetime.now(_dt.timezone.utc).date()


def check_pins(catalog: SenderCatalog, pins: dict[str, Any],
               on: Optional[_dt.date] = None) -> dict[str, int]:
    """Check pins against a catalog: each type known, each version served on ``on``.

    Args:
        catalog: The sender's catalog.
        pins: Event type to major version.
        on: The day (default: today, UTC).

    Returns:
        The pins, as stored.

    Raises:
        InvalidRequestError: A version is not an integer.
        InvalidVersionError: A type the catalog does not have, or a version it does not
            serve (the message names the versions it serves).
    """
    from hookseal_catalog.lifecycle import served_versions

    out: dict[str, int] = {}
    for event_type, version in pins.items():
        if isinstance(version, bool) or not isinstance(version, int):
            raise InvalidRequestError(
                f"versions[{event_type!r}] must be a major version number (1, 2, ...)")
        if not catalog.knows(event_type):
            raise InvalidVersionError(
                f"versions: the event catalog has no event type {event_type!r}")
        served = served_versions(catalog.catalog, event_type, on or _today())
        if version not in served:
            listed = ", ".join(str(v) for v in served)
            raise InvalidVersionError(
                f"versions[{event_type!r}]: version {version} is not served; the versions "
                f"served are {listed}")
        out[event_type] = version
    return out


def check_versions(value: Any, context: OptionContext) -> Optional[dict[str, int]]:
    """The ``versions`` option's check (:data:`hookseal_sender._options.OPTION_CHECKS`):
    an object from event type to a major version the sender's catalog serves today.

    Args:
        value: The option's value (``None``: not pinned).
        context: The endpoint's settings; its ``catalog`` is the sender's.

    Returns:
        The pins as stored, or ``None``.

    Raises:
        InvalidRequestError: Not an object, or a version not an integer.
        InvalidVersionError: A type or version the catalog does not serve.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidRequestError("versions must be a JSON object or null")
    if context.catalog is None:
        from .catalog import sender_catalog

        return check_pins(sender_catalog(), value)
    return check_pins(context.catalog, value)


def version_for(catalog: SenderCatalog, event_type: str, pins: Optional[dict[str, int]],
                on: _dt.date) -> Optional[int]:
    """The version an endpoint with these pins gets of ``event_type`` on ``on``.

    Args:
        catalog: The sender's catalog.
        event_type: The event's type.
        pins: The endpoint's ``versions``.
        on: The day (UTC).

    Returns:
        The pinned version while it is served, after its sunset the oldest version still
        served; ``None`` when the type is not pinned or the catalog does not have it
        (the event goes as enqueued).
    """
    pinned = pins.get(event_type) if pins else None
    if pinned is None or not catalog.knows(event_type):
        return None
    from hookseal_catalog.lifecycle import version_to_send

    return version_to_send(catalog.catalog, event_type, pinned, on)


@dataclass(frozen=True)
class PinInfo:
    """One pin as the portal shows it.

    Attributes:
        event_type: The type.
        version: The pinned version.
        current: The current version.
        status: The pinned version's status (``released``, ``deprecated``).
        sunset: Its last day served (ISO date), if it has one.
        days_left: Days from today to the sunset, if it has one.
        changes: What changes on moving to the next version: the catalog's changelog of
            the newer versions and their derivation steps, read backwards.
        moves_to: The version the endpoint gets after the sunset (the next one), if the
            pinned one is not the current.
    """

    event_type: str
    version: int
    current: int
    status: str
    sunset: Optional[str]
    days_left: Optional[int]
    changes: list[str]
    moves_to: Optional[int] = None


def _step_change(step: Any) -> str:
    """A derivation step (newer to older) said as what the newer version changed."""
    op = step.get("op") if isinstance(step, dict) else None
    if op == "remove":
        return f"adds {step.get('path')}"
    if op == "move":
        return f"moves {step.get('path')} to {step.get('from')}"
    if op == "copy":
        return f"has {step.get('from')} (also at {step.get('path')} before)"
    if op == "default":
        return f"may leave out {step.get('path')} (before: {step.get('value')!r} when absent)"
    if op == "function":
        return f"changes what the derivation function {step.get('name')!r} undoes"
    return f"changes: {step!r}"


def pin_info(catalog: SenderCatalog, pins: Optional[dict[str, int]],
             on: Optional[_dt.date] = None) -> list[PinInfo]:
    """Each pin of an endpoint with its sunset and what changes on upgrade.

    Args:
        catalog: The sender's catalog.
        pins: The endpoint's ``versions``.
        on: The day (default: today, UTC).

    Returns:
        One entry per pinned type the catalog has, by type.
    """
    from hookseal_catalog.lifecycle import lifecycle

    day = on or _today()
    out = []
    for event_type, version in sorted((pins or {}).items()):
        if not catalog.knows(event_type):
            continue
        etype = catalog.catalog.event(event_type)
        current = etype.current.version
        life = {lc.version: lc for lc in lifecycle(catalog.catalog, event_type)}
        lc = life.get(version)
        changes: list[str] = []
        for ev in sorted(etype, key=lambda v: v.version):
            if version < ev.version <= current:
                changes += [f"v{ev.version}: {entry.change}" for entry in ev.changelog]
                older = [v for v in etype if v.version < ev.version]
                below = max(older, key=lambda v: v.version) if older else None
                steps = (below.derivation or {}).get("steps", []) if below else []
                changes += [f"v{ev.version} {_step_change(s)}" for s in steps]
        newer = [v for v in life if v > version]
        out.append(PinInfo(event_type, version, current, lc.status if lc else "unknown",
                           lc.sunset.isoformat() if lc and lc.sunset else None,
                           lc.days_to_sunset(day) if lc else None, changes,
                           min(newer) if newer else None))
    return out
