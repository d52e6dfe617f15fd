"""Loading the event catalog and looking events up in it.

A catalog is a directory laid out like this (the sample catalog shipped inside this package
is one, see :func:`default_catalog_path`)::

    catalog.json                       manifest: name, title, description, base_uri, version
    envelope.json                      the envelope every webhook body carries
    components/<name>.json             shared shapes ($ref targets): money, customer, ...
    events/<type>/v<major>.json        the schema of ``data`` for one event type and version

Each file's ``$id`` is ``base_uri`` plus its path in that layout. An event file is a JSON
Schema 2020-12 document for the event's ``data``, with its documentation in the
``x-hookseal`` keyword (see :class:`EventVersion`) and at least one example in ``examples``.

Typical use::

    from hookseal_catalog import load_catalog

    catalog = load_catalog()                       # the shipped catalog
    catalog.validate("invoice.paid", data, version=1)   # raises PayloadValidationError
    body = catalog.build_envelope("invoice.paid", data, version=1, livemode=True)
    catalog.validate_envelope(body)

Validators are built once per event version and cached on the :class:`Catalog`, so
validating at enqueue time costs one schema walk. A :class:`Catalog` is immutable once
loaded and safe to share between threads.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union
from urllib.parse import urldefrag, urljoin

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as _JSValidationError
from jsonschema.exceptions import best_match, relevance
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .errors import (
    CatalogLoadError,
    EnvelopeValidationError,
    PayloadValidationError,
    Problem,
    UnknownEventError,
    ValidationIssue,
)

__all__ = [
    "CRITICALITIES",
    "DIALECT",
    "EVENT_TYPE_PATTERN",
    "EXAMPLE_CREATED",
    "STATUSES",
    "Catalog",
    "ChangelogEntry",
    "EventType",
    "EventVersion",
    "default_catalog_path",
    "json_pointer",
    "load_catalog",
    "read_tree",
]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""The JSON Schema dialect every catalog file declares in ``$schema``."""

EVENT_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
"""Event type names: ``resource.action``, lowercase, dot-separated (see the README)."""

STATUSES = ("draft", "released", "deprecated")
"""Lifecycle of an event version: ``draft`` may still change freely; ``released`` is frozen
except for additive changes; ``deprecated`` is still served until its ``sunset`` date."""

CRITICALITIES = ("high", "medium", "low")
"""``high``: money or access depends on it (act on it, alert when it stops);
``medium``: keeps a mirror of the provider's data in sync; ``low``: informational."""

EXAMPLE_CREATED = 1763900000
"""The ``created`` timestamp of example envelopes, fixed so generated output is stable."""

MANIFEST = "catalog.json"
ENVELOPE = "envelope.json"
README = "README.md"
"""The catalog's own conventions page, the one non-JSON file a catalog directory may hold."""
_EVENT_FILE = re.compile(r"^events/([^/]+)/v([1-9][0-9]*)\.json$")
_COMPONENT_FILE = re.compile(r"^components/([^/]+)\.json$")


def default_catalog_path() -> Path:
    """The directory of the sample catalog shipped inside this package."""
    return Path(__file__).resolve().parent / "schemas"


def json_pointer(parts: Any) -> str:
    """Build a JSON pointer (RFC 6901) from path segments: ``["a", 0, "b/c"]`` -> ``/a/0/b~1c``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


# --------------------------------------------------------------------------- reading files


@dataclass
class Tree:
    """The raw files of a catalog directory: parsed JSON documents keyed by relative path.

    ``problems`` lists files that could not be read or parsed; ``stray`` lists files that are
    not JSON at all. :func:`read_tree` builds it; lint works on it before any semantic check.
    """

    root: Optional[Path]
    documents: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)


def read_tree(root: Union[str, Path]) -> Tree:
    """Read every ``*.json`` file under ``root`` (sorted, hidden files ignored)."""
    base = Path(root)
    tree = Tree(root=base)
    if not base.is_dir():
        tree.problems.append(Problem(str(base), "", "not a directory"))
        return tree
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base).as_posix()
        if any(part.startswith(".") or part == "__pycache__" for part in rel.split("/")):
            continue
        if path.is_dir():
            continue
        if not rel.endswith(".json"):
            if rel != README:
                tree.stray.append(rel)
            continue
        try:
            tree.documents[rel] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            tree.problems.append(Problem(rel, "", f"cannot read JSON: {exc}"))
    return tree


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class ChangelogEntry:
    """One dated line of an event version's history (``x-hookseal.changelog``)."""

    date: str
    change: str


