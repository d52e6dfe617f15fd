"""The sender's event catalog: one per catalog directory, the one source of what it sends.

A sender reads the catalog its settings name (``catalog``, a directory; by default the
sample shipped in ``hookseal_catalog``). :func:`sender_catalog` loads it once per
directory, refusing one that ``hookseal-catalog lint`` finds errors in, and every part of
the sender asks it: validation at enqueue (:meth:`SenderCatalog.validate`), the event-type
lists of the CLI, API and portal (:meth:`SenderCatalog.event_types`), ``test.ping``, the
pinned versions of endpoints (:mod:`hookseal_sender.versioning`).

The catalog (``hookseal_catalog``) is the authority: its schemas, its versions, its error
messages. For speed, valid data is recognised by a compiled ``jsonschema-rs`` validator of
the same (inlined) schema; anything that validator rejects goes to the catalog's own
validator, whose verdict and message are the ones reported. Enqueue latency is dominated
by validation, and this path is about 20 times faster (see BENCHMARKS.md).
"""

from __future__ import annotations

import datetime as _dt
import functools
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable, Optional, Union

from ._suggest import unknown
from .errors import ConfigError, InvalidPayloadError

__all__ = ["PING_TYPE", "SenderCatalog", "Validator", "event_catalog", "no_validation",
           "ordering_value", "sender_catalog", "validate_event"]

#: A validator: ``(event_type, data) -> schema version``; raises :class:`InvalidPayloadError`.
Validator = Callable[[str, Any], int]

#: Built-in event types the sender itself sends (e.g. by ``endpoints ping``).
PING_TYPE = "test.ping"


