"""hookseal_catalog.diff: every breaking and non-breaking change is classified, on pairs of
catalogs, on git revisions, and on this repository's own history."""

from __future__ import annotations

import copy
import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any, Optional

import pytest
from catalog_testing import mini_catalog, mini_documents
from hookseal_catalog import Catalog, load_catalog
from hookseal_catalog.catalog import default_catalog_path
from hookseal_catalog.diff import (
    BREAKING_KINDS,
    NON_BREAKING_KINDS,
    compare_schemas,
    diff_catalogs,
    load_git_catalog,
    load_source,
)
from hookseal_catalog.errors import GitSourceError

TODAY = dt.date(2026, 11, 23)
E = ("thing.happened", 1)

BASE_PROPS: dict[str, Any] = {
    "name": {"type": "string", "maxLength": 50, "description": "Name."},
    "code": {"type": "string", "pattern": "^[a-z]+$", "description": "Code."},
    "kind": {"type": "string", "enum": ["a", "b"], "description": "Kind."},
    "count": {"type": "integer", "minimum": 0, "maximum": 100, "description": "Count."},
    "note": {"type": ["string", "null"], "description": "Note."},
    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5, "description": "Tags."},
    "meta": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Meta."},
    "open": {"type": "object", "description": "Anything."},
}
BASE_SCHEMA: dict[str, Any] = {"properties": BASE_PROPS, "required": ["name", "code", "kind", "count"]}


def _changed(mutate: Any) -> dict[str, Any]:
    schema = copy.deepcopy(BASE_SCHEMA)
    mutate(schema)
    return schema


def _kinds(old: dict[str, Any], new: dict[str, Any], **kwargs: Any) -> dict[str, tuple[bool, bool, str]]:
    report = diff_catalogs(mini_catalog({E: old}, **kwargs), mini_catalog({E: new}, **kwargs), today=TODAY)
    return {c.kind: (c.breaking, c.blocking, c.path) for c in report.changes}