@dataclass(frozen=True)
class EventVersion:
    """One major version of one event type: its schema and its documentation.

    Built from ``events/<type>/v<version>.json``; the documentation comes from the file's
    ``title``, ``description`` and ``x-hookseal`` keyword::

        "x-hookseal": {
          "type": "invoice.paid", "version": 1, "status": "released",
          "fires_when": "...", "frequency": "...", "criticality": "high",
          "released": "2026-11-23", "deprecated": null, "sunset": null,
          "changelog": [{"date": "2026-11-23", "change": "Version 1 released."}],
          "ordering_key": "/invoice/id"
        }

    ``ordering_key`` is the JSON Pointer into ``data`` whose value orders deliveries
    (contract 4.5; :mod:`hookseal_catalog.ordering`). A superseded version also carries
    ``derivation``: how its ``data`` is derived from the next version's (see
    :mod:`hookseal_catalog.derivation`); it is kept raw here and checked by lint.

    ``schema`` is the raw document (``$ref``s unresolved; see
    :meth:`Catalog.resolved_schema` for the inlined form). ``examples`` are ``data`` payloads.
    """

    type: str
    version: int
    schema_id: str
    file: str
    schema: Mapping[str, Any] = field(repr=False, compare=False)
    title: str = ""
    description: str = ""
    status: str = "draft"
    fires_when: str = ""
    frequency: str = ""
    criticality: str = ""
    released: Optional[str] = None
    deprecated: Optional[str] = None
    sunset: Optional[str] = None
    changelog: tuple[ChangelogEntry, ...] = ()
    examples: tuple[Any, ...] = field(default=(), repr=False, compare=False)
    ordering_key: Optional[str] = None
    derivation: Optional[Mapping[str, Any]] = field(default=None, repr=False, compare=False)

    @property
    def resource(self) -> str:
        """The part of the type before the last dot (``invoice`` for ``invoice.paid``)."""
        return self.type.rsplit(".", 1)[0]

    @property
    def action(self) -> str:
        """The part of the type after the last dot (``paid`` for ``invoice.paid``)."""
        return self.type.rsplit(".", 1)[-1]

    @property
    def is_frozen(self) -> bool:
        """True once released: only additive changes are allowed from then on."""
        return self.status in ("released", "deprecated")

    def sunset_date(self) -> Optional[_dt.date]:
        """The sunset as a date, or None if unset or unparsable."""
        return _parse_date(self.sunset)

    def is_past_sunset(self, today: Optional[_dt.date] = None) -> bool:
        """True if this version has a sunset date and it is before ``today`` (UTC)."""
        sunset = self.sunset_date()
        today = today or _dt.datetime.now(_dt.timezone.utc).date()
        return sunset is not None and sunset < today


@dataclass(frozen=True)
class EventType:
    """An event type and all its major versions.

    Attributes:
        type: The event type, e.g. ``invoice.paid``.
        versions: Major version -> :class:`EventVersion`, ascending.
    """

    type: str
    versions: Mapping[int, EventVersion]
    _resolve: Optional[Callable[[EventVersion], dict[str, Any]]] = field(default=None, repr=False, compare=False)

    @property
    def data_schema(self) -> dict[str, Any]:
        """The current version's ``data`` schema, self-contained (every ``$ref`` inlined)."""
        if self._resolve is None:
            return dict(self.current.schema)
        return self._resolve(self.current)

    @property
    def current(self) -> EventVersion:
        """The version to send by default: the highest ``released`` one, else the highest
        ``deprecated`` one, else the highest draft."""
        for status in ("released", "deprecated", "draft"):
            found = [v for v in self.versions.values() if v.status == status]
            if found:
                return max(found, key=lambda v: v.version)
        return self.versions[max(self.versions)]

    @property
    def resource(self) -> str:
        return self.current.resource

    @property
    def action(self) -> str:
        return self.current.action

    def __iter__(self) -> Iterator[EventVersion]:
        return iter(self.versions.values())


