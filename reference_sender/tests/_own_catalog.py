"""A provider's own catalog for tests: ``hookseal-catalog init``, then an event type,
shipment.sent, with a v1 (deprecated, sunset in 5 days) derived from its v2 by steps and a
registered function."""

from __future__ import annotations

import copy
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from hookseal_catalog.derivation import default_registry

CATALOG_CLI = str(Path(sys.executable).parent / "hookseal-catalog")
TODAY = dt.datetime.now(dt.timezone.utc).date()
#: shipment.sent v1's sunset: 5 days from now, so a worker starting now owes the 7-day notice.
SUNSET = TODAY + dt.timedelta(days=5)


#: The provider's derivation functions, as a module ``lint --derivations`` imports; this
#: process registers them by running the same text.
DERIVATIONS = '''
from hookseal_catalog.derivation import register_derivation


@register_derivation("acme_carrier_code")
def carrier_code(data):
    """shipment.sent v2 -> v1: v1's carrier is a lower-case code."""
    data["carrier"] = data["carrier"].lower()
    return data
'''
if "acme_carrier_code" not in default_registry:
    exec(DERIVATIONS, {})  # the constant above


def run_cli(*args: str, cwd: Path) -> str:
    done = subprocess.run([CATALOG_CLI, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _version(template: dict[str, Any], version: int, meta: dict[str, Any],
             properties: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(template)
    doc["$id"] = doc["$id"].replace("order.created/v1", f"shipment.sent/v{version}")
    doc["title"] = f"shipment.sent v{version}"
    doc["description"] = "An order's parcel left the warehouse."
    doc["x-hookseal"].update(type="shipment.sent", version=version,
                             fires_when="Once, when the parcel is handed to the carrier.",
                             frequency="Once per parcel.", ordering_key="/order_id", **meta)
    doc["properties"] = properties
    doc["required"] = list(properties)
    doc["examples"] = [example]
    return doc


def make_catalog(root: Path) -> Path:
    """``hookseal-catalog init``, then shipment.sent v1 (deprecated, sunset in 5 days)
    and v2, v1 derived from v2 by steps and a registered function."""
    run_cli("init", "acme", "--name", "acme", "--base-uri", "https://schemas.acme.example/w/",
         cwd=root)
    cat = root / "acme"
    template = json.loads((cat / "events/order.created/v1.json").read_text())
    day = TODAY.isoformat()
    order_id = {"type": "string", "pattern": "^ord_[0-9A-Za-z]{8,32}$",
                "description": "The order shipped."}
    v1 = _version(template, 1, {
        "status": "deprecated", "released": day, "deprecated": day,
        "sunset": SUNSET.isoformat(),
        "changelog": [{"date": day, "change": "Version 1 released."},
                      {"date": day, "change": "Deprecated for v2."}],
        "derivation": {"from_version": 2, "steps": [
            {"op": "move", "from": "/parcel/carrier", "path": "/carrier"},
            {"op": "remove", "path": "/parcel"},
            {"op": "function", "name": "acme_carrier_code"}]},
    }, {"order_id": order_id,
        "carrier": {"type": "string", "enum": ["dhl", "ups"], "description": "The carrier."}},
        {"order_id": "ord_3Kq8Zt2Lm9", "carrier": "dhl"})
    v2 = _version(template, 2, {
        "status": "released", "released": day,
        "changelog": [{"date": day, "change": "Version 2 released: the parcel, tracked."}],
    }, {"order_id": order_id,
        "parcel": {"type": "object", "description": "The parcel.", "required": ["carrier",
                                                                                  "tracking"],
                   "additionalProperties": False, "properties": {
                       "carrier": {"type": "string", "minLength": 1,
                                   "description": "The carrier's name."},
                       "tracking": {"type": "string", "minLength": 1,
                                    "description": "The carrier's tracking number."}}}},
        {"order_id": "ord_3Kq8Zt2Lm9", "parcel": {"carrier": "DHL", "tracking": "JD01"}})
    (cat / "events/shipment.sent").mkdir()
    for doc in (v1, v2):
        path = cat / f"events/shipment.sent/v{doc['x-hookseal']['version']}.json"
        path.write_text(json.dumps(doc, indent=2))
    (root / "acme_derivations.py").write_text(DERIVATIONS)
    assert run_cli("lint", "--catalog", str(cat), "--derivations", "acme_derivations",
                cwd=root).startswith("0 error(s), 0 warning(s)")
    return cat