P = BASE_PROPS
SCHEMA_CASES: list[tuple[str, Any, str, str]] = [
    # (label, mutation, expected kind, expected path)
    ("field removed", lambda s: (s["properties"].pop("note")), "field_removed", "note"),
    (
        "field renamed",
        lambda s: (
            s["properties"].__setitem__("label", s["properties"].pop("name")),
            s["required"].__setitem__(0, "label"),
        ),
        "field_renamed",
        "name",
    ),
    ("type changed", lambda s: s["properties"]["count"].update(type="string"), "type_changed", "count"),
    ("type narrowed (null removed)", lambda s: s["properties"]["note"].update(type="string"), "type_narrowed", "note"),
    ("type narrowed (number to integer)", None, "type_narrowed", "ratio"),
    (
        "type widened (null added)",
        lambda s: s["properties"]["name"].update(type=["string", "null"]),
        "type_widened",
        "name",
    ),
    ("optional made required", lambda s: s["required"].append("note"), "field_made_required", "note"),
    ("required made optional", lambda s: s["required"].remove("name"), "field_made_optional", "name"),
    (
        "required field added",
        lambda s: (s["properties"].update(extra={"type": "string", "description": "x"}), s["required"].append("extra")),
        "required_field_added",
        "extra",
    ),
    ("enum value removed", lambda s: s["properties"]["kind"].update(enum=["a"]), "enum_value_removed", "kind"),
    ("enum added", lambda s: s["properties"]["name"].update(enum=["x", "y"]), "enum_added", "name"),
    ("const changed", lambda s: s["properties"]["name"].update(const="fixed"), "const_changed", "name"),
    (
        "additionalProperties tightened (map)",
        lambda s: s["properties"]["meta"].update(additionalProperties=False),
        "additional_properties_tightened",
        "meta",
    ),
    (
        "additionalProperties tightened (open)",
        lambda s: s["properties"]["open"].update(additionalProperties={"type": "string"}),
        "additional_properties_tightened",
        "open",
    ),
    ("pattern tightened", lambda s: s["properties"]["code"].update(pattern="^[a-z]{3}$"), "pattern_tightened", "code"),
    ("pattern added", lambda s: s["properties"]["name"].update(pattern="^[A-Z]"), "pattern_tightened", "name"),
    ("format added", lambda s: s["properties"]["name"].update(format="email"), "format_tightened", "name"),
    ("maxLength lowered", lambda s: s["properties"]["name"].update(maxLength=10), "constraint_tightened", "name"),
    ("minimum raised", lambda s: s["properties"]["count"].update(minimum=1), "constraint_tightened", "count"),
    ("maximum lowered", lambda s: s["properties"]["count"].update(maximum=10), "constraint_tightened", "count"),
    ("maxItems lowered", lambda s: s["properties"]["tags"].update(maxItems=2), "constraint_tightened", "tags"),
    ("uniqueItems added", lambda s: s["properties"]["tags"].update(uniqueItems=True), "constraint_tightened", "tags"),
    ("multipleOf added", lambda s: s["properties"]["count"].update(multipleOf=5), "constraint_tightened", "count"),
    ("items type changed", lambda s: s["properties"]["tags"]["items"].update(type="integer"), "type_changed", "tags[]"),
    (
        "map value type changed",
        lambda s: s["properties"]["meta"]["additionalProperties"].update(type="integer"),
        "type_changed",
        "meta{}",
    ),
    (
        "unknown keyword",
        lambda s: s["properties"]["name"].update(oneOf=[{"maxLength": 3}]),
        "unclassified_change",
        "name",
    ),
    # non-breaking
    (
        "optional field added",
        lambda s: s["properties"].update(extra={"type": "string", "description": "x"}),
        "field_added",
        "extra",
    ),
    ("enum value added", lambda s: s["properties"]["kind"]["enum"].append("c"), "enum_value_added", "kind"),
    ("enum removed", lambda s: s["properties"]["kind"].pop("enum"), "enum_removed", "kind"),
    (
        "description changed",
        lambda s: s["properties"]["name"].update(description="The name."),
        "description_changed",
        "name",
    ),
    ("title added", lambda s: s["properties"]["name"].update(title="Name"), "description_changed", "name"),
    ("pattern removed", lambda s: s["properties"]["code"].pop("pattern"), "pattern_loosened", "code"),
    ("maxLength raised", lambda s: s["properties"]["name"].update(maxLength=500), "constraint_loosened", "name"),
    ("maximum removed", lambda s: s["properties"]["count"].pop("maximum"), "constraint_loosened", "count"),
    (
        "additionalProperties loosened",
        lambda s: s.update(additionalProperties=True),
        "additional_properties_loosened",
        "",
    ),
    ("field deprecated", lambda s: s["properties"]["name"].update(deprecated=True), "field_deprecated", "name"),
]


@pytest.mark.parametrize(("label", "mutate", "kind", "path"), SCHEMA_CASES, ids=[c[0] for c in SCHEMA_CASES])
def test_each_schema_change_is_classified(label: str, mutate: Any, kind: str, path: str) -> None:
    if mutate is None:  # number -> integer needs a number field to start from
        old = _changed(lambda s: s["properties"].update(ratio={"type": "number", "description": "Ratio."}))
        new = _changed(lambda s: s["properties"].update(ratio={"type": "integer", "description": "Ratio."}))
    else:
        old, new = BASE_SCHEMA, _changed(mutate)
    kinds = _kinds(old, new)
    assert kind in kinds, kinds
    breaking, blocking, where = kinds[kind]
    assert where == path
    assert breaking is (kind in BREAKING_KINDS)
    assert blocking is breaking  # the version is released
    assert kind in BREAKING_KINDS | NON_BREAKING_KINDS


def test_every_documented_kind_is_exercised() -> None:
    exercised = {c[2] for c in SCHEMA_CASES} | {
        "event_removed", "version_removed", "event_added", "version_added", "version_released",
        "version_deprecated", "version_unreleased", "sunset_moved_earlier", "sunset_moved_later",
        "examples_changed", "base_uri_changed", "const_removed", "format_loosened",
    }  # fmt: skip
    assert exercised >= BREAKING_KINDS | NON_BREAKING_KINDS - {"format_loosened", "const_removed"}
    assert not BREAKING_KINDS & NON_BREAKING_KINDS