def _parse_date(value: Any) -> Optional[_dt.date]:
    if not isinstance(value, str):
        return None
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _opt_text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def _event_version(rel: str, event_type: str, version: int, doc: Mapping[str, Any], uri: str) -> EventVersion:
    meta = doc.get("x-hookseal")
    meta = meta if isinstance(meta, Mapping) else {}
    changelog = meta.get("changelog")
    entries = tuple(
        ChangelogEntry(_text(e.get("date")), _text(e.get("change")))
        for e in (changelog if isinstance(changelog, list) else [])
        if isinstance(e, Mapping)
    )
    examples = doc.get("examples")
    status = meta.get("status")
    return EventVersion(
        type=event_type,
        version=version,
        schema_id=_text(doc.get("$id")) or uri,
        file=rel,
        schema=doc,
        title=_text(doc.get("title")),
        description=_text(doc.get("description")),
        status=status if status in STATUSES else "draft",
        fires_when=_text(meta.get("fires_when")),
        frequency=_text(meta.get("frequency")),
        criticality=_text(meta.get("criticality")),
        released=_opt_text(meta.get("released")),
        deprecated=_opt_text(meta.get("deprecated")),
        sunset=_opt_text(meta.get("sunset")),
        changelog=entries,
        examples=tuple(examples) if isinstance(examples, list) else (),
        ordering_key=_opt_text(meta.get("ordering_key")),
        derivation=meta.get("derivation") if isinstance(meta.get("derivation"), Mapping) else None,
    )