class SenderCatalog:
    """One event catalog as the sender uses it: validation and the event types.

    Build it with :func:`sender_catalog` (one per directory, shared by the process).

    Args:
        catalog: The loaded :class:`hookseal_catalog.Catalog`.
    """

    def __init__(self, catalog: Any) -> None:
        #: The :class:`hookseal_catalog.Catalog`.
        self.catalog = catalog
        self._fast: dict[str, tuple[int, Optional[Any]]] = {}
        self._fast_versions: dict[str, Optional[Any]] = {}
        self._ordering_keys: dict[str, Optional[str]] = {}
        self._lock = threading.Lock()

    @property
    def directory(self) -> Optional[Path]:
        """The catalog's directory (``None`` for a catalog built in memory)."""
        root = getattr(self.catalog, "root", None)
        return None if root is None else Path(root)

    def event_types(self) -> list[str]:
        """The event types a provider sends, sorted (``test.ping`` left out: the sender
        sends it itself).

        Returns:
            The type names.
        """
        return sorted(t for t in self.catalog.events if t != PING_TYPE)

    def overview(self, on: Optional[_dt.date] = None) -> list[dict[str, Any]]:
        """Each event type (as :meth:`event_types`) with its current version, the versions
        served on ``on`` and their sunsets: what the CLI (``event-types``) and the admin
        API (``GET /v1/tenants/{tenant}/event-types``) list.

        Args:
            on: The day (default: today, UTC).

        Returns:
            ``{"type", "current", "served", "sunsets"}`` per type; ``sunsets`` maps a
            served version with a sunset to its last day served (ISO date, as a string
            key: JSON's).
        """
        from hookseal_catalog.lifecycle import lifecycle

        out = []
        for event_type in self.event_types():
            served = [lc for lc in lifecycle(self.catalog, event_type) if lc.served(on)]
            out.append({"type": event_type,
                        "current": self.catalog.event(event_type).current.version,
                        "served": [lc.version for lc in served],
                        "sunsets": {str(lc.version): lc.sunset.isoformat()
                                    for lc in served if lc.sunset}})
        return out

    def ordering_value(self, event_type: str, data: Any) -> Optional[str]:
        """The value of ``event_type``'s ordering key in ``data`` (contract 4.5), or
        ``None`` when this catalog declares none for the type (or does not have it).

        Args:
            event_type: The event type.
            data: The event's current-version data (validated).

        Returns:
            The value as text (strings as they are, other scalars as JSON), or ``None``.
        """
        return _ordering_value(self.catalog, self._ordering_keys, event_type, data)

    def knows(self, event_type: str) -> bool:
        """Whether the catalog has ``event_type``.

        Args:
            event_type: The type.

        Returns:
            True if it has at least one version.
        """
        return event_type in self.catalog.events

    def _compiled(self, event_type: str) -> tuple[int, Optional[Any]]:
        """The current version of a type and a fast validator for it (None if unavailable)."""
        hit = self._fast.get(event_type)
        if hit is not None:
            return hit
        version = int(self.catalog.get(event_type).version)  # raises for unknown types
        fast = self._fast_validator(event_type, version)
        with self._lock:
            self._fast[event_type] = (version, fast)
        return version, fast

    def _fast_validator(self, event_type: str, version: int) -> Optional[Any]:
        """A compiled ``jsonschema-rs`` validator of one version (None if unavailable)."""
        key = f"{event_type}@{version}"
        if key in self._fast_versions:
            return self._fast_versions[key]
        fast: Optional[Any] = None
        try:
            import jsonschema_rs

            schema = dict(self.catalog.resolved_schema(event_type, version))
            for name in ("x-hookseal", "examples", "$id"):
                schema.pop(name, None)
            fast = jsonschema_rs.validator_for(schema, validate_formats=False)
        except Exception:  # no fast path: the catalog's validator does all
            fast = None
        with self._lock:
            self._fast_versions[key] = fast
        return fast

    def iter_issues(self, event_type: str, data: Any, version: Optional[int] = None) -> Any:
        """The catalog's ``iter_issues``, with valid data recognised by the fast validator:
        :func:`hookseal_catalog.derive` validates every step down through it when given
        :attr:`deriving` as its catalog (the verdict on invalid data stays the catalog's).

        Args:
            event_type: The type.
            data: The data.
            version: The version (default: the current one).

        Returns:
            The catalog's issues (none for valid data).
        """
        if version is not None:
            fast = self._fast_validator(event_type, version)
            if fast is not None and fast.is_valid(data):
                return []
        return self.catalog.iter_issues(event_type, data, version)

    @property
    def deriving(self) -> Any:
        """The catalog as :func:`hookseal_catalog.derive` reads it, validating each step's
        result on the fast path (:meth:`iter_issues`): 3 times faster per derivation."""
        return _Deriving(self)

    def validate(self, event_type: str, data: Any) -> int:
        """Check ``data`` against the schema of ``event_type``'s current version.

        Args:
            event_type: The event type, e.g. ``invoice.paid``.
            data: The event's ``data``.

        Returns:
            The schema version ``data`` follows (the envelope's ``version``).

        Raises:
            InvalidPayloadError: The type is unknown or the data does not validate.
        """
        if not isinstance(data, dict):
            raise InvalidPayloadError("data must be a JSON object")
        try:
            version, fast = self._compiled(event_type)
            if fast is not None and fast.is_valid(data):
                return version
            self.catalog.validate(event_type, data, version)
        except Exception as exc:  # the catalog's own errors: unknown type, invalid data
            if not self.knows(event_type):
                raise InvalidPayloadError(unknown("event type", event_type,
                                                  self.event_types())) from None
            raise InvalidPayloadError(str(exc)) from None
        return version

    def ping_version(self, event_type: str, data: Any) -> int:
        """A validator for ``test.ping``: the catalog's when it has the type, else any
        object is version 1 (a provider's catalog need not describe the ping).

        Args:
            event_type: ``test.ping``.
            data: The ping's data.

        Returns:
            The schema version.

        Raises:
            InvalidPayloadError: The catalog has the type and the data does not validate.
        """
        if self.knows(event_type):
            return self.validate(event_type, data)
        return no_validation(event_type, data)


class _Deriving:
    """A catalog whose ``iter_issues`` is :meth:`SenderCatalog.iter_issues`; everything
    else is the catalog's own."""

    def __init__(self, owner: SenderCatalog) -> None:
        self._owner = owner
        self.iter_issues = owner.iter_issues

    def __getattr__(self, name: str) -> Any:
        return getattr(self._owner.catalog, name)


