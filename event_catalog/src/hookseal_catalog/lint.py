"""``hookseal-catalog lint``: enforce the catalog's layout, conventions and documentation.

:func:`lint_catalog` returns a list of :class:`LintIssue` (empty when the catalog is
clean). Each issue has a stable ``code``, the file (relative to the catalog root) and a
JSON pointer into it. The checks, by code:

==========================  ===========================================================
``invalid-json``            a file is not readable JSON
``stray-file``              a file outside the layout (see :mod:`hookseal_catalog.catalog`)
``manifest``                ``catalog.json`` lacks a field or has a bad ``base_uri``
``schema-dialect``          ``$schema`` is not JSON Schema 2020-12
``id-mismatch``             ``$id`` is not ``base_uri`` + the file's path
``invalid-schema``          the document is not a valid JSON Schema (meta-schema check)
``event-name``              the type is not ``resource.action`` (lowercase, dot-separated)
``version-layout``          an event file is not ``v<major>.json`` (major >= 1, no leading 0)
``metadata-mismatch``       ``x-hookseal.type``/``version`` disagree with the file's place
``duplicate-id``            two files declare the same ``$id``
``duplicate-event``         two files claim the same event type and version
``missing-doc``             a required documentation field is absent or empty (titles,
                            descriptions, every property's description, when it fires,
                            frequency, criticality, status, changelog, lifecycle dates)
``invalid-doc``             a documentation field has a bad value (criticality, status,
                            dates, sunset before deprecation, ...)
``missing-example``         an event version has no example
``invalid-example``         an example does not validate (pointer into the example)
``unresolved-ref``          a ``$ref`` points at nothing, or is recursive
``ref-target``              a ``$ref`` is not to a whole ``components/<name>.json`` document
``unsupported-keyword``     a keyword outside the portable subset (see README), or an
                            ``anyOf`` other than the nullable idiom
``open-object``             an object schema with ``properties`` but no explicit
                            ``additionalProperties``
``required-unknown``        ``required`` names a property that is not declared
``field-name``              a property name is not snake_case
``timestamp-type``          ``created`` or a ``*_at`` field is not an integer (Unix seconds)
``data-not-object``         an event's ``data`` schema is not ``type: object``
``envelope``                the envelope lacks one of the fields every event carries
``orphan-component``        a component no event (nor the envelope) references
``sunset-passed``           (warning) a deprecated version is past its sunset: remove it
``derivation-missing``      a superseded version still served declares no derivation
``derivation-invalid``      a derivation is malformed, reads another version than the
                            next one, names an unregistered function, or sits on a
                            version nothing newer supersedes
``derivation-example``      deriving the current version's examples fails, or gives data
                            that does not validate against the older version
``derivation-unchecked``    (warning) a ``function`` step's function is not registered
                            here, so the examples were not derived (``--derivations``)
``ordering-key``            an ordering key is not a JSON Pointer to a required, never-null
                            scalar in every served version, or versions disagree on it
==========================  ===========================================================
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional, Union
from urllib.parse import urldefrag, urljoin

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from .catalog import (
    _COMPONENT_FILE,
    _EVENT_FILE,
    CRITICALITIES,
    DIALECT,
    ENVELOPE,
    EVENT_TYPE_PATTERN,
    MANIFEST,
    STATUSES,
    Catalog,
    Tree,
    default_catalog_path,
    json_pointer,
    load_catalog,
    read_tree,
)
from .derivation import DerivationRegistry, default_registry, derivation_problems, derive, parse_steps
from .errors import CatalogLintError, CatalogLoadError, DerivationError, UnknownFieldError
from .fields import field_info
from .lifecycle import is_served

__all__ = ["ENVELOPE_FIELDS", "PORTABLE_KEYWORDS", "LintIssue", "lint_catalog", "lint_tree", "load_checked_catalog"]

PORTABLE_KEYWORDS = frozenset(
    {
        # identity and documentation
        "$schema", "$id", "$comment", "title", "description", "examples", "deprecated", "x-hookseal",
        # structure
        "$ref", "type", "properties", "required", "additionalProperties", "items", "enum", "const",
        "anyOf",  # only as the nullable idiom [{"$ref": ...}, {"type": "null"}]
        # constraints
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems",
        "minProperties", "maxProperties",
    }
)  # fmt: skip
"""Keywords the catalog may use: those every code generator, OpenAPI tool and
hypothesis-jsonschema understand, and that ``diff`` classifies precisely."""

ENVELOPE_FIELDS = ("id", "type", "version", "created", "livemode", "data")
"""Fields the envelope must declare and require."""

_FIELD_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_COMPONENT_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_VERSION_FILE = re.compile(r"^v([0-9]+)\.json$")
_ANNOTATION_SIBLINGS = frozenset({"description", "title", "deprecated", "$comment", "examples"})


@dataclass(frozen=True)
class LintIssue:
    """One lint finding. ``severity`` is ``error`` (fails lint) or ``warning``."""

    code: str
    file: str
    pointer: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file + (f"#{self.pointer}" if self.pointer else "")
        return f"{where}: {self.severity}: {self.message} [{self.code}]"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def lint_catalog(
    path: Union[str, Path, None] = None,
    *,
    today: Optional[_dt.date] = None,
    registry: Optional[DerivationRegistry] = None,
) -> list[LintIssue]:
    """Lint the catalog directory at ``path`` (default: the shipped catalog).

    ``today`` (UTC date) decides whether a sunset has passed, and so which versions are
    still served; defaults to today. ``registry`` holds the provider's derivation functions:
    given, a ``function`` step naming an unregistered function is an error; omitted, the
    default registry is used and such a step only leaves its examples unchecked (warning).
    """
    tree = read_tree(Path(path) if path is not None else default_catalog_path())
    return lint_tree(tree, today=today, registry=registry)


def load_checked_catalog(
    path: Union[str, Path, None] = None,
    *,
    today: Optional[_dt.date] = None,
    registry: Optional[DerivationRegistry] = None,
) -> Catalog:
    """Load a catalog only if it lints without errors (warnings pass): what a program that
    takes a catalog directory in its settings calls at start.

    Raises:
        CatalogLintError: lint found errors; ``.issues`` and the message list them.
        CatalogLoadError: the directory cannot be loaded at all (missing, unreadable JSON).
    """
    catalog = load_catalog(path)
    assert catalog.root is not None
    issues = lint_catalog(catalog.root, today=today, registry=registry)
    errors = [issue for issue in issues if issue.severity == "error"]
    if errors:
        raise CatalogLintError(str(catalog.root), errors)
    return catalog


def lint_tree(
    tree: Tree, *, today: Optional[_dt.date] = None, registry: Optional[DerivationRegistry] = None
) -> list[LintIssue]:
    """Lint already-read catalog files (see :func:`hookseal_catalog.catalog.read_tree`)."""
    return _Linter(tree, today or _dt.datetime.now(_dt.timezone.utc).date(), registry).run()


class _Linter:
    def __init__(self, tree: Tree, today: _dt.date, registry: Optional[DerivationRegistry] = None) -> None:
        self.tree = tree
        self.today = today
        self.registry = registry
        self.issues: list[LintIssue] = []
        self.base_uri = ""

    def add(self, code: str, file: str, pointer: str, message: str, severity: str = "error") -> None:
        self.issues.append(LintIssue(code, file, pointer, message, severity))

    # ------------------------------------------------------------------ driver

    def run(self) -> list[LintIssue]:
        for problem in self.tree.problems:
            self.add("invalid-json", problem.file, problem.pointer, problem.message)
        for rel in self.tree.stray:
            self.add("stray-file", rel, "", "not part of the catalog layout (only .json files belong here)")
        docs = self.tree.documents
        self.check_manifest(docs.get(MANIFEST))
        seen_ids: dict[str, str] = {}
        for rel, doc in docs.items():
            if rel == MANIFEST:
                continue
            kind = self.kind_of(rel)
            if kind is None:
                continue
            if not isinstance(doc, dict):
                self.add("invalid-schema", rel, "", "a schema file must hold a JSON object")
                continue
            self.check_document(rel, doc, kind)
            sid = doc.get("$id")
            if isinstance(sid, str):
                if sid in seen_ids:
                    self.add("duplicate-id", rel, "/$id", f"$id {sid!r} is also declared by {seen_ids[sid]}")
                else:
                    seen_ids[sid] = rel
        try:
            catalog = Catalog(docs, root=self.tree.root)
        except CatalogLoadError as exc:
            for problem in exc.problems:
                self.add("missing-doc" if problem.file == MANIFEST else "envelope", problem.file, "", problem.message)
            return self.sorted()
        self.check_refs(catalog)
        self.check_examples(catalog)
        self.check_envelope(catalog)
        self.check_duplicates_and_orphans(catalog)
        self.check_derivations(catalog)
        self.check_ordering_keys(catalog)
        return self.sorted()

    def sorted(self) -> list[LintIssue]:
        return sorted(self.issues, key=lambda i: (i.file, i.pointer, i.code, i.message))

    def kind_of(self, rel: str) -> Optional[str]:
        if rel == ENVELOPE:
            return "envelope"
        parts = rel.split("/")
        if parts[0] == "components" and len(parts) == 2:
            name = parts[1][: -len(".json")]
            if not _COMPONENT_NAME.match(name):
                self.add("field-name", rel, "", f"component name {name!r} is not snake_case")
            return "component"
        if parts[0] == "events" and len(parts) == 3:
            etype, filename = parts[1], parts[2]
            if not EVENT_TYPE_PATTERN.match(etype) or len(etype) > 100:
                self.add(
                    "event-name",
                    rel,
                    "",
                    f"event type {etype!r} does not follow the naming convention: "
                    "resource.action, lowercase letters, digits and '_', dot-separated",
                )
            match = _VERSION_FILE.match(filename)
            if not match or match.group(1).startswith("0"):
                self.add(
                    "version-layout",
                    rel,
                    "",
                    f"event files are named v<major>.json (v1.json, v2.json, ...), not {filename!r}",
                )
                return None
            return "event"
        self.add(
            "stray-file",
            rel,
            "",
            "not part of the catalog layout: catalog.json, envelope.json, components/<name>.json, "
            "events/<type>/v<major>.json",
        )
        return None

    # ------------------------------------------------------------------ manifest

    def check_manifest(self, manifest: Any) -> None:
        if not isinstance(manifest, dict):
            if MANIFEST in self.tree.documents:
                self.add("manifest", MANIFEST, "", "the manifest must be a JSON object")
            return
        for key in ("name", "title", "description", "base_uri", "version"):
            value = manifest.get(key)
            if not isinstance(value, str) or not value.strip():
                self.add("manifest", MANIFEST, f"/{key}", f"the manifest needs a non-empty string {key!r}")
        base = manifest.get("base_uri")
        if isinstance(base, str) and base:
            if not re.match(r"^https?://[^/]+/(.*/)?$", base):
                self.add("manifest", MANIFEST, "/base_uri", "base_uri must be an absolute http(s) URI ending with '/'")
            self.base_uri = base if base.endswith("/") else base + "/"

    # ------------------------------------------------------------------ per document

    def check_document(self, rel: str, doc: dict[str, Any], kind: str) -> None:
        if doc.get("$schema") != DIALECT:
            self.add("schema-dialect", rel, "/$schema", f"$schema must be {DIALECT!r}")
        expected_id = self.base_uri + rel
        if self.base_uri and doc.get("$id") != expected_id:
            self.add(
                "id-mismatch", rel, "/$id", f"$id must be {expected_id!r} (base_uri + path), not {doc.get('$id')!r}"
            )
        meta_error = _meta_schema_error(json.dumps(doc, sort_keys=True))
        if meta_error is not None:
            self.add("invalid-schema", rel, meta_error[0], f"not a valid JSON Schema: {meta_error[1]}")
        for key in ("title", "description"):
            if not _nonempty(doc.get(key)):
                self.add("missing-doc", rel, f"/{key}", f"a non-empty {key!r} is required")
        if doc.get("type") != "object":
            code = "data-not-object" if kind == "event" else "invalid-schema"
            self.add(code, rel, "/type", 'the schema\'s top level must be "type": "object"')
        self.check_subschemas(rel, doc, kind)
        if kind == "event":
            self.check_event_doc(rel, doc)
        elif "x-hookseal" in doc:
            self.add("unsupported-keyword", rel, "/x-hookseal", "x-hookseal belongs in event files only")

    def check_subschemas(self, rel: str, doc: dict[str, Any], kind: str) -> None:
        for pointer, schema, _prop in _walk(doc):
            if not isinstance(schema, dict):
                continue
            top = pointer == ""
            for key in schema:
                if key not in PORTABLE_KEYWORDS:
                    self.add(
                        "unsupported-keyword",
                        rel,
                        f"{pointer}/{key}",
                        f"keyword {key!r} is outside the portable subset",
                    )
                elif not top and key in ("$schema", "$id", "x-hookseal"):
                    self.add(
                        "unsupported-keyword",
                        rel,
                        f"{pointer}/{key}",
                        f"{key!r} is only allowed at a document's top level",
                    )
                elif top and kind != "event" and key == "examples":
                    self.add("unsupported-keyword", rel, f"{pointer}/{key}", "examples belong to event files")
            if "anyOf" in schema and not _is_nullable_ref(schema["anyOf"]):
                self.add(
                    "unsupported-keyword",
                    rel,
                    f"{pointer}/anyOf",
                    'anyOf is only allowed as the nullable idiom [{"$ref": "..."}, {"type": "null"}]',
                )
            if "$ref" in schema:
                extra = set(schema) - {"$ref"} - _ANNOTATION_SIBLINGS
                if extra:
                    self.add(
                        "unsupported-keyword",
                        rel,
                        pointer,
                        f"beside $ref only annotations are allowed, not {sorted(extra)}",
                    )
            props = schema.get("properties")
            if isinstance(props, dict):
                if "additionalProperties" not in schema:
                    self.add(
                        "open-object",
                        rel,
                        pointer,
                        "declare additionalProperties (false for a closed shape) on every object with properties",
                    )
                for name, sub in props.items():
                    where = f"{pointer}/properties/{_escape(name)}"
                    if not _FIELD_NAME.match(name):
                        self.add("field-name", rel, where, f"property {name!r} is not snake_case")
                    if isinstance(sub, dict) and not _nonempty(sub.get("description")):
                        self.add("missing-doc", rel, where, f"property {name!r} needs a description")
                    if isinstance(sub, dict) and (name == "created" or name.endswith("_at")) and not _is_timestamp(sub):
                        self.add(
                            "timestamp-type",
                            rel,
                            where,
                            f"{name!r} is a timestamp: it must be an integer of Unix seconds (or integer/null)",
                        )
                required = schema.get("required")
                if isinstance(required, list):
                    for index, name in enumerate(required):
                        if name not in props:
                            self.add(
                                "required-unknown",
                                rel,
                                f"{pointer}/required/{index}",
                                f"required property {name!r} is not declared",
                            )
            elif isinstance(schema.get("required"), list) and schema["required"]:
                self.add(
                    "required-unknown", rel, f"{pointer}/required", "required names properties but none are declared"
                )

    def check_event_doc(self, rel: str, doc: dict[str, Any]) -> None:
        match = _EVENT_FILE.match(rel)
        meta = doc.get("x-hookseal")
        if not isinstance(meta, dict):
            self.add("missing-doc", rel, "/x-hookseal", 'event files document themselves in an "x-hookseal" object')
            meta = {}
        if match:
            etype, major = match.group(1), int(match.group(2))
            if meta.get("type") != etype:
                self.add(
                    "metadata-mismatch",
                    rel,
                    "/x-hookseal/type",
                    f"type must be {etype!r} (the directory name), not {meta.get('type')!r}",
                )
            if meta.get("version") != major or isinstance(meta.get("version"), bool):
                self.add(
                    "metadata-mismatch",
                    rel,
                    "/x-hookseal/version",
                    f"version must be {major} (the file name), not {meta.get('version')!r}",
                )
        for key in ("fires_when", "frequency"):
            if not _nonempty(meta.get(key)):
                self.add(
                    "missing-doc",
                    rel,
                    f"/x-hookseal/{key}",
                    f"{key!r} is required: document it for the event reference",
                )
        criticality = meta.get("criticality")
        if not _nonempty(criticality):
            self.add("missing-doc", rel, "/x-hookseal/criticality", "'criticality' is required")
        elif criticality not in CRITICALITIES:
            self.add(
                "invalid-doc", rel, "/x-hookseal/criticality", f"criticality must be one of {', '.join(CRITICALITIES)}"
            )
        status = meta.get("status")
        if not _nonempty(status):
            self.add("missing-doc", rel, "/x-hookseal/status", "'status' is required (draft, released or deprecated)")
        elif status not in STATUSES:
            self.add("invalid-doc", rel, "/x-hookseal/status", f"status must be one of {', '.join(STATUSES)}")
        dates: dict[str, _dt.date] = {}
        for key in ("released", "deprecated", "sunset"):
            value = meta.get(key)
            if value is None:
                continue
            parsed = _date(value)
            if parsed is None:
                self.add("invalid-doc", rel, f"/x-hookseal/{key}", f"{key!r} must be an ISO date (YYYY-MM-DD)")
            else:
                dates[key] = parsed
        if status in ("released", "deprecated") and meta.get("released") is None:
            self.add("missing-doc", rel, "/x-hookseal/released", f"a {status} version needs its 'released' date")
        if status == "deprecated":
            for key in ("deprecated", "sunset"):
                if meta.get(key) is None:
                    self.add("missing-doc", rel, f"/x-hookseal/{key}", f"a deprecated version needs its {key!r} date")
        elif status in ("draft", "released"):
            for key in ("deprecated", "sunset"):
                if meta.get(key) is not None:
                    self.add("invalid-doc", rel, f"/x-hookseal/{key}", f"only a deprecated version has a {key!r} date")
        if "deprecated" in dates and "sunset" in dates and dates["sunset"] <= dates["deprecated"]:
            self.add("invalid-doc", rel, "/x-hookseal/sunset", "the sunset must come after the deprecation")
        if "released" in dates and "deprecated" in dates and dates["deprecated"] < dates["released"]:
            self.add(
                "invalid-doc", rel, "/x-hookseal/deprecated", "a version cannot be deprecated before it was released"
            )
        if status == "deprecated" and "sunset" in dates and dates["sunset"] < self.today:
            self.add(
                "sunset-passed",
                rel,
                "/x-hookseal/sunset",
                f"the sunset ({dates['sunset']}) has passed: stop serving this version and remove it",
                "warning",
            )
        changelog = meta.get("changelog")
        if not isinstance(changelog, list) or not changelog:
            self.add(
                "missing-doc", rel, "/x-hookseal/changelog", "a non-empty changelog is required (one entry per change)"
            )
        else:
            for index, entry in enumerate(changelog):
                where = f"/x-hookseal/changelog/{index}"
                if (
                    not isinstance(entry, dict)
                    or _date(entry.get("date")) is None
                    or not _nonempty(entry.get("change"))
                ):
                    self.add("invalid-doc", rel, where, 'changelog entries are {"date": "YYYY-MM-DD", "change": "..."}')
        unknown = set(meta) - {
            "type",
            "version",
            "status",
            "fires_when",
            "frequency",
            "criticality",
            "released",
            "deprecated",
            "sunset",
            "changelog",
            "derivation",
            "ordering_key",
        }
        for key in sorted(unknown):
            self.add("invalid-doc", rel, f"/x-hookseal/{_escape(key)}", f"unknown x-hookseal field {key!r}")
        if "ordering_key" in meta and not (isinstance(meta["ordering_key"], str) and meta["ordering_key"]):
            self.add("ordering-key", rel, "/x-hookseal/ordering_key", "ordering_key is a JSON Pointer string")
        examples = doc.get("examples")
        if not isinstance(examples, list) or not examples:
            self.add(
                "missing-example", rel, "/examples", 'every event version needs at least one example in "examples"'
            )

    # ------------------------------------------------------------------ whole catalog

    def check_refs(self, catalog: Catalog) -> None:
        for rel, doc in catalog.documents.items():
            if not isinstance(doc, dict) or self.kind_of_quiet(rel) is None:
                continue
            declared = doc.get("$id")
            base = declared if isinstance(declared, str) else catalog.base_uri + rel
            for pointer, schema, _ in _walk(doc):
                ref = schema.get("$ref") if isinstance(schema, dict) else None
                if not isinstance(ref, str):
                    continue
                where = f"{pointer}/$ref"
                try:
                    catalog.resolve_ref(ref, base)
                except LookupError as exc:
                    self.add("unresolved-ref", rel, where, str(exc))
                    continue
                target, fragment = urldefrag(urljoin(base, ref))
                relative = target[len(catalog.base_uri) :] if target.startswith(catalog.base_uri) else ""
                if fragment or not _COMPONENT_FILE.match(relative):
                    self.add(
                        "ref-target", rel, where, f"$ref {ref!r} must point at a whole components/<name>.json document"
                    )
            try:
                catalog.inline(doc, base)
            except LookupError as exc:
                if "recursive" in str(exc):
                    self.add("unresolved-ref", rel, "", str(exc))

    def check_derivations(self, catalog: Catalog) -> None:
        registry = self.registry if self.registry is not None else default_registry
        for etype in catalog.events.values():
            current = etype.current
            for ev in etype:
                newer = [v for v in etype if v.version > ev.version]
                if not newer:
                    if ev.derivation is not None:
                        self.add(
                            "derivation-invalid",
                            ev.file,
                            "/x-hookseal/derivation",
                            f"v{ev.version} is the newest version: there is nothing to derive it from",
                        )
                    continue
                if ev.version >= current.version or not is_served(catalog, ev.type, ev.version, self.today):
                    continue
                problems = derivation_problems(catalog, ev, self.registry)
                for code, pointer, message in problems:
                    self.add(code, ev.file, pointer, message)
                if problems:
                    continue
                _, steps, _ = parse_steps(ev.derivation)
                unregistered = [s.name for s in steps if s.op == "function" and s.name not in registry]
                if unregistered:
                    self.add(
                        "derivation-unchecked",
                        ev.file,
                        "/x-hookseal/derivation",
                        f"function(s) {', '.join(map(repr, unregistered))} not registered: examples not derived "
                        "(load them with --derivations MODULE)",
                        "warning",
                    )
                    continue
                for index, example in enumerate(current.examples):
                    try:
                        derive(catalog, ev.type, example, ev.version, registry=registry)
                    except DerivationError as exc:
                        self.add(
                            "derivation-example",
                            ev.file,
                            "/x-hookseal/derivation",
                            f"deriving example {index} of v{current.version}: {exc.reason}",
                        )
                    except Exception as exc:  # a broken schema: reported by other checks too
                        self.add("derivation-example", ev.file, "/x-hookseal/derivation", f"cannot derive: {exc}")

    def check_ordering_keys(self, catalog: Catalog) -> None:
        for etype in catalog.events.values():
            declared = {ev.ordering_key for ev in etype if ev.ordering_key is not None}
            if not declared:
                continue
            for ev in etype:
                if not is_served(catalog, ev.type, ev.version, self.today):
                    continue
                where = "/x-hookseal/ordering_key"
                if ev.ordering_key is None or len(declared) > 1:
                    self.add(
                        "ordering-key",
                        ev.file,
                        where if ev.ordering_key is not None else "/x-hookseal",
                        f"every served version of {ev.type} declares the same ordering_key "
                        f"(found {', '.join(sorted(map(repr, declared)))}, here {ev.ordering_key!r})",
                    )
                    continue
                try:
                    info = field_info(catalog, ev.type, ev.ordering_key, ev.version)
                except UnknownFieldError as exc:
                    self.add("ordering-key", ev.file, where, str(exc))
                    continue
                except LookupError:  # a $ref that does not resolve: reported as unresolved-ref
                    continue
                if not info.always_present or info.nullable or not info.scalar or "*" in ev.ordering_key:
                    self.add(
                        "ordering-key",
                        ev.file,
                        where,
                        f"ordering_key {ev.ordering_key!r} must name a required, never-null scalar field "
                        f"(it is {'required' if info.always_present else 'optional somewhere on its path'}, "
                        f"{'nullable' if info.nullable else 'not nullable'}, type {' | '.join(info.types) or 'any'})",
                    )

    def kind_of_quiet(self, rel: str) -> Optional[str]:
        if rel == ENVELOPE:
            return "envelope"
        if _COMPONENT_FILE.match(rel):
            return "component"
        if _EVENT_FILE.match(rel):
            return "event"
        return None

    def check_examples(self, catalog: Catalog) -> None:
        for ev in catalog.versions():
            for index, example in enumerate(ev.examples):
                try:
                    issues = catalog.iter_issues(ev.type, example, ev.version)
                except Exception as exc:  # a broken schema: reported by other checks too
                    self.add("invalid-example", ev.file, f"/examples/{index}", f"cannot validate: {exc}")
                    continue
                for issue in issues:
                    self.add(
                        "invalid-example",
                        ev.file,
                        f"/examples/{index}{issue.pointer}",
                        f"example does not validate: {issue.message}",
                    )
                if not issues and isinstance(example, dict):
                    envelope = catalog.example_envelope(ev.type, ev.version, index)
                    for message in _envelope_messages(catalog, envelope):
                        self.add(
                            "invalid-example",
                            ev.file,
                            f"/examples/{index}",
                            f"the example's envelope does not validate: {message}",
                        )

    def check_envelope(self, catalog: Catalog) -> None:
        schema = catalog.envelope_schema
        props = schema.get("properties")
        props = props if isinstance(props, dict) else {}
        required = schema.get("required")
        required = required if isinstance(required, list) else []
        for name in ENVELOPE_FIELDS:
            if name not in props:
                self.add("envelope", ENVELOPE, "/properties", f"the envelope must declare {name!r}")
            elif name not in required:
                self.add("envelope", ENVELOPE, "/required", f"the envelope must require {name!r}")

    def check_duplicates_and_orphans(self, catalog: Catalog) -> None:
        claimed: dict[tuple[Any, Any], str] = {}
        for ev in catalog.versions():
            meta = ev.schema.get("x-hookseal")
            if not isinstance(meta, Mapping):
                continue
            key = (meta.get("type"), meta.get("version"))
            if key in claimed:
                self.add(
                    "duplicate-event",
                    ev.file,
                    "/x-hookseal",
                    f"{key[0]} v{key[1]} is also defined by {claimed[key]}",
                )
            else:
                claimed[key] = ev.file
        used: set[str] = set()
        pending: list[tuple[Any, str]] = [(catalog.envelope_schema, str(catalog.envelope_schema.get("$id", "")))]
        pending += [(ev.schema, ev.schema_id) for ev in catalog.versions()]
        seen: set[str] = set()
        while pending:
            doc, base = pending.pop()
            for _, schema, _ in _walk(doc):
                ref = schema.get("$ref") if isinstance(schema, dict) else None
                if not isinstance(ref, str):
                    continue
                uri = urldefrag(urljoin(base, ref))[0]
                if uri in seen:
                    continue
                seen.add(uri)
                try:
                    target, target_base = catalog.resolve_ref(ref, base)
                except LookupError:
                    continue
                used.add(target_base)
                pending.append((target, target_base))
        for name, doc in catalog.components.items():
            uri = str(doc.get("$id") or f"{catalog.base_uri}components/{name}.json")
            if uri not in used and f"{catalog.base_uri}components/{name}.json" not in used:
                self.add(
                    "orphan-component",
                    f"components/{name}.json",
                    "",
                    f"component {name!r} is not referenced by any event: remove it",
                )


@functools.lru_cache(maxsize=512)
def _meta_schema_error(text: str) -> Optional[tuple[str, str]]:
    """The meta-schema check of a document (as canonical JSON), cached: it dominates lint's
    run time and documents rarely change between runs in one process."""
    try:
        Draft202012Validator.check_schema(json.loads(text))
    except SchemaError as exc:
        return json_pointer(exc.absolute_path), str(exc.message)
    return None


def _envelope_messages(catalog: Catalog, envelope: Any) -> list[str]:
    return [str(e.message) for e in catalog.envelope_validator.iter_errors(envelope)]


def _walk(schema: Any, pointer: str = "", prop: Optional[str] = None) -> Iterator[tuple[str, Any, Optional[str]]]:
    """Yield ``(pointer, subschema, property_name)`` for a schema and every subschema."""
    yield pointer, schema, prop
    if not isinstance(schema, dict):
        return
    props = schema.get("properties")
    if isinstance(props, dict):
        for name, sub in props.items():
            yield from _walk(sub, f"{pointer}/properties/{_escape(name)}", name)
    for key in ("items", "additionalProperties"):
        sub = schema.get(key)
        if isinstance(sub, dict):
            yield from _walk(sub, f"{pointer}/{key}")
    any_of = schema.get("anyOf")
    if isinstance(any_of, list):
        for index, sub in enumerate(any_of):
            yield from _walk(sub, f"{pointer}/anyOf/{index}")


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _nonempty(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _date(value: Any) -> Optional[_dt.date]:
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        return None
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        return None


def _is_nullable_ref(any_of: Any) -> bool:
    if not isinstance(any_of, list) or len(any_of) != 2:
        return False
    kinds = sorted(
        "ref" if isinstance(s, dict) and set(s) == {"$ref"} else "null" if s == {"type": "null"} else "other"
        for s in any_of
    )
    return kinds == ["null", "ref"]


def _is_timestamp(schema: dict[str, Any]) -> bool:
    types = schema.get("type")
    if types == "integer":
        return True
    return isinstance(types, list) and sorted(types) == ["integer", "null"]