class Catalog:
    """A loaded event catalog. Build one with :func:`load_catalog`.

    Attributes:
        root: the directory it was loaded from (None when built from documents in memory).
        name, title, description, version, base_uri: from the manifest ``catalog.json``.
        events: event type -> :class:`EventType`, sorted by type.
        envelope_schema: the envelope schema document.
        components: component name -> schema document.
        documents: every file's document keyed by relative path (``events/x.y/v1.json``).
    """

    def __init__(self, documents: Mapping[str, Any], root: Optional[Path] = None) -> None:
        """Build a catalog from parsed documents keyed by relative path.

        Tolerant by design (``lint`` relies on it): files outside the layout are ignored and
        missing documentation becomes empty strings. Raises :class:`CatalogLoadError` only if
        the manifest or the envelope is missing or not an object.
        """
        self.root = root
        self.documents: dict[str, Any] = dict(documents)
        problems: list[Problem] = []
        manifest = self.documents.get(MANIFEST)
        envelope = self.documents.get(ENVELOPE)
        if not isinstance(manifest, Mapping):
            problems.append(Problem(MANIFEST, "", "missing: every catalog has a manifest object"))
            manifest = {}
        if not isinstance(envelope, Mapping):
            problems.append(Problem(ENVELOPE, "", "missing: every catalog has an envelope schema object"))
        if problems:
            raise CatalogLoadError(problems)
        self.manifest: Mapping[str, Any] = manifest
        self.name = _text(manifest.get("name"))
        self.title = _text(manifest.get("title")) or self.name
        self.description = _text(manifest.get("description"))
        self.version = _text(manifest.get("version")) or "0.0.0"
        base = _text(manifest.get("base_uri"))
        self.base_uri = base if base.endswith("/") else base + "/"
        assert isinstance(envelope, Mapping)
        self.envelope_schema: Mapping[str, Any] = envelope

        self.components: dict[str, Mapping[str, Any]] = {}
        versions: dict[str, dict[int, EventVersion]] = {}
        self._by_uri: dict[str, Any] = {}
        resources: list[tuple[str, Resource[Any]]] = []
        for rel, doc in sorted(self.documents.items()):
            if not isinstance(doc, Mapping):
                continue
            location = self.base_uri + rel
            uri = _text(doc.get("$id")) or location
            self._by_uri.setdefault(location, doc)
            self._by_uri.setdefault(uri, doc)
            resource = Resource.from_contents(dict(doc), default_specification=DRAFT202012)
            resources.append((location, resource))
            if uri != location:
                resources.append((uri, resource))
            event_match = _EVENT_FILE.match(rel)
            component_match = _COMPONENT_FILE.match(rel)
            if event_match:
                etype, major = event_match.group(1), int(event_match.group(2))
                versions.setdefault(etype, {})[major] = _event_version(rel, etype, major, doc, uri)
            elif component_match:
                self.components[component_match.group(1)] = doc
        self.events: dict[str, EventType] = {
            etype: EventType(etype, dict(sorted(v.items())), self._resolve_version)
            for etype, v in sorted(versions.items())
        }
        self.registry: Registry[Any] = Registry().with_resources(resources).crawl()
        self._validators: dict[tuple[str, int], Draft202012Validator] = {}
        self._envelope_validator: Optional[Draft202012Validator] = None
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- lookup

    def __repr__(self) -> str:
        return f"<Catalog {self.name!r} {len(self.events)} event types from {self.root}>"

    def __contains__(self, event_type: object) -> bool:
        return event_type in self.events

    def event(self, event_type: str) -> EventType:
        """The :class:`EventType` named ``event_type``; :class:`UnknownEventError` if absent."""
        try:
            return self.events[event_type]
        except (KeyError, TypeError):
            raise UnknownEventError(event_type) from None

    def get(self, event_type: str, version: Optional[int] = None) -> EventVersion:
        """One :class:`EventVersion`; ``version=None`` means the type's current version.

        Raises :class:`UnknownEventError` for an unknown type or version.
        """
        etype = self.event(event_type)
        if version is None:
            return etype.current
        if isinstance(version, bool) or not isinstance(version, int) or version not in etype.versions:
            raise UnknownEventError(event_type, version, list(etype.versions))
        return etype.versions[version]

    def versions(self) -> Iterator[EventVersion]:
        """Every event version in the catalog, by type then version."""
        for etype in self.events.values():
            yield from etype

    def schema_for(self, event_type: str, version: Optional[int] = None) -> Mapping[str, Any]:
        """The raw JSON Schema document of an event's ``data`` (``$ref``s unresolved).

        Treat it as read-only; use :meth:`resolved_schema` for a self-contained copy.
        """
        return self.get(event_type, version).schema

    def resolved_schema(self, event_type: str, version: Optional[int] = None) -> dict[str, Any]:
        """A deep copy of the event's ``data`` schema with every ``$ref`` inlined.

        Keyword siblings of a ``$ref`` (such as ``description``) override the target's.
        ``$schema``/``$id`` of inlined documents are dropped; the top document keeps its own.
        """
        ev = self.get(event_type, version)
        resolved: dict[str, Any] = self.inline(ev.schema, ev.schema_id)
        return resolved

    def _resolve_version(self, ev: EventVersion) -> dict[str, Any]:
        return self.resolved_schema(ev.type, ev.version)

    def resolve_ref(self, ref: str, base_uri: str) -> tuple[Any, str]:
        """Resolve ``ref`` relative to ``base_uri``: returns ``(target, target_base_uri)``.

        Raises ``LookupError`` if the target does not exist.
        """
        absolute = urljoin(base_uri, ref)
        uri, fragment = urldefrag(absolute)
        if uri not in self._by_uri:
            raise LookupError(f"$ref {ref!r} does not resolve (no document {uri})")
        target = self._by_uri[uri]
        if fragment:
            if not fragment.startswith("/"):
                raise LookupError(f"$ref {ref!r}: only JSON-pointer fragments are supported")
            for raw in fragment[1:].split("/"):
                part = raw.replace("~1", "/").replace("~0", "~")
                if isinstance(target, Mapping) and part in target:
                    target = target[part]
                elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                    target = target[int(part)]
                else:
                    raise LookupError(f"$ref {ref!r} does not resolve (no {fragment} in {uri})")
        target_base = _text(target.get("$id")) if isinstance(target, Mapping) else ""
        return target, (target_base or uri)

    def inline(self, schema: Any, base_uri: str, _stack: tuple[str, ...] = ()) -> Any:
        """Return ``schema`` with every ``$ref`` replaced by its target (recursively).

        Raises ``LookupError`` for a ``$ref`` that does not resolve or that is recursive.
        """
        if isinstance(schema, list):
            return [self.inline(item, base_uri, _stack) for item in schema]
        if not isinstance(schema, Mapping):
            return copy.deepcopy(schema)
        base = _text(schema.get("$id")) or base_uri
        ref = schema.get("$ref")
        if isinstance(ref, str):
            target, target_base = self.resolve_ref(ref, base)
            key = urljoin(base, ref)
            if key in _stack:
                raise LookupError(f"$ref {ref!r} is recursive ({' -> '.join((*_stack, key))})")
            inlined = self.inline(target, target_base, (*_stack, key))
            if not isinstance(inlined, dict):
                raise LookupError(f"$ref {ref!r} does not point at a schema object")
            inlined.pop("$schema", None)
            inlined.pop("$id", None)
            inlined.pop("examples", None)
            for key_, value in schema.items():
                if key_ != "$ref":
                    inlined[key_] = self.inline(value, base, _stack)
            return inlined
        out: dict[str, Any] = {}
        for key_, value in schema.items():
            if key_ in ("examples", "x-hookseal", "enum", "const"):
                out[key_] = copy.deepcopy(value)
            else:
                out[key_] = self.inline(value, base, _stack)
        return out

    # ----------------------------------------------------------------- validation

    def validator_for(self, event_type: str, version: Optional[int] = None) -> Draft202012Validator:
        """The (cached) ``jsonschema`` validator of an event's ``data`` schema."""
        ev = self.get(event_type, version)
        key = (ev.type, ev.version)
        validator = self._validators.get(key)
        if validator is None:
            with self._lock:
                validator = self._validators.get(key)
                if validator is None:
                    validator = self._build_validator(ev.schema, ev.schema_id)
                    self._validators[key] = validator
        return validator

    @property
    def envelope_validator(self) -> Draft202012Validator:
        """The (cached) ``jsonschema`` validator of the envelope schema."""
        if self._envelope_validator is None:
            uri = _text(self.envelope_schema.get("$id")) or self.base_uri + ENVELOPE
            self._envelope_validator = self._build_validator(self.envelope_schema, uri)
        return self._envelope_validator

    def _build_validator(self, schema: Mapping[str, Any], uri: str) -> Draft202012Validator:
        # Validating against the inlined schema is about twice as fast as following $refs
        # through the registry at every call; fall back to the registry if inlining fails
        # (a catalog with broken references, which lint reports).
        try:
            inlined = self.inline(schema, uri)
        except LookupError:
            return Draft202012Validator(dict(schema), registry=self.registry)
        inlined.pop("x-hookseal", None)
        inlined.pop("examples", None)
        return Draft202012Validator(inlined, registry=self.registry)

    def iter_issues(self, event_type: str, data: Any, version: Optional[int] = None) -> list[ValidationIssue]:
        """Every reason ``data`` does not validate (most relevant first); empty if valid."""
        return _issues(self.validator_for(event_type, version), data)

    def is_valid(self, event_type: str, data: Any, version: Optional[int] = None) -> bool:
        """True if ``data`` validates against the event's schema."""
        return bool(self.validator_for(event_type, version).is_valid(data))

    def validate(self, event_type: str, data: Any, version: Optional[int] = None) -> None:
        """Check an event's ``data`` payload against its schema.

        ``version=None`` validates against the type's current version (see
        :attr:`EventType.current`); a sender should pass the version it sends.

        Raises:
            UnknownEventError: the type or version is not in the catalog.
            PayloadValidationError: ``data`` is invalid; ``.pointer`` is the JSON pointer of
                the offending value within ``data`` and ``.issues`` lists every failure.
        """
        ev = self.get(event_type, version)
        validator = self.validator_for(ev.type, ev.version)
        if validator.is_valid(data):
            return
        raise PayloadValidationError(ev.type, ev.version, _issues(validator, data))

    def validate_envelope(self, envelope: Any) -> EventVersion:
        """Check a whole webhook body: the envelope, then ``data`` against its event schema.

        Returns the :class:`EventVersion` the body claims to be.

        Raises:
            EnvelopeValidationError: the envelope is malformed or its ``data`` is invalid
                (pointers are from the envelope's root, so payload errors start ``/data``).
            UnknownEventError: the envelope is well formed but names a type or version the
                catalog does not have.
        """
        claimed_type = envelope.get("type") if isinstance(envelope, Mapping) else None
        claimed_version = envelope.get("version") if isinstance(envelope, Mapping) else None
        label_type = claimed_type if isinstance(claimed_type, str) else "?"
        label_version = claimed_version if isinstance(claimed_version, int) else 0
        if not self.envelope_validator.is_valid(envelope):
            raise EnvelopeValidationError(label_type, label_version, _issues(self.envelope_validator, envelope))
        assert isinstance(envelope, Mapping)
        ev = self.get(envelope["type"], envelope["version"])
        validator = self.validator_for(ev.type, ev.version)
        if not validator.is_valid(envelope["data"]):
            issues = [
                ValidationIssue("/data" + i.pointer, i.message, i.keyword, i.schema_pointer)
                for i in _issues(validator, envelope["data"])
            ]
            raise EnvelopeValidationError(ev.type, ev.version, issues)
        return ev

    # ----------------------------------------------------------------- examples and envelopes

    def example(self, event_type: str, version: Optional[int] = None, index: int = 0) -> dict[str, Any]:
        """A copy of one of the event's example ``data`` payloads (the first by default).

        Raises :class:`UnknownEventError`, or ``IndexError`` if there is no such example.
        """
        ev = self.get(event_type, version)
        if not 0 <= index < len(ev.examples):
            raise IndexError(f"{ev.type} v{ev.version} has {len(ev.examples)} example(s), not index {index}")
        return copy.deepcopy(ev.examples[index])

    def example_envelope(self, event_type: str, version: Optional[int] = None, index: int = 0) -> dict[str, Any]:
        """A complete, deterministic example webhook body for the event (for docs and tests).

        Its ``id`` is derived from the type and version, ``created`` is :data:`EXAMPLE_CREATED`
        and ``livemode`` is false.
        """
        ev = self.get(event_type, version)
        digest = hashlib.sha256(f"{ev.type}/v{ev.version}/{index}".encode()).hexdigest()[:24]
        return self.build_envelope(
            ev.type,
            self.example(ev.type, ev.version, index),
            version=ev.version,
            event_id="evt_" + digest,
            created=EXAMPLE_CREATED,
            livemode=False,
        )

    def build_envelope(
        self,
        event_type: str,
        data: Mapping[str, Any],
        *,
        version: Optional[int] = None,
        event_id: Optional[str] = None,
        created: Optional[int] = None,
        livemode: bool = False,
    ) -> dict[str, Any]:
        """Wrap ``data`` in an envelope (it is not validated: call :meth:`validate_envelope`).

        ``event_id`` defaults to a random ``evt_`` id, ``created`` to the current Unix time.
        """
        ev = self.get(event_type, version)
        return {
            "id": event_id if event_id is not None else "evt_" + secrets.token_hex(12),
            "type": ev.type,
            "version": ev.version,
            "created": int(time.time()) if created is None else created,
            "livemode": livemode,
            "data": dict(data),
        }


