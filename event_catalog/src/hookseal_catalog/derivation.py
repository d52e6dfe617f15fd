"""Deriving an older version's ``data`` from a newer version's (contract 4.2).

A provider sends the current version's ``data`` once; an endpoint pinned to an older
version gets data derived from it. Each superseded version declares, in its
``x-hookseal``, how its data is derived from the next version's::

    "x-hookseal": {
      "type": "payment.failed", "version": 1, ...,
      "derivation": {
        "from_version": 2,
        "steps": [
          {"op": "move", "from": "/failure/message", "path": "/failure_reason"},
          {"op": "remove", "path": "/failure"},
          {"op": "remove", "path": "/next_retry_at"}
        ]
      }
    }

Steps run in order on a copy of the newer data; paths are JSON Pointers into ``data``:

``remove``   ``{"op": "remove", "path": P}``: drop the field (nothing happens if it is absent).
``move``     ``{"op": "move", "from": F, "path": P}``: rename or move a field; if ``F``
             is absent, ``P`` is left absent (validation then says whether that is allowed).
``copy``     ``{"op": "copy", "from": F, "path": P}``: as ``move``, keeping ``F``.
``default``  ``{"op": "default", "path": P, "value": V}``: set ``P`` to ``V`` when it is absent.
``function`` ``{"op": "function", "name": N}``: call the function registered as ``N``
             (:class:`DerivationRegistry`) for what steps cannot say.

A step that writes under a parent that does not exist fails. :func:`derive` chains through
intermediate versions (v3 -> v2 -> v1) and validates the result of every hop against that
version's schema, so an invalid body is never produced: it raises
:class:`~hookseal_catalog.errors.DerivationError` (``.code`` ``derivation_failed``),
:class:`~hookseal_catalog.errors.MissingDerivationError` (``derivation_missing``) or
:class:`~hookseal_catalog.errors.DerivedDataInvalidError` (``derived_data_invalid``).

Functions are plain Python, registered by name::

    from hookseal_catalog.derivation import register_derivation

    @register_derivation("payment_failed_v1_reason")
    def reason(data: dict) -> dict:          # gets a private copy; returns the new data
        data["failure_reason"] = data.pop("failure")["message"]
        return data
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Callable, Optional, TypeVar

from .catalog import Catalog, EventVersion, json_pointer
from .errors import DerivationError, DerivedDataInvalidError, MissingDerivationError
from .fields import parse_pointer

__all__ = [
    "OPS",
    "DerivationFunction",
    "DerivationRegistry",
    "Step",
    "default_registry",
    "derivation_problems",
    "derive",
    "parse_steps",
    "register_derivation",
    "superseded_versions",
]

OPS = ("remove", "move", "copy", "default", "function")
"""The step operations a derivation may use."""

DerivationFunction = Callable[[dict[str, Any]], dict[str, Any]]
"""A registered derivation: takes a private copy of the data, returns the derived data."""

_F = TypeVar("_F", bound=DerivationFunction)


class DerivationRegistry:
    """Named derivation functions, for the ``function`` steps of a catalog.

    Thread-safe. :data:`default_registry` is the one :func:`derive` uses unless given
    another; a sender may keep its own per catalog.
    """

    def __init__(self) -> None:
        self._functions: dict[str, DerivationFunction] = {}
        self._lock = threading.Lock()

    def register(self, name: str) -> Callable[[_F], _F]:
        """Decorator registering a function under ``name``.

        Raises:
            ValueError: ``name`` is empty or already registered to another function.
        """
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a derivation function needs a non-empty name")

        def decorate(fn: _F) -> _F:
            self.add(name, fn)
            return fn

        return decorate

    def add(self, name: str, fn: DerivationFunction) -> None:
        """Register ``fn`` under ``name`` (the non-decorator form of :meth:`register`)."""
        with self._lock:
            existing = self._functions.get(name)
            if existing is not None and existing is not fn:
                raise ValueError(f"a derivation function named {name!r} is already registered")
            self._functions[name] = fn

    def get(self, name: str) -> Optional[DerivationFunction]:
        """The function registered as ``name``, or None."""
        return self._functions.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._functions

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self._functions)


default_registry = DerivationRegistry()
"""The registry :func:`derive` and ``hookseal-catalog lint --derivations`` use by default."""


def register_derivation(name: str) -> Callable[[_F], _F]:
    """Register a derivation function in :data:`default_registry` (a decorator)."""
    return default_registry.register(name)


@dataclass(frozen=True)
class Step:
    """One parsed derivation step (see the module documentation for each ``op``)."""

    op: str
    path: Optional[tuple[str, ...]] = None
    source: Optional[tuple[str, ...]] = None
    value: Any = None
    name: Optional[str] = None


def parse_steps(derivation: Any) -> tuple[Optional[int], list[Step], list[tuple[str, str]]]:
    """Parse an ``x-hookseal.derivation`` object.

    Returns ``(from_version, steps, problems)``; each problem is ``(pointer into the
    derivation object, message)``, and a step with a problem is left out of ``steps``.
    """
    problems: list[tuple[str, str]] = []
    if not isinstance(derivation, Mapping):
        return None, [], [("", 'a derivation is an object: {"from_version": N, "steps": [...]}')]
    from_version = derivation.get("from_version")
    if isinstance(from_version, bool) or not isinstance(from_version, int) or from_version < 1:
        problems.append(("/from_version", "from_version must be the major version the data is derived from"))
        from_version = None
    for key in set(derivation) - {"from_version", "steps"}:
        problems.append((f"/{key}", f"unknown derivation field {key!r}"))
    raw_steps = derivation.get("steps")
    if not isinstance(raw_steps, list):
        problems.append(("/steps", "steps must be a list (it may be empty)"))
        raw_steps = []
    steps: list[Step] = []
    for index, raw in enumerate(raw_steps):
        where = f"/steps/{index}"
        try:
            steps.append(_parse_step(raw))
        except ValueError as exc:
            problems.append((where, str(exc)))
    return from_version, steps, problems


_FIELDS = {
    "remove": {"op", "path"},
    "move": {"op", "from", "path"},
    "copy": {"op", "from", "path"},
    "default": {"op", "path", "value"},
    "function": {"op", "name"},
}


def _parse_step(raw: Any) -> Step:
    if not isinstance(raw, Mapping):
        raise ValueError("a step is an object with an 'op'")
    op = raw.get("op")
    if op not in OPS:
        raise ValueError(f"unknown op {op!r}: one of {', '.join(OPS)}")
    expected = _FIELDS[op]
    if set(raw) != expected:
        raise ValueError(f"a {op} step has exactly the fields {sorted(expected)}, not {sorted(raw)}")
    if op == "function":
        name = raw["name"]
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a function step names its function with a non-empty 'name'")
        return Step(op, name=name)
    path = tuple(parse_pointer(raw["path"]))
    source = tuple(parse_pointer(raw["from"])) if "from" in raw else None
    if source is not None and (source == path[: len(source)]):
        raise ValueError(f"{op}: 'path' may not be 'from' or inside it")
    return Step(op, path=path, source=source, value=copy.deepcopy(raw.get("value")))


def _parent(data: Any, parts: tuple[str, ...]) -> Optional[MutableMapping[str, Any]]:
    node = data
    for part in parts[:-1]:
        if isinstance(node, MutableMapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node if isinstance(node, MutableMapping) else None


_ABSENT = object()


def _apply(step: Step, data: dict[str, Any], registry: DerivationRegistry) -> dict[str, Any]:
    if step.op == "function":
        assert step.name is not None
        fn = registry.get(step.name)
        if fn is None:
            raise _StepError(f"no derivation function is registered as {step.name!r}", missing=True)
        try:
            result = fn(data)
        except Exception as exc:  # a provider's function: its failure is this delivery's
            raise _StepError(f"function {step.name!r} raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(result, dict):
            raise _StepError(f"function {step.name!r} returned {type(result).__name__}, not a dict")
        return result
    assert step.path is not None
    if step.op == "remove":
        parent = _parent(data, step.path)
        if parent is not None:
            parent.pop(step.path[-1], None)
        return data
    if step.op == "default":
        parent = _parent(data, step.path)
        if parent is None:
            raise _StepError(f"cannot set {json_pointer(step.path)}: its parent is absent")
        parent.setdefault(step.path[-1], copy.deepcopy(step.value))
        return data
    assert step.source is not None
    source_parent = _parent(data, step.source)
    value = source_parent.get(step.source[-1], _ABSENT) if source_parent is not None else _ABSENT
    if value is _ABSENT:
        return data
    if step.op == "move":
        assert source_parent is not None
        del source_parent[step.source[-1]]
    else:
        value = copy.deepcopy(value)
    target = _parent(data, step.path)
    if target is None:
        raise _StepError(f"cannot write {json_pointer(step.path)}: its parent is absent")
    target[step.path[-1]] = value
    return data


class _StepError(Exception):
    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


def superseded_versions(catalog: Catalog, event_type: str) -> list[EventVersion]:
    """The versions of ``event_type`` older than its current one (those derived), descending."""
    etype = catalog.event(event_type)
    current = etype.current.version
    return [ev for ev in sorted(etype, key=lambda v: -v.version) if ev.version < current]


def _hop(catalog: Catalog, ev: EventVersion, newer: EventVersion) -> list[Step]:
    if ev.derivation is None:
        raise MissingDerivationError(
            ev.type, newer.version, ev.version, f"v{ev.version} declares no derivation in x-hookseal"
        )
    from_version, steps, problems = parse_steps(ev.derivation)
    if problems:
        where, message = problems[0]
        raise MissingDerivationError(
            ev.type, newer.version, ev.version, f"its derivation is malformed at {where or '/'}: {message}"
        )
    if from_version != newer.version:
        raise MissingDerivationError(
            ev.type,
            newer.version,
            ev.version,
            f"its derivation reads v{from_version}, but the next version in the catalog is v{newer.version}",
        )
    return steps


def derive(
    catalog: Catalog,
    event_type: str,
    data: Mapping[str, Any],
    to_version: int,
    *,
    from_version: Optional[int] = None,
    registry: Optional[DerivationRegistry] = None,
) -> dict[str, Any]:
    """Derive ``to_version``'s ``data`` from ``from_version``'s (default: the current version).

    Runs each superseded version's steps in turn, from ``from_version`` down to
    ``to_version``, and validates every hop's result against that version's schema. The
    input is not modified and is not validated (the sender validated it at enqueue). With
    ``to_version == from_version`` it returns a copy of ``data``.

    Raises:
        UnknownEventError: no such event type or version.
        MissingDerivationError: a version on the way declares no usable derivation, a
            ``function`` step names an unregistered function, or ``to_version`` is newer
            than ``from_version``.
        DerivationError: a step or a function failed.
        DerivedDataInvalidError: a hop's result does not validate; ``.issues`` says why.
    """
    registry = registry if registry is not None else default_registry
    source = catalog.get(event_type, from_version)
    target = catalog.get(event_type, to_version)
    if target.version > source.version:
        raise MissingDerivationError(
            source.type, source.version, target.version, "only older versions are derived from newer ones"
        )
    result: dict[str, Any] = copy.deepcopy(dict(data))
    chain = [ev for ev in catalog.event(event_type) if target.version <= ev.version <= source.version]
    chain.sort(key=lambda v: -v.version)
    for newer, ev in zip(chain, chain[1:]):
        steps = _hop(catalog, ev, newer)
        for index, step in enumerate(steps):
            try:
                result = _apply(step, result, registry)
            except _StepError as exc:
                cls = MissingDerivationError if exc.missing else DerivationError
                raise cls(ev.type, newer.version, ev.version, str(exc), step=index) from exc.__cause__
        issues = catalog.iter_issues(ev.type, result, ev.version)
        if issues:
            raise DerivedDataInvalidError(ev.type, newer.version, ev.version, issues)
    return result


def derivation_problems(
    catalog: Catalog,
    ev: EventVersion,
    registry: Optional[DerivationRegistry] = None,
) -> list[tuple[str, str, str]]:
    """What is wrong with ``ev``'s declared derivation, statically: ``(code, pointer, message)``.

    Codes: ``derivation-missing`` (none declared), ``derivation-invalid`` (malformed, a
    ``from_version`` other than the next version, an unregistered function when
    ``registry`` is given). The pointer is into the event file. Whether the steps produce
    valid data is checked on the examples (``hookseal-catalog lint``).
    """
    base = "/x-hookseal/derivation"
    etype = catalog.event(ev.type)
    newer = [v for v in etype if v.version > ev.version]
    if not newer:
        return []
    next_version = min(newer, key=lambda v: v.version)
    if ev.derivation is None:
        return [
            (
                "derivation-missing",
                "/x-hookseal",
                f"v{ev.version} is superseded by v{next_version.version} but declares no derivation: "
                f'add "derivation": {{"from_version": {next_version.version}, "steps": [...]}} '
                "(`hookseal-catalog diff` suggests the steps)",
            )
        ]
    from_version, steps, problems = parse_steps(ev.derivation)
    out = [("derivation-invalid", base + where, message) for where, message in problems]
    if from_version is not None and from_version != next_version.version:
        out.append(
            (
                "derivation-invalid",
                base + "/from_version",
                f"from_version must be {next_version.version}, the next version in the catalog, not {from_version}",
            )
        )
    for index, step in enumerate(steps):
        if step.op == "function" and registry is not None and step.name not in registry:
            out.append(
                (
                    "derivation-invalid",
                    f"{base}/steps/{index}/name",
                    f"no derivation function is registered as {step.name!r}",
                )
            )
    return out