def test_const_and_format_loosened() -> None:
    assert compare_schemas({"const": 1}, {}) == [("const_removed", "", "the payload is no longer a constant")]
    assert compare_schemas({"format": "email"}, {})[0][0] == "format_loosened"
    assert compare_schemas({"multipleOf": 10}, {"multipleOf": 5})[0][0] == "constraint_loosened"
    assert compare_schemas({}, {}) == []


def test_nullable_refs_compare_like_nullable_types() -> None:
    money = {"type": "object", "properties": {"amount": {"type": "integer"}}}
    nullable = {"anyOf": [money, {"type": "null"}]}
    assert [k for k, _, _ in compare_schemas(nullable, money)] == ["type_narrowed"]
    assert [k for k, _, _ in compare_schemas(money, nullable)] == ["type_widened"]
    assert compare_schemas(nullable, copy.deepcopy(nullable)) == []


def test_component_changes_surface_in_each_event_that_uses_it() -> None:
    component = {
        "properties": {"amount": {"type": "integer", "description": "x"}},
        "required": ["amount"],
        "additionalProperties": False,
    }
    uses = {"properties": {"total": {"$ref": "../../components/money.json", "description": "t"}}, "required": ["total"]}
    events = {("a.b", 1): uses, ("c.d", 1): uses}
    old = mini_catalog(events, components={"money": component})
    changed = copy.deepcopy(component)
    changed["properties"]["amount"]["type"] = "string"
    new = mini_catalog(events, components={"money": changed})
    report = diff_catalogs(old, new, today=TODAY)
    assert {(c.event, c.path, c.kind) for c in report.blocking} == {
        ("a.b", "total.amount", "type_changed"),
        ("c.d", "total.amount", "type_changed"),
    }


def test_events_and_versions_added_and_removed() -> None:
    old = mini_catalog({E: BASE_SCHEMA, ("gone.away", 1): BASE_SCHEMA})
    new = mini_catalog({E: BASE_SCHEMA, ("thing.happened", 2): BASE_SCHEMA, ("brand.new", 1): BASE_SCHEMA})
    report = diff_catalogs(old, new, today=TODAY)
    got = {(c.event, c.version, c.kind, c.breaking, c.blocking) for c in report.changes}
    assert got == {
        ("gone.away", 1, "event_removed", True, True),
        ("thing.happened", 2, "version_added", False, False),
        ("brand.new", 1, "event_added", False, False),
    }
    assert not report.ok
    back = diff_catalogs(
        mini_catalog({E: BASE_SCHEMA, ("thing.happened", 2): BASE_SCHEMA}), mini_catalog({E: BASE_SCHEMA}), today=TODAY
    )
    assert [(c.kind, c.version) for c in back.changes] == [("version_removed", 2)]


def test_a_new_major_version_lists_the_derivation_steps_to_write() -> None:
    v2_props = dict(BASE_PROPS)
    v2_props["title"] = v2_props.pop("name")  # renamed
    v2_props.pop("code")  # removed: v1 requires it
    v2_props["extra"] = {"type": "integer", "description": "Extra."}  # new
    v2_props["count"] = {"type": "string", "description": "Count."}  # retyped
    v2 = {"properties": v2_props, "required": ["title", "kind", "count", "extra"]}
    old = mini_catalog({E: BASE_SCHEMA})
    new = mini_catalog({E: BASE_SCHEMA, ("thing.happened", 2): v2})
    report = diff_catalogs(old, new, today=TODAY)
    [todo] = report.derivations
    assert (todo.event, todo.version, todo.from_version) == ("thing.happened", 1, 2)
    assert list(todo.steps) == [
        {"op": "move", "from": "/title", "path": "/name"},
        {"op": "remove", "path": "/extra"},
        {"op": "default", "path": "/code", "value": None},
        {"op": "function", "name": "thing_happened_v1"},
    ]
    assert "count: type changed" in todo.notes[-1]
    text = report.format_text()
    assert "To write: thing.happened v1 is derived from v2" in text and '"op": "move"' in text
    assert report.to_dict()["derivations"][0]["derivation"]["from_version"] == 2
    declared = mini_catalog(
        {E: BASE_SCHEMA, ("thing.happened", 2): v2},
        statuses={E: {"derivation": {"from_version": 2, "steps": []}}},
    )
    assert diff_catalogs(old, declared, today=TODAY).derivations == []


