"""``hookseal-catalog diff``: classify every change between two catalogs.

:func:`diff_catalogs` compares two loaded catalogs version by version, on the inlined
schemas (so a change to a component shows up in every event version that uses it, at the
field where it matters), and returns a :class:`DiffReport` of :class:`Change` entries.

A change is **breaking** when a receiver written against the old schema can break, or a
sender's payload that was valid can become invalid. Kinds:

Breaking
    ``event_removed``, ``version_removed``, ``field_removed``, ``field_renamed`` (a removed
    and an added field with the same schema), ``required_field_added``,
    ``field_made_required``, ``field_made_optional`` (receivers relied on it),
    ``type_narrowed``, ``type_widened`` (receivers get a type they do not expect, such as
    ``null``), ``type_changed``, ``enum_value_removed``, ``enum_added``, ``const_changed``,
    ``additional_properties_tightened``, ``pattern_tightened``, ``format_tightened``,
    ``constraint_tightened`` (min/max length, items, properties, bounds, multipleOf,
    uniqueItems), ``version_unreleased``, ``sunset_moved_earlier``, ``base_uri_changed``,
    ``unclassified_change`` (anything this module cannot prove safe).
Non-breaking
    ``event_added``, ``version_added``, ``field_added`` (optional), ``enum_value_added``,
    ``enum_removed``, ``const_removed``, ``additional_properties_loosened``,
    ``pattern_loosened``, ``format_loosened``, ``constraint_loosened``,
    ``description_changed`` (titles, descriptions, documentation fields), ``examples_changed``,
    ``field_deprecated``, ``version_released``, ``version_deprecated``,
    ``sunset_moved_later``.

A breaking change is **blocking** when it hits a version that was frozen (``released`` or
``deprecated``) in the old catalog, or the envelope. Two exceptions: removing a version
whose sunset has passed, and any change to a ``draft`` version, are reported but do not
block. ``hookseal-catalog diff`` exits 1 when anything blocks.

Either side can be a directory or a git revision (:func:`load_source`): ``HEAD~1``,
``v1.2.0``, or ``REV:path/to/catalog``.
"""

from __future__ import annotations

import datetime as _dt
import json
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from .catalog import Catalog, EventVersion, default_catalog_path, json_pointer, load_catalog
from .errors import GitSourceError

__all__ = [
    "BREAKING_KINDS",
    "NON_BREAKING_KINDS",
    "Change",
    "DerivationTodo",
    "DiffReport",
    "compare_schemas",
    "diff_catalogs",
    "load_git_catalog",
    "load_source",
    "suggest_steps",
]

BREAKING_KINDS = frozenset(
    {
        "event_removed", "version_removed", "field_removed", "field_renamed", "required_field_added",
        "field_made_required", "field_made_optional", "type_narrowed", "type_widened", "type_changed",
        "enum_value_removed", "enum_added", "const_changed", "additional_properties_tightened",
        "pattern_tightened", "format_tightened", "constraint_tightened", "version_unreleased",
        "sunset_moved_earlier", "base_uri_changed", "unclassified_change",
    }
)  # fmt: skip
NON_BREAKING_KINDS = frozenset(
    {
        "event_added", "version_added", "field_added", "enum_value_added", "enum_removed", "const_removed",
        "additional_properties_loosened", "pattern_loosened", "format_loosened", "constraint_loosened",
        "description_changed", "examples_changed", "field_deprecated", "version_released",
        "version_deprecated", "sunset_moved_later",
    }
)  # fmt: skip

_DOC_KEYWORDS = ("title", "description", "$comment")
_LOWER_BOUNDS = ("minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum")
_UPPER_BOUNDS = ("maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum")
_HANDLED = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum", "const", "multipleOf",
        "uniqueItems", "pattern", "format", "deprecated", "examples", "$schema", "$id", "x-hookseal",
        *_DOC_KEYWORDS, *_LOWER_BOUNDS, *_UPPER_BOUNDS,
    }
)  # fmt: skip


