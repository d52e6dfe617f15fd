"""Generate ``hookseal/_examples.json``: one example body per event type and version.

The SDK ships these so ``hookseal trigger`` and :mod:`hookseal.examples` work without the
event catalog package (``pip install 'hookseal[cli]'`` brings only ``rich``). They come
from the same sample catalog as the generated models, through ``hookseal-catalog`` at
generation time only.

Usage:
    python sdk/python/tools/generate_examples.py           # rewrite the file
    python sdk/python/tools/generate_examples.py --check   # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hookseal_catalog import load_catalog

OUT = Path(__file__).resolve().parents[1] / "src" / "hookseal" / "_examples.json"


def build() -> dict[str, Any]:
    """Every event type: its current version and each version's example envelope."""
    catalog = load_catalog()
    types: dict[str, Any] = {}
    for ev in sorted(catalog.versions(), key=lambda v: (v.type, v.version)):
        entry = types.setdefault(ev.type, {"current": catalog.get(ev.type).version, "versions": {}})
        entry["versions"][str(ev.version)] = catalog.example_envelope(ev.type, ev.version)
    return {
        "generatedBy": "sdk/python/tools/generate_examples.py (make generate); do not edit",
        "types": types,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args()
    text = json.dumps(build(), indent=1, ensure_ascii=False) + "\n"
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is stale: run `make generate`", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
