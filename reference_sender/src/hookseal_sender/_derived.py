"""The body each endpoint gets of an event: the enqueued one, or its pinned version's.

The provider sends the current version's data once and the outbox stores that one body.
An endpoint pinned to an older version gets, when the attempt is made, the data derived
by the catalog (:func:`hookseal_catalog.derive`, which validates every step down against
that version's schema), in an envelope with the same ``id``, ``created`` and
``livemode`` and the pinned ``version``. Deriving at send time costs enqueue nothing (an
unpinned endpoint's body is the stored text, untouched), and the result is kept per
event and version for the other endpoints pinned to it and for retries (see
BENCHMARKS.md, "Pinned versions", for the two choices measured).

A derivation that fails, or data it produces that the pinned schema refuses, is a
:class:`DerivationFailedError`: the worker fails that delivery for good, unsent.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Optional, Union

import orjson

from ._health import DERIVATION_FAILED
from .catalog import SenderCatalog
from .errors import SenderError
from .models import Claimed, Endpoint
from .outbox import envelope
from .versioning import utc_day, version_for

__all__ = ["DERIVATION_FAILED", "DerivationFailedError", "VersionedBodies"]

#: Bodies of pinned versions kept (event, version): an event's endpoints and retries.
CACHE_SIZE = 1024


class DerivationFailedError(SenderError):
    """An endpoint's pinned version could not be derived from the event's data, or what
    was derived does not validate against that version's schema."""

    code = DERIVATION_FAILED


class VersionedBodies:
    """Builds the body an endpoint gets of a claimed delivery.

    Args:
        catalog: The sender's catalog.
    """

    def __init__(self, catalog: SenderCatalog) -> None:
        self._catalog = catalog
        self._deriving = catalog.deriving
        # (type, pinned version, UTC day) -> the version sent: once a day per pin.
        self._versions: dict[tuple[str, int, Any], Optional[int]] = {}
        # (event id, version) -> body, or the error message of a failed derivation.
        self._cache: OrderedDict[tuple[str, int], Union[bytes, str]] = OrderedDict()

    def body(self, c: Claimed, endpoint: Endpoint, now: float) -> bytes:
        """The body ``endpoint`` gets of ``c`` at ``now``.

        Args:
            c: The claimed delivery (its ``payload`` is the enqueued envelope).
            endpoint: Its endpoint (``versions`` are its pins).
            now: Unix time of the attempt (a pin past its sunset moves on).

        Returns:
            The JSON body to sign and send.

        Raises:
            DerivationFailedError: The pinned version cannot be derived, or what was
                derived does not validate against its schema.
        """
        pins = endpoint.versions
        if not pins or c.event_type not in pins:
            return c.payload.encode("utf-8")
        day = utc_day(now)
        vkey = (c.event_type, pins[c.event_type], day)
        try:
            version = self._versions[vkey]
        except KeyError:
            try:
                version = version_for(self._catalog, c.event_type, pins, day)
            except Exception as exc:  # the catalog no longer has the pinned version
                raise DerivationFailedError(f"{DERIVATION_FAILED}: {exc}") from None
            if len(self._versions) > CACHE_SIZE:
                self._versions.clear()
            self._versions[vkey] = version
        if version is None:
            return c.payload.encode("utf-8")
        key = (c.event_id, version)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._derive(c.payload, c.event_type, version)
            self._cache[key] = hit
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        if isinstance(hit, str):
            raise DerivationFailedError(hit)
        return hit

    def _derive(self, payload: str, event_type: str, version: int) -> Union[bytes, str]:
        """The body of ``version`` derived from the enqueued envelope, or why not."""
        from hookseal_catalog import derive

        env: dict[str, Any] = orjson.loads(payload)
        sent = env.get("version")
        if sent == version:
            return payload.encode("utf-8")
        try:
            data = derive(self._deriving, event_type, env["data"], version,
                          from_version=sent)
            return envelope(env["id"], event_type, data, env["created"], version=version,
                            livemode=env.get("livemode", True)).encode("utf-8")
        except Exception as exc:  # the catalog's DerivationError & co, or a function's bug
            return f"{DERIVATION_FAILED}: {event_type} v{sent} to v{version}: {exc}"
