"""hookseal_catalog.pages (what the site's hookseal-catalog plugin renders): the event pages
show the catalog's reference faithfully."""

from __future__ import annotations

import json

from hookseal_catalog import load_catalog, pages
from hookseal_catalog.reference import catalog_reference


def test_every_field_and_example_is_on_its_page() -> None:
    for event in catalog_reference(load_catalog()):
        page = pages.event_page(event)
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

    row = FieldRow(
        name="a.b",
        pointer="/a/b",
        depth=1,
        type="string",
        nullable=True,
        required=False,
        description="x | y\nz",
        enum=("p|q",),
        constraints=("pattern ^a|b$",),
    )
    table = pages.field_table([row])
    body = table.splitlines()[2]
    assert body.count("|") - body.count("\\|") == 5  # four cells


def test_index_and_summary_list_every_event() -> None:
    catalog = load_catalog()
    events = catalog_reference(catalog)
    index = pages.index_page(catalog, about=True)
    summary = pages.summary(events, about=True)
    for event in events:
        assert f"[`{event.type}`]({event.type}.md)" in index
        assert f"({event.type}.md)" in summary
    assert "(about-the-catalog.md)" in index and "(about-the-catalog.md)" in summary
    assert "about-the-catalog" not in pages.index_page(catalog) + pages.summary(events)


def test_event_pages_give_the_ordering_key_and_sunsets() -> None:
    catalog = load_catalog()
    all_pages = pages.reference_pages(catalog)
    assert "**Ordering key:** `/invoice/id`" in all_pages["invoice.paid.md"]
    assert "Ordering key" not in all_pages["test.ping.md"]
    assert "**Version 1** is deprecated; its sunset is 2027-05-31." in all_pages["payment.failed.md"]
    assert json.loads(all_pages["events.json"]) == sorted(catalog.events)