def test_removing_a_version_after_its_sunset_does_not_block() -> None:
    lifecycle = {E: {"status": "deprecated", "deprecated": "2026-02-01", "sunset": "2026-06-30"}}
    v2 = ("thing.happened", 2)
    old = mini_catalog({E: BASE_SCHEMA, v2: BASE_SCHEMA}, statuses=lifecycle)
    new = mini_catalog({v2: BASE_SCHEMA})
    report = diff_catalogs(old, new, today=dt.date(2026, 7, 1))
    assert [(c.kind, c.breaking, c.blocking) for c in report.changes] == [("version_removed", True, False)]
    assert report.ok and "after its sunset (2026-06-30)" in report.changes[0].message
    early = diff_catalogs(old, new, today=dt.date(2026, 6, 30))
    assert not early.ok


def test_changes_to_draft_versions_never_block() -> None:
    draft = {E: {"status": "draft"}}
    old = mini_catalog({E: BASE_SCHEMA}, statuses=draft)
    new = mini_catalog({E: _changed(lambda s: s["properties"].pop("name"))}, statuses=draft)
    report = diff_catalogs(old, new, today=TODAY)
    assert report.breaking and not report.blocking and report.ok
    gone = diff_catalogs(old, mini_catalog({}), today=TODAY)
    assert gone.ok and gone.changes[0].kind == "event_removed"


def test_lifecycle_changes() -> None:
    released = mini_catalog({E: BASE_SCHEMA})
    draft = mini_catalog({E: BASE_SCHEMA}, statuses={E: {"status": "draft"}})
    deprecated = mini_catalog(
        {E: BASE_SCHEMA}, statuses={E: {"status": "deprecated", "deprecated": "2026-11-01", "sunset": "2027-06-01"}}
    )
    sooner = mini_catalog(
        {E: BASE_SCHEMA}, statuses={E: {"status": "deprecated", "deprecated": "2026-11-01", "sunset": "2027-01-01"}}
    )
    kinds = lambda a, b: {c.kind: c.blocking for c in diff_catalogs(a, b, today=TODAY).changes}  # noqa: E731
    assert kinds(draft, released)["version_released"] is False
    assert kinds(released, draft)["version_unreleased"] is True
    assert kinds(released, deprecated)["version_deprecated"] is False
    assert kinds(deprecated, sooner)["sunset_moved_earlier"] is True
    assert kinds(sooner, deprecated)["sunset_moved_later"] is False


def test_documentation_and_examples() -> None:
    old = mini_documents({E: {**BASE_SCHEMA, "examples": [{"name": "a"}]}})
    new = copy.deepcopy(old)
    event = new["events/thing.happened/v1.json"]
    event["x-hookseal"]["fires_when"] = "Whenever."
    event["examples"] = [{"name": "b"}]
    event["description"] = "Another description."
    report = diff_catalogs(Catalog(old), Catalog(new), today=TODAY)
    assert {c.kind for c in report.changes} == {"description_changed", "examples_changed"}
    assert report.ok and not report.breaking


def test_envelope_and_base_uri_changes_always_block() -> None:
    old_docs = mini_documents({E: BASE_SCHEMA})
    new_docs = copy.deepcopy(old_docs)
    new_docs["envelope.json"]["properties"].pop("livemode")
    new_docs["envelope.json"]["required"].remove("livemode")
    report = diff_catalogs(Catalog(old_docs), Catalog(new_docs), today=TODAY)
    assert [(c.target, c.kind, c.blocking) for c in report.changes] == [("envelope", "field_removed", True)]
    new_docs = copy.deepcopy(old_docs)
    new_docs["catalog.json"]["base_uri"] = "https://example.com/schemas/"
    kinds = [c.kind for c in diff_catalogs(Catalog(old_docs), Catalog(new_docs), today=TODAY).blocking]
    assert "base_uri_changed" in kinds


