"""docs/_build/event_pages.py: the event pages show the catalog's reference faithfully."""

from __future__ import annotations

import json

from docs_support import load_build_module
from hookseal_catalog import load_catalog
from hookseal_catalog.reference import catalog_reference

pages = load_build_module("event_pages")


def test_every_field_and_example_is_on_its_page() -> None:
    for event in catalog_reference(load_catalog()):
        page = pages.event_page(event)  # type: ignore[attr-defined]
        assert page.startswith(f"# {event.type}\n")
        for version in event.versions:
            assert f"## Version {version.version}" in page
            for row in version.fields:
                assert row.name.replace(".", ".<wbr>") in page, (event.type, row.name)
            assert json.dumps(version.example_envelope, indent=2, ensure_ascii=False) in page
            for entry in version.changelog:
                assert entry.date in page


def test_table_cells_cannot_break_the_table() -> None:
    from hookseal_catalog.reference import FieldRow

    row = FieldRow(name="a.b", pointer="/a/b", depth=1, type="string", nullable=True,
                   required=False, description="x | y\nz", enum=("p|q",),
                   constraints=("pattern ^a|b$",))
    table = pages.field_table([row])  # type: ignore[attr-defined]
    body = table.splitlines()[2]
    assert body.count("|") - body.count("\\|") == 5  # four cells


def test_index_and_summary_list_every_event() -> None:
    catalog = load_catalog()
    events = catalog_reference(catalog)
    index = pages.index_page(catalog)  # type: ignore[attr-defined]
    summary = pages.summary(events)  # type: ignore[attr-defined]
    for event in events:
        assert f"[`{event.type}`]({event.type}.md)" in index
        assert f"({event.type}.md)" in summary
