"""``hookseal-catalog init DIR``: start a provider's own catalog from nothing.

:func:`init_catalog` writes a small catalog that passes ``hookseal-catalog lint``::

    DIR/
      README.md                       the conventions: naming, versioning, sunsets, tools
      catalog.json                    manifest (name, title, base_uri, version)
      envelope.json                   the envelope every webhook body carries
      components/money.json           a shared shape, $ref'd by the example
      components/order.json
      events/order.created/v1.json    one example event, documented, with its ordering key
      events/test.ping/v1.json        the test event every Hookseal sender can send

The envelope, ``money`` and ``test.ping`` are the sample catalog's own documents (so they
stay what the SDK and the sender expect), with their ``$id`` moved to the new ``base_uri``.
Nothing is released yet: the example is ``released`` as of ``today``, and
``hookseal-catalog release --catalog DIR`` freezes it into the snapshot beside the catalog
(:func:`hookseal_catalog.release.default_snapshot_path`).
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any, Optional, Union

from .catalog import DIALECT, ENVELOPE, MANIFEST, README, load_catalog
from .errors import ScaffoldError

__all__ = ["init_catalog"]

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_BORROWED = (ENVELOPE, "components/money.json", "events/test.ping/v1.json")


def _order_component(base: str) -> dict[str, Any]:
    return {
        "$schema": DIALECT,
        "$id": f"{base}components/order.json",
        "title": "Order",
        "description": "An order, as it is when the event is sent (the full state, never just an id).",
        "type": "object",
        "properties": {
            "id": {
                "type": "string",
                "pattern": "^ord_[0-9A-Za-z]{8,32}$",
                "description": "The order's id, with its type prefix `ord_`.",
            },
            "status": {
                "type": "string",
                "enum": ["open", "paid", "cancelled"],
                "description": "Where the order is in its life.",
            },
            "total": {"$ref": "money.json", "description": "What the order costs, taxes included."},
            "note": {
                "type": ["string", "null"],
                "maxLength": 500,
                "description": "The customer's note, or null when there is none (nullable, not optional).",
            },
            "created": {
                "type": "integer",
                "minimum": 0,
                "maximum": 253402300799,
                "description": "When the order was created, in Unix seconds.",
            },
        },
        "required": ["id", "status", "total", "note", "created"],
        "additionalProperties": False,
    }


def _order_created(base: str, today: str) -> dict[str, Any]:
    return {
        "$schema": DIALECT,
        "$id": f"{base}events/order.created/v1.json",
        "title": "order.created v1",
        "description": "An order was placed. Replace this example with your own events (see README.md).",
        "x-hookseal": {
            "type": "order.created",
            "version": 1,
            "status": "released",
            "fires_when": "Once, when a customer places an order.",
            "frequency": "Once per order.",
            "criticality": "medium",
            "released": today,
            "changelog": [{"date": today, "change": "Version 1 released."}],
            "ordering_key": "/order/id",
        },
        "type": "object",
        "properties": {"order": {"$ref": "../../components/order.json", "description": "The order just placed."}},
        "required": ["order"],
        "additionalProperties": False,
        "examples": [
            {
                "order": {
                    "id": "ord_3Kq8Zt2Lm9",
                    "status": "open",
                    "total": {"amount": 4200, "currency": "EUR"},
                    "note": None,
                    "created": 1763859600,
                }
            }
        ],
    }


def _rebase(doc: dict[str, Any], old_base: str, new_base: str) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    sid = out.get("$id")
    if isinstance(sid, str) and sid.startswith(old_base):
        out["$id"] = new_base + sid[len(old_base) :]
    return out


def _readme(title: str, name: str) -> str:
    template = resources.files("hookseal_catalog").joinpath("_templates/README.md").read_text(encoding="utf-8")
    return template.replace("{{title}}", title).replace("{{name}}", name)


def init_catalog(
    directory: Union[str, Path],
    *,
    name: Optional[str] = None,
    title: Optional[str] = None,
    base_uri: str = "https://schemas.example.com/webhooks/",
    today: Optional[_dt.date] = None,
) -> list[str]:
    """Write a new, lint-clean catalog into ``directory``; returns the files written (relative).

    Args:
        directory: Where to write it; created if absent, refused if it holds anything.
        name: The catalog's name, lowercase words joined by ``-`` (default: the directory's
            name, lowercased).
        title: A human title (default: derived from the name).
        base_uri: Where the schemas will be published (``$id`` = base_uri + path); an
            absolute http(s) URI ending with ``/``.
        today: The release date of the example (default: today, UTC).

    Raises:
        ScaffoldError: the directory is not empty, or the name or base_uri is malformed.
    """
    target = Path(directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ScaffoldError(f"{target} exists and is not an empty directory: init writes a new catalog only")
    name = name if name is not None else re.sub(r"[^a-z0-9]+", "-", target.resolve().name.lower()).strip("-")
    if not _NAME.match(name or ""):
        raise ScaffoldError(f"catalog name {name!r}: use lowercase letters, digits and '-' (pass --name)")
    if not re.match(r"^https?://[^/]+/(.*/)?$", base_uri):
        raise ScaffoldError(f"base_uri {base_uri!r} must be an absolute http(s) URI ending with '/'")
    title = title or name.replace("-", " ").capitalize() + " webhook events"
    day = (today or _dt.datetime.now(_dt.timezone.utc).date()).isoformat()
    sample = load_catalog()
    files: dict[str, Any] = {
        MANIFEST: {
            "name": name,
            "title": title,
            "description": f"Every webhook event of {name}: its schema, documentation and lifecycle.",
            "base_uri": base_uri,
            "version": "0.1.0",
        },
        "components/order.json": _order_component(base_uri),
        "events/order.created/v1.json": _order_created(base_uri, day),
    }
    for rel in _BORROWED:
        files[rel] = _rebase(sample.documents[rel], sample.base_uri, base_uri)
    ping = files["events/test.ping/v1.json"]
    meta = ping["x-hookseal"]
    meta.update(released=day, changelog=[{"date": day, "change": "Version 1 released."}])
    ping["examples"] = [{"message": "Hello from Hookseal", "endpoint_id": "ep_2Hy7Lk9Qw3"}]
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for rel, doc in sorted(files.items()):
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(rel)
    (target / README).write_text(_readme(title, name), encoding="utf-8")
    return sorted([*written, README])