def test_report_formats() -> None:
    old = mini_catalog({E: BASE_SCHEMA})
    new = mini_catalog(
        {E: _changed(lambda s: (s["properties"].pop("note"), s["properties"]["kind"]["enum"].append("c")))}
    )
    report = diff_catalogs(old, new, today=TODAY, old_label="v1.0", new_label="work")
    text = report.format_text()
    assert text.startswith("Catalog diff v1.0 -> work: 2 change(s), 1 breaking, 1 blocking")
    assert "BLOCKING" in text and "thing.happened v1 note: field note removed [field_removed]" in text
    assert "Non-breaking:" in text and "FAILED" in text
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["ok"] is False and data["summary"] == {"changes": 2, "breaking": 1, "blocking": 1}
    assert data["changes"][0]["kind"] == "field_removed"
    same = diff_catalogs(old, old, today=TODAY)
    assert same.ok and "No changes." in same.format_text()


def test_the_shipped_catalog_against_itself(catalog: Catalog) -> None:
    assert diff_catalogs(catalog, load_catalog(), today=TODAY).changes == []


# --------------------------------------------------------------------------- git revisions


def _git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True)
    return result.stdout.strip()


def _write(root: Path, docs: dict[str, Any]) -> None:
    for rel, doc in docs.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2), encoding="utf-8")


def test_git_revisions(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    catalog_path = repo / "schemas"
    _write(catalog_path, mini_documents({E: BASE_SCHEMA}))
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    _write(catalog_path, mini_documents({E: _changed(lambda s: s["properties"].pop("name"))}))
    _git(repo, "commit", "-q", "-am", "second")
    old = load_git_catalog("HEAD~1:schemas", repo=repo)
    new = load_git_catalog("HEAD:schemas", repo=repo)
    assert old.root is None and "thing.happened" in old.events
    report = diff_catalogs(old, new, today=TODAY)
    assert [c.kind for c in report.blocking] == ["field_removed"]
    # the working tree as a directory against a revision
    assert (
        diff_catalogs(load_source("HEAD:schemas", repo=repo), load_source(str(catalog_path)), today=TODAY).changes == []
    )
    with pytest.raises(GitSourceError, match="neither a directory nor a git revision"):
        load_git_catalog("no-such-rev:schemas", repo=repo)
    with pytest.raises(GitSourceError, match="no catalog at HEAD:elsewhere"):
        load_git_catalog("HEAD:elsewhere", repo=repo)
    with pytest.raises(GitSourceError, match="give the revision as REV:PATH"):
        load_git_catalog("HEAD", repo=repo)
    with pytest.raises(GitSourceError, match="not inside a git repository"):
        load_git_catalog("HEAD", repo=tmp_path)


def _repo_root() -> Optional[Path]:
    result = subprocess.run(
        ["git", "-C", str(default_catalog_path()), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=False,
    )
    return Path(result.stdout.strip()) if result.returncode == 0 else None


def test_the_repositorys_own_history() -> None:
    """diff works on this repository's commits: every consecutive pair of revisions that
    touched the catalog is classified, and a change known to be in the history (test.ping's
    ``endpoint_id`` made optional before the first release) is reported as breaking."""
    root = _repo_root()
    if root is None:
        pytest.skip("the catalog is not inside a git checkout")
    rel = default_catalog_path().relative_to(root).as_posix()
    revisions = _git(root, "log", "--format=%H", "--", rel).split()
    if not revisions:
        pytest.skip("the catalog has no committed history in this checkout")
    head = load_git_catalog(revisions[0], repo=root)  # default path: where the package lives
    assert head.events.keys() == load_catalog().events.keys()
    history = [load_git_catalog(rev, repo=root) for rev in reversed(revisions[:8])]
    for old, new in zip(history, history[1:]):
        report = diff_catalogs(old, new, today=TODAY)
        assert all(c.kind in BREAKING_KINDS | NON_BREAKING_KINDS for c in report.changes)
        json.dumps(report.to_dict())
        ping_old, ping_new = old.get("test.ping", 1).schema, new.get("test.ping", 1).schema
        if "endpoint_id" in ping_old["required"] and "endpoint_id" not in ping_new["required"]:
            found = [(c.kind, c.path, c.blocking) for c in report.changes if c.event == "test.ping"]
            assert ("field_made_optional", "endpoint_id", True) in found
    first = revisions[-1]
    parent = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"{first}~1"], capture_output=True, check=False
    )
    if parent.returncode == 0:  # the commit before the catalog existed has no catalog
        with pytest.raises(GitSourceError, match="no catalog"):
            load_git_catalog(f"{first}~1", repo=root)