def _issues(validator: Draft202012Validator, instance: Any) -> list[ValidationIssue]:
    errors: list[_JSValidationError] = sorted(validator.iter_errors(instance), key=relevance, reverse=True)
    out: list[ValidationIssue] = []
    for error in errors:
        for leaf in _leaves(error):
            message = leaf.message if len(leaf.message) <= 300 else leaf.message[:297] + "..."
            out.append(
                ValidationIssue(
                    pointer=json_pointer(leaf.absolute_path),
                    message=message,
                    keyword=str(leaf.validator),
                    schema_pointer=json_pointer(leaf.absolute_schema_path),
                )
            )
    return out


def _leaves(error: _JSValidationError) -> list[_JSValidationError]:
    """The errors worth reporting for ``error``: for the nullable idiom
    ``anyOf: [{$ref}, {type: null}]`` on a non-null value, the errors of the non-null branch
    (so the pointer reaches the bad field); for other combinators, jsonschema's best match."""
    if not error.context:
        return [error]
    branches = {e.relative_schema_path[0] for e in error.context if e.relative_schema_path}
    non_null = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
    non_null_branches = {e.relative_schema_path[0] for e in non_null if e.relative_schema_path}
    if error.validator == "anyOf" and len(branches) == 2 and len(non_null_branches) == 1 and non_null:
        return [leaf for e in sorted(non_null, key=relevance, reverse=True) for leaf in _leaves(e)]
    best = best_match([error])
    return [best if best is not None else error]


def load_catalog(path: Union[str, Path, None] = None) -> Catalog:
    """Load a catalog directory; ``None`` loads the sample catalog shipped in this package.

    Raises :class:`CatalogLoadError` if a file cannot be parsed or the manifest or envelope
    is missing. Loading does not lint: run :func:`hookseal_catalog.lint.lint_catalog` (or
    ``hookseal-catalog lint``) to check conventions, references and examples.
    """
    root = Path(path) if path is not None else default_catalog_path()
    if root.is_dir() and not (root / MANIFEST).is_file():
        # fail fast instead of reading every JSON file of, say, a repository root
        raise CatalogLoadError([Problem(MANIFEST, "", f"missing: {root} is not a catalog directory")])
    tree = read_tree(root)
    if tree.problems:
        raise CatalogLoadError(tree.problems)
    return Catalog(tree.documents, root=root)
