"""hookseal_catalog.lint: the shipped catalog is clean, and every kind of problem is caught
with its file and JSON pointer."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
from hookseal_catalog.lint import LintIssue, lint_catalog

TODAY = dt.date(2026, 11, 23)


def _codes(issues: list[LintIssue]) -> set[tuple[str, str, str]]:
    return {(i.code, i.file, i.pointer) for i in issues}


def test_the_shipped_catalog_is_clean() -> None:
    assert lint_catalog(today=TODAY) == []


def test_a_copy_is_clean(catalog_dir: Path) -> None:
    assert lint_catalog(catalog_dir, today=TODAY) == []


PAID = "events/invoice.paid/v1.json"
PF1 = "events/payment.failed/v1.json"
PF2 = "events/payment.failed/v2.json"
MONEY = "components/money.json"


def _set(pointer: list[Any], value: Any) -> Callable[[Any], None]:
    def fn(doc: Any) -> None:
        for key in pointer[:-1]:
            doc = doc[key]
        doc[pointer[-1]] = value

    return fn


def _delete(pointer: list[Any]) -> Callable[[Any], None]:
    def fn(doc: Any) -> None:
        for key in pointer[:-1]:
            doc = doc[key]
        del doc[pointer[-1]]

    return fn


CASES: list[tuple[str, str, Callable[[Any], Any], tuple[str, str, str]]] = [
    (
        "dialect",
        PAID,
        _set(["$schema"], "http://json-schema.org/draft-07/schema#"),
        ("schema-dialect", PAID, "/$schema"),
    ),
    (
        "id",
        PAID,
        _set(["$id"], "https://schemas.hookseal.dev/events/invoice.paid/v2.json"),
        ("id-mismatch", PAID, "/$id"),
    ),
    (
        "meta type",
        PAID,
        _set(["x-hookseal", "type"], "invoice.settled"),
        ("metadata-mismatch", PAID, "/x-hookseal/type"),
    ),
    ("meta version", PAID, _set(["x-hookseal", "version"], 2), ("metadata-mismatch", PAID, "/x-hookseal/version")),
    ("no description", PAID, _delete(["description"]), ("missing-doc", PAID, "/description")),
    ("no fires_when", PAID, _set(["x-hookseal", "fires_when"], " "), ("missing-doc", PAID, "/x-hookseal/fires_when")),
    ("no frequency", PAID, _delete(["x-hookseal", "frequency"]), ("missing-doc", PAID, "/x-hookseal/frequency")),
    ("no criticality", PAID, _delete(["x-hookseal", "criticality"]), ("missing-doc", PAID, "/x-hookseal/criticality")),
    (
        "bad criticality",
        PAID,
        _set(["x-hookseal", "criticality"], "urgent"),
        ("invalid-doc", PAID, "/x-hookseal/criticality"),
    ),
    ("bad status", PAID, _set(["x-hookseal", "status"], "beta"), ("invalid-doc", PAID, "/x-hookseal/status")),
    ("no changelog", PAID, _set(["x-hookseal", "changelog"], []), ("missing-doc", PAID, "/x-hookseal/changelog")),
    (
        "bad changelog",
        PAID,
        _set(["x-hookseal", "changelog"], [{"date": "soon", "change": "x"}]),
        ("invalid-doc", PAID, "/x-hookseal/changelog/0"),
    ),
    ("bad date", PAID, _set(["x-hookseal", "released"], "23/11/2026"), ("invalid-doc", PAID, "/x-hookseal/released")),
    ("no release date", PAID, _delete(["x-hookseal", "released"]), ("missing-doc", PAID, "/x-hookseal/released")),
    (
        "sunset on released",
        PAID,
        _set(["x-hookseal", "sunset"], "2030-01-01"),
        ("invalid-doc", PAID, "/x-hookseal/sunset"),
    ),
    ("unknown meta", PAID, _set(["x-hookseal", "owner"], "billing"), ("invalid-doc", PAID, "/x-hookseal/owner")),
    ("no examples", PAID, _delete(["examples"]), ("missing-example", PAID, "/examples")),
    (
        "bad example",
        PAID,
        _set(["examples", 0, "invoice", "total", "amount"], "71.40"),
        ("invalid-example", PAID, "/examples/0/invoice/total/amount"),
    ),
    (
        "property description",
        PAID,
        _delete(["properties", "paid_out_of_band", "description"]),
        ("missing-doc", PAID, "/properties/paid_out_of_band"),
    ),
    (
        "field name",
        PAID,
        lambda d: _rename(d, "paid_out_of_band", "paidOutOfBand"),
        ("field-name", PAID, "/properties/paidOutOfBand"),
    ),
    ("open object", PAID, _delete(["additionalProperties"]), ("open-object", PAID, "")),
    ("required unknown", PAID, lambda d: d["required"].append("ghost"), ("required-unknown", PAID, "/required/3")),
    (
        "unsupported keyword",
        PAID,
        _set(["properties", "payment_id", "format"], "uuid"),
        ("unsupported-keyword", PAID, "/properties/payment_id/format"),
    ),
    (
        "oneOf",
        PAID,
        _set(["properties", "payment_id"], {"oneOf": [{"type": "string"}, {"type": "null"}], "description": "x"}),
        ("unsupported-keyword", PAID, "/properties/payment_id/oneOf"),
    ),
    (
        "anyOf not the nullable idiom",
        PAID,
        _set(["properties", "payment_id"], {"anyOf": [{"type": "string"}, {"type": "integer"}], "description": "x"}),
        ("unsupported-keyword", PAID, "/properties/payment_id/anyOf"),
    ),
    (
        "ref siblings",
        PAID,
        _set(["properties", "invoice", "type"], "object"),
        ("unsupported-keyword", PAID, "/properties/invoice"),
    ),
    (
        "unresolved ref",
        PAID,
        _set(["properties", "invoice", "$ref"], "../../components/invoices.json"),
        ("unresolved-ref", PAID, "/properties/invoice/$ref"),
    ),
    (
        "ref fragment",
        PAID,
        _set(["properties", "invoice", "$ref"], "../../components/invoice.json#/properties/total"),
        ("ref-target", PAID, "/properties/invoice/$ref"),
    ),
    (
        "ref to an event",
        PAID,
        _set(["properties", "invoice", "$ref"], "../invoice.created/v1.json"),
        ("ref-target", PAID, "/properties/invoice/$ref"),
    ),
    (
        "timestamp",
        MONEY,
        lambda d: d["properties"].update(updated_at={"type": "string", "description": "x"}),
        ("timestamp-type", MONEY, "/properties/updated_at"),
    ),
    ("not an object", PAID, _set(["type"], "array"), ("data-not-object", PAID, "/type")),
    (
        "invalid schema",
        MONEY,
        _set(["properties", "amount", "minimum"], "zero"),
        ("invalid-schema", MONEY, "/properties/amount/minimum"),
    ),
    ("component title", MONEY, _delete(["title"]), ("missing-doc", MONEY, "/title")),
    (
        "examples in component",
        MONEY,
        _set(["examples"], [{"amount": 1, "currency": "USD"}]),
        ("unsupported-keyword", MONEY, "/examples"),
    ),
    (
        "envelope field",
        "envelope.json",
        lambda d: d["required"].remove("livemode"),
        ("envelope", "envelope.json", "/required"),
    ),
    ("manifest", "catalog.json", _set(["base_uri"], "schemas.hookseal.dev"), ("manifest", "catalog.json", "/base_uri")),
    ("derivation missing", PF1, _delete(["x-hookseal", "derivation"]), ("derivation-missing", PF1, "/x-hookseal")),
    (
        "derivation from a skipped version",
        PF1,
        _set(["x-hookseal", "derivation", "from_version"], 3),
        ("derivation-invalid", PF1, "/x-hookseal/derivation/from_version"),
    ),
    (
        "derivation step",
        PF1,
        _set(["x-hookseal", "derivation", "steps", 0], {"op": "rename", "path": "/a"}),
        ("derivation-invalid", PF1, "/x-hookseal/derivation/steps/0"),
    ),
    (
        "derivation leaves the example invalid",
        PF1,
        lambda d: d["x-hookseal"]["derivation"]["steps"].pop() and None,
        ("derivation-example", PF1, "/x-hookseal/derivation"),
    ),
    (
        "derivation on the newest version",
        PF2,
        _set(["x-hookseal", "derivation"], {"from_version": 3, "steps": []}),
        ("derivation-invalid", PF2, "/x-hookseal/derivation"),
    ),
    (
        "ordering key nullable",
        PAID,
        _set(["x-hookseal", "ordering_key"], "/payment_id"),
        ("ordering-key", PAID, "/x-hookseal/ordering_key"),
    ),
    (
        "ordering key unknown",
        PAID,
        _set(["x-hookseal", "ordering_key"], "/invoice/nope"),
        ("ordering-key", PAID, "/x-hookseal/ordering_key"),
    ),
    (
        "ordering key not scalar",
        PAID,
        _set(["x-hookseal", "ordering_key"], "/invoice"),
        ("ordering-key", PAID, "/x-hookseal/ordering_key"),
    ),
    (
        "ordering key not a string",
        PAID,
        _set(["x-hookseal", "ordering_key"], 7),
        ("ordering-key", PAID, "/x-hookseal/ordering_key"),
    ),
    (
        "ordering keys disagree",
        PF2,
        _set(["x-hookseal", "ordering_key"], "/payment/customer_id"),
        ("ordering-key", PF1, "/x-hookseal/ordering_key"),
    ),
]


def _rename(doc: dict[str, Any], old: str, new: str) -> None:
    doc["properties"][new] = doc["properties"].pop(old)
    doc["required"] = [new if r == old else r for r in doc["required"]]
    for example in doc["examples"]:
        example[new] = example.pop(old)


@pytest.mark.parametrize(("label", "rel", "mutate", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_problem_is_reported_where_it_is(
    catalog_dir: Path, edit: Any, label: str, rel: str, mutate: Callable[[Any], Any], expected: tuple[str, str, str]
) -> None:
    edit(rel, mutate)
    issues = lint_catalog(catalog_dir, today=TODAY)
    assert expected in _codes(issues), [str(i) for i in issues]
    assert all(i.severity == "error" for i in issues if (i.code, i.file, i.pointer) == expected)


def test_deprecation_lifecycle(catalog_dir: Path, edit: Any) -> None:
    v1 = "events/payment.failed/v1.json"
    edit(v1, _delete(["x-hookseal", "sunset"]))
    assert ("missing-doc", v1, "/x-hookseal/sunset") in _codes(lint_catalog(catalog_dir, today=TODAY))
    edit(v1, _set(["x-hookseal", "sunset"], "2026-01-01"))
    assert ("invalid-doc", v1, "/x-hookseal/sunset") in _codes(lint_catalog(catalog_dir, today=TODAY))


def test_a_passed_sunset_is_a_warning(catalog_dir: Path) -> None:
    issues = lint_catalog(catalog_dir, today=dt.date(2027, 6, 1))
    assert [(i.code, i.severity, i.file) for i in issues] == [
        ("sunset-passed", "warning", "events/payment.failed/v1.json")
    ]


def test_bad_event_names_and_version_files(catalog_dir: Path) -> None:
    src = catalog_dir / "events" / "test.ping"
    for name in ("Test.Ping", "ping", "test-ping.sent"):
        shutil.copytree(src, catalog_dir / "events" / name)
    (catalog_dir / "events" / "test.ping" / "v01.json").write_text("{}", encoding="utf-8")
    (catalog_dir / "events" / "test.ping" / "latest.json").write_text("{}", encoding="utf-8")
    codes = _codes(lint_catalog(catalog_dir, today=TODAY))
    for name in ("Test.Ping", "ping", "test-ping.sent"):
        assert ("event-name", f"events/{name}/v1.json", "") in codes
    assert ("version-layout", "events/test.ping/v01.json", "") in codes
    assert ("version-layout", "events/test.ping/latest.json", "") in codes


def test_duplicates_orphans_and_stray_files(catalog_dir: Path, edit: Any) -> None:
    # a copy-pasted event that still claims to be test.ping v1
    shutil.copytree(catalog_dir / "events" / "test.ping", catalog_dir / "events" / "test.pong")
    (catalog_dir / "components" / "coupon.json").write_text(
        json.dumps(
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": "https://schemas.hookseal.dev/components/coupon.json",
                "title": "Coupon",
                "description": "Nobody uses me.",
                "type": "object",
                "properties": {"code": {"type": "string", "description": "The code."}},
                "required": ["code"],
                "additionalProperties": False,
            }
        ),
        encoding="utf-8",
    )
    (catalog_dir / "components" / "README.md").write_text("notes", encoding="utf-8")  # only the root's is allowed
    (catalog_dir / "extra.json").write_text("{}", encoding="utf-8")
    (catalog_dir / "components" / "broken.json").write_text("{", encoding="utf-8")
    codes = _codes(lint_catalog(catalog_dir, today=TODAY))
    assert ("duplicate-id", "events/test.pong/v1.json", "/$id") in codes
    assert ("duplicate-event", "events/test.pong/v1.json", "/x-hookseal") in codes
    assert ("metadata-mismatch", "events/test.pong/v1.json", "/x-hookseal/type") in codes
    assert ("orphan-component", "components/coupon.json", "") in codes
    assert ("stray-file", "components/README.md", "") in codes
    assert ("stray-file", "extra.json", "") in codes
    assert ("invalid-json", "components/broken.json", "") in codes


def test_recursive_refs_are_reported(catalog_dir: Path, edit: Any) -> None:
    edit(MONEY, lambda d: d["properties"].update(next={"$ref": "money.json", "description": "x"}))
    issues = lint_catalog(catalog_dir, today=TODAY)
    assert any(i.code == "unresolved-ref" and "recursive" in i.message for i in issues)


def test_missing_manifest_and_envelope(catalog_dir: Path) -> None:
    (catalog_dir / "catalog.json").unlink()
    (catalog_dir / "envelope.json").unlink()
    codes = {(i.code, i.file) for i in lint_catalog(catalog_dir, today=TODAY)}
    assert ("missing-doc", "catalog.json") in codes
    assert ("envelope", "envelope.json") in codes


def test_issue_rendering() -> None:
    issue = LintIssue("missing-doc", PAID, "/description", "a non-empty 'description' is required")
    assert str(issue) == f"{PAID}#/description: error: a non-empty 'description' is required [missing-doc]"
    assert issue.to_dict()["code"] == "missing-doc"


def test_a_version_past_its_sunset_needs_no_derivation(catalog_dir: Path, edit: Any) -> None:
    edit(PF1, _delete(["x-hookseal", "derivation"]))
    assert ("derivation-missing", PF1, "/x-hookseal") in _codes(lint_catalog(catalog_dir, today=TODAY))
    issues = lint_catalog(catalog_dir, today=dt.date(2027, 6, 1))
    assert [i.code for i in issues] == ["sunset-passed"]


def test_function_steps_are_checked_with_the_registry_given(catalog_dir: Path, edit: Any) -> None:
    from hookseal_catalog.derivation import DerivationRegistry

    edit(PF1, _set(["x-hookseal", "derivation", "steps"], [{"op": "function", "name": "pf_v1"}]))
    issues = lint_catalog(catalog_dir, today=TODAY)
    assert [(i.code, i.severity) for i in issues] == [("derivation-unchecked", "warning")]
    registry = DerivationRegistry()
    strict = lint_catalog(catalog_dir, today=TODAY, registry=registry)
    assert _codes(strict) == {("derivation-invalid", PF1, "/x-hookseal/derivation/steps/0/name")}

    @registry.register("pf_v1")
    def pf_v1(data: dict[str, Any]) -> dict[str, Any]:
        return {"payment": data["payment"], "failure_reason": data["failure"]["message"]}

    assert lint_catalog(catalog_dir, today=TODAY, registry=registry) == []
    registry.add("pf_v1_bad", lambda data: data)
    edit(PF1, _set(["x-hookseal", "derivation", "steps"], [{"op": "function", "name": "pf_v1_bad"}]))
    bad = lint_catalog(catalog_dir, today=TODAY, registry=registry)
    assert {i.code for i in bad} == {"derivation-example"}


def test_a_readme_is_part_of_a_catalog(catalog_dir: Path) -> None:
    (catalog_dir / "README.md").write_text("# Conventions\n", encoding="utf-8")
    assert lint_catalog(catalog_dir, today=TODAY) == []
    (catalog_dir / "NOTES.md").write_text("x", encoding="utf-8")
    assert ("stray-file", "NOTES.md", "") in _codes(lint_catalog(catalog_dir, today=TODAY))


def test_load_checked_catalog_refuses_with_the_linters_messages(catalog_dir: Path, edit: Any) -> None:
    from hookseal_catalog.errors import CatalogLintError, CatalogLoadError
    from hookseal_catalog.lint import load_checked_catalog

    assert "payment.failed" in load_checked_catalog(catalog_dir, today=TODAY).events
    edit(PF1, _delete(["x-hookseal", "derivation"]))
    with pytest.raises(CatalogLintError) as info:
        load_checked_catalog(catalog_dir, today=TODAY)
    assert info.value.code == "catalog_invalid"
    assert "declares no derivation" in str(info.value) and "[derivation-missing]" in str(info.value)
    with pytest.raises(CatalogLoadError):
        load_checked_catalog(catalog_dir / "nowhere")