@dataclass(frozen=True)
class Change:
    """One classified difference.

    Attributes:
        kind: One of :data:`BREAKING_KINDS` or :data:`NON_BREAKING_KINDS`.
        breaking: Whether the kind is breaking.
        event: The event type, or None for the envelope and the catalog itself.
        version: The event's major version, or None.
        path: The field, dotted (``invoice.lines[].amount``; ``[]`` is an array's items,
            ``{}`` a map's values), or ``""`` for the whole payload.
        message: A sentence for humans.
        blocking: Whether the change blocks a release (see the module documentation).
    """

    kind: str
    breaking: bool
    event: Optional[str]
    version: Optional[int]
    path: str
    message: str
    blocking: bool = False

    @property
    def target(self) -> str:
        """``invoice.paid v1``, ``envelope`` or ``catalog``."""
        if self.event is None:
            return "envelope" if self.version is None and self.kind != "base_uri_changed" else "catalog"
        return f"{self.event} v{self.version}" if self.version is not None else self.event

    def to_dict(self) -> dict[str, Any]:
        """The change as a JSON-ready dict (the ``--json`` output's ``changes`` items)."""
        return asdict(self)


@dataclass(frozen=True)
class DerivationTodo:
    """A superseded version that still needs its derivation written (see
    :mod:`hookseal_catalog.derivation`), with the steps :func:`suggest_steps` proposes.

    Attributes:
        event: The event type.
        version: The superseded version that needs ``x-hookseal.derivation``.
        from_version: The new major version it is derived from.
        steps: Proposed steps; a ``default`` step's ``value`` is None until you choose it,
            and a ``function`` step stands for a change steps cannot express.
        notes: One line per step, saying why it is needed.
    """

    event: str
    version: int
    from_version: int
    steps: tuple[dict[str, Any], ...]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The to-do as a JSON-ready dict (the ``--json`` output's ``derivations`` items)."""
        return {
            "event": self.event,
            "version": self.version,
            "derivation": {"from_version": self.from_version, "steps": list(self.steps)},
            "notes": list(self.notes),
        }


@dataclass
class DiffReport:
    """The result of :func:`diff_catalogs`.

    Attributes:
        old: A label for the old side (a directory or ``REV:path``).
        new: A label for the new side.
        changes: Every change, breaking ones first.
        derivations: For each new major version, the superseded version whose derivation
            is still to be written, with suggested steps.
    """

    old: str
    new: str
    changes: list[Change] = field(default_factory=list)
    derivations: list[DerivationTodo] = field(default_factory=list)

    @property
    def breaking(self) -> list[Change]:
        """The breaking changes."""
        return [c for c in self.changes if c.breaking]

    @property
    def blocking(self) -> list[Change]:
        """The breaking changes to frozen versions (or the envelope): these fail the check."""
        return [c for c in self.changes if c.blocking]

    @property
    def ok(self) -> bool:
        """True when nothing blocks."""
        return not self.blocking

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: ``{"old", "new", "ok", "summary", "changes"}``."""
        return {
            "old": self.old,
            "new": self.new,
            "ok": self.ok,
            "summary": {
                "changes": len(self.changes),
                "breaking": len(self.breaking),
                "blocking": len(self.blocking),
            },
            "changes": [c.to_dict() for c in self.changes],
            "derivations": [d.to_dict() for d in self.derivations],
        }

    def format_text(self) -> str:
        """The human-readable report ``hookseal-catalog diff`` prints."""
        lines = [
            f"Catalog diff {self.old} -> {self.new}: {len(self.changes)} change(s), "
            f"{len(self.breaking)} breaking, {len(self.blocking)} blocking"
        ]
        groups = [
            ("BLOCKING: breaking changes to released versions", [c for c in self.changes if c.blocking]),
            (
                "Breaking, but allowed (draft versions, or removal after the sunset)",
                [c for c in self.changes if c.breaking and not c.blocking],
            ),
            ("Non-breaking", [c for c in self.changes if not c.breaking]),
        ]
        for title, changes in groups:
            if not changes:
                continue
            lines += ["", title + ":"]
            for c in changes:
                where = c.target + (f" {c.path}" if c.path else "")
                lines.append(f"  {where}: {c.message} [{c.kind}]")
        for todo in self.derivations:
            lines += [
                "",
                f"To write: {todo.event} v{todo.version} is derived from v{todo.from_version}. Suggested "
                "x-hookseal.derivation (check each step; `lint` derives the examples):",
                "  "
                + json.dumps({"from_version": todo.from_version, "steps": list(todo.steps)}, indent=2).replace(
                    "\n", "\n  "
                ),
                *(f"  - {note}" for note in todo.notes),
            ]
        if not self.changes:
            lines.append("No changes.")
        elif self.ok:
            lines += ["", "OK: no released version changed incompatibly."]
        else:
            lines += [
                "",
                "FAILED: a released version changed incompatibly. Keep the old version as it was and "
                "publish the change as a new major version (see event_catalog/README.md).",
            ]
        return "\n".join(lines)


# ----------------------------------------------------------------------------- schemas


def _types(schema: Mapping[str, Any]) -> Optional[frozenset[str]]:
    t = schema.get("type")
    if isinstance(t, str):
        return frozenset({t})
    if isinstance(t, list):
        return frozenset(x for x in t if isinstance(x, str))
    return None


def _is_nullable_idiom(any_of: Any) -> bool:
    return (
        isinstance(any_of, list)
        and len(any_of) == 2
        and sum(1 for s in any_of if s == {"type": "null"}) == 1
        and sum(1 for s in any_of if isinstance(s, Mapping) and s != {"type": "null"}) == 1
    )


def _normalize(schema: Any) -> dict[str, Any]:
    """Booleans become dicts; ``anyOf: [X, {type: null}]`` becomes X with ``null`` added."""
    if schema is True or schema is None:
        return {}
    if schema is False:
        return {"not": {}}
    if not isinstance(schema, Mapping):
        return {}
    out = dict(schema)
    any_of = out.get("anyOf")
    if isinstance(any_of, list) and _is_nullable_idiom(any_of):
        inner = next(s for s in any_of if s != {"type": "null"})
        merged = dict(inner)
        merged.update({k: v for k, v in out.items() if k != "anyOf"})
        types = _types(inner)
        if types is not None:
            merged["type"] = sorted(types | {"null"})
        if isinstance(inner.get("enum"), list) and None not in inner["enum"]:
            merged["enum"] = [*inner["enum"], None]
        return merged
    return out


def _covered(t: str, types: frozenset[str]) -> bool:
    return t in types or (t == "integer" and "number" in types)


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _shape(schema: Any) -> str:
    """A schema without its documentation, canonicalized (for rename detection)."""
    if isinstance(schema, list):
        return "[" + ",".join(_shape(s) for s in schema) + "]"
    if not isinstance(schema, Mapping):
        return _canon(schema)
    parts = [
        f"{_canon(k)}:{_shape(v)}"
        for k, v in sorted(schema.items())
        if k not in (*_DOC_KEYWORDS, "examples", "deprecated")
    ]
    return "{" + ",".join(parts) + "}"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _fmt_types(types: Optional[frozenset[str]]) -> str:
    return "any" if types is None else " | ".join(sorted(types))


def _ap_kind(value: Any) -> str:
    if value is None or value is True or value == {}:
        return "any"
    if value is False:
        return "none"
    return "schema"


Finding = tuple[str, str, str]  # (kind, path, message)


def compare_schemas(old: Any, new: Any, path: str = "") -> list[Finding]:
    """Compare two inlined schemas; returns ``(kind, path, message)`` findings.

    Schemas must have no ``$ref`` (use :meth:`Catalog.inline`). Documentation differences are
    reported once per node as ``description_changed``.
    """
    findings: list[Finding] = []
    _compare(_normalize(old), _normalize(new), path, findings)
    return findings


def _compare(old: dict[str, Any], new: dict[str, Any], path: str, out: list[Finding]) -> None:
    field_name = path or "the payload"
    # --- documentation
    docs = [k for k in _DOC_KEYWORDS if old.get(k) != new.get(k)]
    if docs:
        out.append(("description_changed", path, f"{', '.join(docs)} of {field_name} changed"))
    if old.get("examples") != new.get("examples") and path:
        out.append(("examples_changed", path, f"examples of {field_name} changed"))
    if bool(old.get("deprecated")) != bool(new.get("deprecated")):
        state = "deprecated" if new.get("deprecated") else "no longer deprecated"
        out.append(("field_deprecated", path, f"{field_name} is now {state}"))
    # --- type
    ot, nt = _types(old), _types(new)
    if ot != nt:
        widened = ot is not None and (nt is None or all(_covered(t, nt) for t in ot))
        narrowed = nt is not None and (ot is None or all(_covered(t, ot) for t in nt))
        if narrowed and not widened:
            out.append(
                ("type_narrowed", path, f"type of {field_name} narrowed from {_fmt_types(ot)} to {_fmt_types(nt)}")
            )
        elif widened and not narrowed:
            out.append(
                (
                    "type_widened",
                    path,
                    f"type of {field_name} widened from {_fmt_types(ot)} to {_fmt_types(nt)}: "
                    "receivers may get values they do not expect",
                )
            )
        elif not (widened and narrowed):
            out.append(
                ("type_changed", path, f"type of {field_name} changed from {_fmt_types(ot)} to {_fmt_types(nt)}")
            )
    # --- enum and const
    if "enum" in old or "enum" in new:
        if "enum" not in old:
            out.append(("enum_added", path, f"{field_name} is now restricted to {len(new['enum'])} value(s)"))
        elif "enum" not in new:
            out.append(("enum_removed", path, f"{field_name} is no longer restricted to a list of values"))
        else:
            old_values = {_canon(v): v for v in old["enum"]}
            new_values = {_canon(v): v for v in new["enum"]}
            removed = [old_values[k] for k in old_values if k not in new_values]
            added = [new_values[k] for k in new_values if k not in old_values]
            if removed:
                out.append(("enum_value_removed", path, f"{field_name} lost value(s) {_values(removed)}"))
            if added:
                out.append(("enum_value_added", path, f"{field_name} gained value(s) {_values(added)}"))
    if "const" in old or "const" in new:
        if "const" not in new:
            out.append(("const_removed", path, f"{field_name} is no longer a constant"))
        elif "const" not in old or _canon(old["const"]) != _canon(new["const"]):
            out.append(("const_changed", path, f"{field_name} must now be {_canon(new['const'])}"))
    # --- string constraints
    for keyword, tightened, loosened in (
        ("pattern", "pattern_tightened", "pattern_loosened"),
        ("format", "format_tightened", "format_loosened"),
    ):
        before, after = old.get(keyword), new.get(keyword)
        if before == after:
            continue
        if after is None:
            out.append((loosened, path, f"{keyword} {before!r} of {field_name} removed"))
        elif before is None:
            out.append((tightened, path, f"{field_name} now has {keyword} {after!r}"))
        else:
            out.append((tightened, path, f"{keyword} of {field_name} changed from {before!r} to {after!r}"))
    # --- numeric, length, size bounds
    for keyword in _LOWER_BOUNDS + _UPPER_BOUNDS:
        before, after = old.get(keyword), new.get(keyword)
        if before == after or (before is not None and not isinstance(before, (int, float))):
            continue
        if after is None:
            out.append(("constraint_loosened", path, f"{keyword} {before} of {field_name} removed"))
        elif before is None:
            out.append(("constraint_tightened", path, f"{field_name} now has {keyword} {after}"))
        else:
            tighter = after > before if keyword in _LOWER_BOUNDS else after < before
            kind = "constraint_tightened" if tighter else "constraint_loosened"
            out.append((kind, path, f"{keyword} of {field_name} changed from {before} to {after}"))
    before, after = old.get("multipleOf"), new.get("multipleOf")
    if before != after:
        if after is None:
            out.append(("constraint_loosened", path, f"multipleOf of {field_name} removed"))
        elif (
            before is not None
            and isinstance(before, (int, float))
            and isinstance(after, (int, float))
            and before % after == 0
        ):
            out.append(("constraint_loosened", path, f"multipleOf of {field_name} changed from {before} to {after}"))
        else:
            out.append(("constraint_tightened", path, f"multipleOf of {field_name} is now {after}"))
    if bool(old.get("uniqueItems")) != bool(new.get("uniqueItems")):
        kind = "constraint_tightened" if new.get("uniqueItems") else "constraint_loosened"
        out.append((kind, path, f"uniqueItems of {field_name} is now {bool(new.get('uniqueItems'))}"))
    # --- objects
    _compare_properties(old, new, path, out)
    before_kind, after_kind = _ap_kind(old.get("additionalProperties")), _ap_kind(new.get("additionalProperties"))
    order = {"none": 0, "schema": 1, "any": 2}
    if before_kind == after_kind == "schema":
        _compare(
            _normalize(old["additionalProperties"]),
            _normalize(new["additionalProperties"]),
            path + "{}",
            out,
        )
    elif order[after_kind] < order[before_kind]:
        out.append(("additional_properties_tightened", path, f"{field_name} accepts fewer additional properties"))
    elif order[after_kind] > order[before_kind]:
        out.append(("additional_properties_loosened", path, f"{field_name} accepts more additional properties"))
    # --- arrays
    if "items" in old or "items" in new:
        _compare(_normalize(old.get("items")), _normalize(new.get("items")), path + "[]", out)
    # --- anything else
    for keyword in sorted((set(old) | set(new)) - _HANDLED):
        if _canon(old.get(keyword)) != _canon(new.get(keyword)):
            out.append(("unclassified_change", path, f"keyword {keyword!r} of {field_name} changed"))


def _values(values: Iterable[Any]) -> str:
    return ", ".join(_canon(v) for v in values)


def _compare_properties(old: dict[str, Any], new: dict[str, Any], path: str, out: list[Finding]) -> None:
    old_props = old.get("properties") if isinstance(old.get("properties"), Mapping) else {}
    new_props = new.get("properties") if isinstance(new.get("properties"), Mapping) else {}
    assert isinstance(old_props, Mapping) and isinstance(new_props, Mapping)
    old_req = set(old.get("required") or [])
    new_req = set(new.get("required") or [])
    removed = [n for n in old_props if n not in new_props]
    added = [n for n in new_props if n not in old_props]
    renamed: dict[str, str] = {}
    for name in removed:
        for candidate in added:
            if candidate in renamed.values():
                continue
            same_shape = _shape(_normalize(old_props[name])) == _shape(_normalize(new_props[candidate]))
            if same_shape and (name in old_req) == (candidate in new_req):
                renamed[name] = candidate
                break
    for name in removed:
        where = _join(path, name)
        if name in renamed:
            out.append(("field_renamed", where, f"field {where} renamed to {_join(path, renamed[name])}"))
        else:
            out.append(("field_removed", where, f"field {where} removed"))
    for name in added:
        if name in renamed.values():
            continue
        where = _join(path, name)
        if name in new_req:
            out.append(
                ("required_field_added", where, f"required field {where} added: payloads without it become invalid")
            )
        else:
            out.append(("field_added", where, f"optional field {where} added"))
    for name in old_props:
        if name not in new_props:
            continue
        where = _join(path, name)
        if name in new_req and name not in old_req:
            out.append(("field_made_required", where, f"field {where} is now required"))
        elif name in old_req and name not in new_req:
            out.append(("field_made_optional", where, f"field {where} is now optional: receivers relied on it"))
        _compare(_normalize(old_props[name]), _normalize(new_props[name]), where, out)
    for name in sorted(new_req - old_req - set(new_props)):
        out.append(("field_made_required", _join(path, name), f"undeclared field {_join(path, name)} is now required"))


# ----------------------------------------------------------------------------- catalogs


_META_DOCS = ("fires_when", "frequency", "criticality", "released", "deprecated", "changelog")


def _compare_versions(old: EventVersion, new: EventVersion, old_cat: Catalog, new_cat: Catalog) -> list[Finding]:
    findings: list[Finding] = []
    if old.status != new.status:
        if new.status == "draft":
            findings.append(("version_unreleased", "", f"status went from {old.status} back to draft"))
        elif new.status == "deprecated":
            findings.append(("version_deprecated", "", f"deprecated; sunset {new.sunset}"))
        elif old.status == "draft":
            findings.append(("version_released", "", "released"))
        else:
            findings.append(("version_released", "", f"status went from {old.status} to {new.status}"))
    old_sunset, new_sunset = old.sunset_date(), new.sunset_date()
    if old_sunset and new_sunset and old_sunset != new_sunset:
        if new_sunset < old_sunset:
            findings.append(("sunset_moved_earlier", "", f"sunset moved earlier, from {old.sunset} to {new.sunset}"))
        else:
            findings.append(("sunset_moved_later", "", f"sunset moved later, from {old.sunset} to {new.sunset}"))
    old_meta = old.schema.get("x-hookseal") if isinstance(old.schema.get("x-hookseal"), Mapping) else {}
    new_meta = new.schema.get("x-hookseal") if isinstance(new.schema.get("x-hookseal"), Mapping) else {}
    assert isinstance(old_meta, Mapping) and isinstance(new_meta, Mapping)
    changed_docs = [k for k in _META_DOCS if _canon(old_meta.get(k)) != _canon(new_meta.get(k))]
    if changed_docs:
        findings.append(("description_changed", "", f"documentation changed: {', '.join(changed_docs)}"))
    if _canon(list(old.examples)) != _canon(list(new.examples)):
        findings.append(("examples_changed", "", "examples changed"))
    try:
        old_schema = old_cat.inline(old.schema, old.schema_id)
        new_schema = new_cat.inline(new.schema, new.schema_id)
    except LookupError as exc:
        findings.append(("unclassified_change", "", f"cannot compare: {exc}"))
        return findings
    findings += compare_schemas(old_schema, new_schema)
    return findings


def diff_catalogs(
    old: Catalog,
    new: Catalog,
    *,
    today: Optional[_dt.date] = None,
    old_label: str = "old",
    new_label: str = "new",
) -> DiffReport:
    """Classify every change from ``old`` to ``new``.

    Args:
        old: The catalog before the change (a release, a git revision).
        new: The catalog after it.
        today: The UTC date that decides whether a sunset has passed (default: today).
        old_label: How the report names the old side.
        new_label: How the report names the new side.

    Returns:
        A :class:`DiffReport`; ``report.ok`` is False when a frozen version changed
        incompatibly.
    """
    today = today or _dt.datetime.now(_dt.timezone.utc).date()
    changes: list[Change] = []

    def add(finding: Finding, event: Optional[str], version: Optional[int], frozen: bool, exempt: bool = False) -> None:
        kind, path, message = finding
        breaking = kind not in NON_BREAKING_KINDS
        changes.append(Change(kind, breaking, event, version, path, message, breaking and frozen and not exempt))

    if old.base_uri != new.base_uri:
        add(("base_uri_changed", "", f"base_uri changed from {old.base_uri} to {new.base_uri}"), None, None, True)
    env_old = old.inline(old.envelope_schema, old.base_uri + "envelope.json")
    env_new = new.inline(new.envelope_schema, new.base_uri + "envelope.json")
    for finding in compare_schemas(env_old, env_new):
        add(finding, None, None, True)
    for etype in sorted(set(old.events) | set(new.events)):
        old_versions = old.events[etype].versions if etype in old.events else {}
        new_versions = new.events[etype].versions if etype in new.events else {}
        for major in sorted(set(old_versions) | set(new_versions)):
            before, after = old_versions.get(major), new_versions.get(major)
            if before is None and after is not None:
                kind = "event_added" if not old_versions else "version_added"
                add(
                    (kind, "", f"{'event' if kind == 'event_added' else 'version'} added ({after.status})"),
                    etype,
                    major,
                    False,
                )
            elif before is not None and after is None:
                kind = "event_removed" if not new_versions else "version_removed"
                past = before.is_past_sunset(today)
                note = f" after its sunset ({before.sunset})" if past else ""
                what = "event removed" if kind == "event_removed" else "version removed"
                add((kind, "", f"{what}{note}"), etype, major, before.is_frozen, exempt=past)
            elif before is not None and after is not None:
                for finding in _compare_versions(before, after, old, new):
                    add(finding, etype, major, before.is_frozen)
    changes.sort(key=lambda c: (not c.blocking, not c.breaking))
    todo: list[DerivationTodo] = []
    for change in changes:
        if change.kind != "version_added" or change.event is None or change.version is None:
            continue
        older = [v for v in new.events[change.event].versions if v < change.version]
        if not older:
            continue
        previous = new.get(change.event, max(older))
        if previous.derivation is None and previous.status != "draft":
            steps, notes = suggest_steps(new, change.event, previous.version, change.version)
            todo.append(DerivationTodo(change.event, previous.version, change.version, tuple(steps), tuple(notes)))
    return DiffReport(old_label, new_label, changes, todo)


def _pointer_of(path: str) -> Optional[str]:
    if not path or "[]" in path or "{}" in path:
        return None
    return json_pointer(path.split("."))


def suggest_steps(
    catalog: Catalog, event_type: str, version: int, from_version: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """Propose the derivation steps turning ``from_version``'s data into ``version``'s.

    Compares the two inlined schemas: a field only the newer version has is removed, a
    renamed one (same shape) is moved, a required field only the older one has gets a
    ``default`` (value to choose), and anything else (a type change, a narrowed enum, a
    field inside an array) needs a registered ``function``. Returns ``(steps, notes)``.
    """
    old = catalog.resolved_schema(event_type, version)
    new = catalog.resolved_schema(event_type, from_version)
    steps: list[dict[str, Any]] = []
    notes: list[str] = []
    needs_function: list[str] = []
    for kind, path, _message in compare_schemas(new, old):
        pointer = _pointer_of(path)
        if kind in NON_BREAKING_KINDS and kind != "field_added":
            continue
        if kind == "field_added":
            continue  # an optional field of the old version may stay absent
        if kind == "field_removed" and pointer:
            steps.append({"op": "remove", "path": pointer})
            notes.append(f"{path} is not in v{version}")
        elif kind == "field_renamed" and pointer:
            target = _message.rsplit(" renamed to ", 1)[-1]
            target_pointer = _pointer_of(target)
            if target_pointer:
                steps.append({"op": "move", "from": pointer, "path": target_pointer})
                notes.append(f"{path} is called {target} in v{version}")
            else:
                needs_function.append(f"{path}: renamed inside an array or map")
        elif kind == "required_field_added" and pointer:
            steps.append({"op": "default", "path": pointer, "value": None})
            notes.append(f"{path} is required in v{version} and absent from v{from_version}: choose its value")
        else:
            needs_function.append(f"{path or 'the payload'}: {kind.replace('_', ' ')}")
    if needs_function:
        name = f"{event_type.replace('.', '_')}_v{version}"
        steps.append({"op": "function", "name": name})
        notes.append(f"register a function {name!r} for what steps cannot say: " + "; ".join(needs_function))
    return steps, notes


# ----------------------------------------------------------------------------- sources


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)


def _repo_root(start: Path) -> Optional[Path]:
    result = _git(start, "rev-parse", "--show-toplevel")
    if result.returncode != 0:
        return None
    return Path(result.stdout.decode().strip())


def load_git_catalog(
    spec: str, *, repo: Union[str, Path, None] = None, catalog_dir: Union[str, Path, None] = None
) -> Catalog:
    """Load the catalog as it was at a git revision.

    Args:
        spec: ``REV`` or ``REV:PATH``; PATH is the catalog directory relative to the
            repository root and defaults to ``catalog_dir``'s place in it.
        repo: A directory inside the repository (default: the current directory).
        catalog_dir: The catalog directory whose history ``REV`` alone means (default: the
            sample catalog shipped in this package).

    Raises:
        GitSourceError: not a git repository, an unknown revision, or no catalog there.
    """
    start = Path(repo) if repo is not None else Path.cwd()
    root = _repo_root(start)
    if root is None:
        raise GitSourceError(f"{start} is not inside a git repository")
    rev, _, rel = spec.partition(":")
    if not rel:
        try:
            where = Path(catalog_dir).resolve() if catalog_dir is not None else default_catalog_path()
            rel = where.relative_to(root.resolve()).as_posix()
        except ValueError:
            raise GitSourceError(f"cannot tell where the catalog is in {root}: give the revision as REV:PATH") from None
    if _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").returncode != 0:
        raise GitSourceError(f"{rev!r} is neither a directory nor a git revision of {root}")
    listing = _git(root, "ls-tree", "-r", "-z", "--name-only", rev, "--", rel)
    if listing.returncode != 0:
        raise GitSourceError(f"git ls-tree failed: {listing.stderr.decode(errors='replace').strip()}")
    names = [n for n in listing.stdout.decode().split("\0") if n]
    documents: dict[str, Any] = {}
    prefix = rel.rstrip("/") + "/"
    for name in names:
        if not name.endswith(".json") or not name.startswith(prefix):
            continue
        blob = _git(root, "show", f"{rev}:{name}")
        if blob.returncode != 0:
            raise GitSourceError(f"cannot read {rev}:{name}")
        try:
            documents[name[len(prefix) :]] = json.loads(blob.stdout.decode("utf-8"))
        except ValueError as exc:
            raise GitSourceError(f"{rev}:{name} is not valid JSON: {exc}") from None
    if not documents:
        raise GitSourceError(f"there is no catalog at {rev}:{rel}")
    return Catalog(documents, root=None)


def load_source(
    spec: str, *, repo: Union[str, Path, None] = None, catalog_dir: Union[str, Path, None] = None
) -> Catalog:
    """Load a catalog from a directory, or (when ``spec`` is not one) from a git revision
    (see :func:`load_git_catalog` for ``catalog_dir``)."""
    if Path(spec).is_dir():
        return load_catalog(spec)
    return load_git_catalog(spec, repo=repo, catalog_dir=catalog_dir)