@functools.lru_cache(maxsize=32)
def _load(directory: Optional[str], derivations: tuple[str, ...]) -> SenderCatalog:
    import importlib

    from hookseal_catalog import CatalogError
    from hookseal_catalog.derivation import default_registry
    from hookseal_catalog.lint import load_checked_catalog

    for name in derivations:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ConfigError(f"derivations: cannot import {name!r}: {exc}") from None
    try:
        # With the provider's functions imported, a function step naming one that is not
        # registered is an error, as with `hookseal-catalog lint --derivations`.
        return SenderCatalog(load_checked_catalog(
            directory, registry=default_registry if derivations else None))
    except CatalogError as exc:
        raise ConfigError(f"catalog: {exc}") from None


def sender_catalog(directory: Union[str, Path, None] = None,
                   derivations: Sequence[str] = ()) -> SenderCatalog:
    """The catalog in ``directory`` (default: the sample shipped in ``hookseal_catalog``),
    loaded and linted once per directory in a process.

    Args:
        directory: A catalog directory (as ``hookseal-catalog init`` writes), or ``None``.
        derivations: Modules registering the provider's derivation functions
            (:func:`hookseal_catalog.derivation.register_derivation`), imported first.

    Returns:
        The catalog, shared by every caller that names the same directory.

    Raises:
        SenderConfigError: The directory is missing, cannot be loaded, or
            ``hookseal-catalog lint`` finds errors in it (the message is the linter's),
            or a derivations module cannot be imported.
    """
    key = None if directory is None else str(Path(directory).resolve())
    return _load(key, tuple(derivations))


def event_catalog() -> Any:
    """The sample catalog (the default of a sender whose settings name none).

    Returns:
        The :class:`hookseal_catalog.Catalog`.
    """
    return sender_catalog().catalog


#: The former name of :func:`event_catalog`, kept for existing imports.
_catalog = event_catalog


def validate_event(event_type: str, data: Any) -> int:
    """Check ``data`` against the sample catalog (see :meth:`SenderCatalog.validate`).

    Args:
        event_type: The event type, e.g. ``invoice.paid``.
        data: The event's ``data``.

    Returns:
        The schema version ``data`` follows (the envelope's ``version``).

    Raises:
        InvalidPayloadError: The type is unknown or the data does not validate.
    """
    return sender_catalog().validate(event_type, data)


def no_validation(event_type: str, data: Any) -> int:
    """A validator that accepts any JSON object (for providers without a catalog).

    Args:
        event_type: Ignored.
        data: Must be a dict.

    Returns:
        Version 1.

    Raises:
        InvalidPayloadError: ``data`` is not a JSON object.
    """
    if not isinstance(data, dict):
        raise InvalidPayloadError("data must be a JSON object")
    return 1


def _ordering_value(catalog: Any, keys: dict[str, Optional[str]], event_type: str,
                    data: Any) -> Optional[str]:
    """The value of ``event_type``'s ordering key in ``data``, the key's pointer looked up
    once per type in ``keys``; ``None`` for a type without a key (or not in the catalog)."""
    if event_type not in keys:
        from hookseal_catalog.errors import CatalogError
        from hookseal_catalog.ordering import ordering_key

        try:
            keys[event_type] = ordering_key(catalog, event_type)
        except CatalogError:  # a type outside the catalog (sent with no_validation)
            keys[event_type] = None
    if keys[event_type] is None or not isinstance(data, dict):
        return None
    from hookseal_catalog.ordering import ordering_value as catalog_value

    try:
        return catalog_value(catalog, event_type, data)
    except Exception:  # data the catalog's validator did not check (no_validation)
        return None


def ordering_value(event_type: str, data: Any) -> Optional[str]:
    """The value of ``event_type``'s ordering key in ``data`` in the sample catalog (see
    :meth:`SenderCatalog.ordering_value`).

    Args:
        event_type: The event type.
        data: The event's current-version data.

    Returns:
        The value as text (strings as they are, other scalars as JSON), or ``None``.
    """
    return sender_catalog().ordering_value(event_type, data)
