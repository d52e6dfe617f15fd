"""mkdocs-gen-files script: the event reference, generated from the catalog at build time.

Writes ``events/index.md`` (one row per event type: when it fires, frequency,
criticality, versions), one ``events/<type>.md`` per event type (each version's fields as
a table, its example body and its history) and ``events/SUMMARY.md`` (the section's nav
for mkdocs-literate-nav). Nothing here is written by hand: edit the catalog instead.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import mkdocs_gen_files

sys.path.insert(0, str(Path(__file__).resolve().parent))

from event_pages import event_page, index_page, summary  # noqa: E402

from hookseal_catalog import load_catalog  # noqa: E402
from hookseal_catalog.reference import catalog_reference  # noqa: E402

catalog = load_catalog()
events = catalog_reference(catalog)

with mkdocs_gen_files.open("events/index.md", "w") as fh:
    fh.write(index_page(catalog))

for event in events:
    with mkdocs_gen_files.open(f"events/{event.type}.md", "w") as fh:
        fh.write(event_page(event))

# The catalog's own README (naming, versioning, lint/diff/export tools), included unedited.
with mkdocs_gen_files.open("events/about-the-catalog.md", "w") as fh:
    fh.write('--8<-- "event_catalog/README.md"\n')

with mkdocs_gen_files.open("events/SUMMARY.md", "w") as fh:
    fh.write(summary(events))

# A machine-readable list for the docs tests (and anyone scripting against the site).
with mkdocs_gen_files.open("events/events.json", "w") as fh:
    json.dump(sorted(catalog.events), fh)
