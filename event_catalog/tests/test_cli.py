"""hookseal_catalog.cli: every subcommand, its output and exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hookseal_catalog import load_catalog
from hookseal_catalog.cli import main
from openapi_spec_validator import validate


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0 and "invoice.paid" in out and "sunset 2027-05-31" in out
    code, out, _ = run(capsys, "list", "--json")
    rows = json.loads(out)
    assert {
        "type": "payment.failed",
        "version": 2,
        "status": "released",
        "current": True,
        "criticality": "high",
        "sunset": None,
    } in rows


def test_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "invoice.paid")
    assert code == 0 and "criticality: high" in out and "invoice.total.amount: integer, required" in out
    code, out, _ = run(capsys, "show", "payment.failed", "--version", "1", "--json")
    data = json.loads(out)
    assert [v["version"] for v in data["versions"]] == [1]
    code, out, _ = run(capsys, "show", "test.ping", "--markdown")
    assert out.startswith("## `test.ping`")
    code, _, err = run(capsys, "show", "nope.nope")
    assert code == 2 and "unknown event type 'nope.nope'" in err
    code, _, err = run(capsys, "show", "test.ping", "--version", "9")
    assert code == 2 and "unknown version 9" in err


def test_example_and_validate(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "example", "invoice.paid", "--envelope")
    envelope = json.loads(out)
    assert code == 0 and envelope["type"] == "invoice.paid"
    body = tmp_path / "body.json"
    body.write_text(json.dumps(envelope), encoding="utf-8")
    code, out, _ = run(capsys, "validate", str(body))
    assert code == 0 and out.strip() == "valid invoice.paid v1 envelope"
    envelope["data"]["invoice"]["total"]["currency"] = "eur"
    body.write_text(json.dumps(envelope), encoding="utf-8")
    code, _, err = run(capsys, "validate", str(body))
    assert code == 1 and f"{body}#/data/invoice/total/currency: 'eur' does not match" in err
    code, out, _ = run(capsys, "example", "test.ping")
    data = tmp_path / "data.json"
    data.write_text(out, encoding="utf-8")
    code, out, _ = run(capsys, "validate", str(data), "--type", "test.ping", "--version", "1")
    assert code == 0 and out.strip() == "valid test.ping v1 data"
    data.write_text("not json", encoding="utf-8")
    code, _, err = run(capsys, "validate", str(data))
    assert code == 1 and "not JSON" in err


def test_lint(capsys: pytest.CaptureFixture[str], catalog_dir: Path, edit: Any) -> None:
    code, out, _ = run(capsys, "lint", "--today", "2026-11-23")
    assert code == 0 and "0 error(s), 0 warning(s)" in out
    edit("events/test.ping/v1.json", lambda d: d.__delitem__("description"))
    code, out, _ = run(capsys, "lint", "--catalog", str(catalog_dir), "--today", "2026-11-23")
    assert code == 1 and "events/test.ping/v1.json#/description: error:" in out
    code, out, _ = run(capsys, "lint", "--catalog", str(catalog_dir), "--json")
    assert code == 1 and json.loads(out)["issues"][0]["code"] == "missing-doc"
    with pytest.raises(SystemExit):
        main(["lint", "--today", "tomorrow"])


def test_diff(capsys: pytest.CaptureFixture[str], catalog_dir: Path, edit: Any) -> None:
    shipped = str(load_catalog().root)
    code, out, _ = run(capsys, "diff", shipped, str(catalog_dir))
    assert code == 0 and "No changes." in out
    edit("components/money.json", lambda d: d["properties"]["currency"].update(pattern="^(EUR|USD)$"))
    code, out, _ = run(capsys, "diff", shipped, str(catalog_dir))
    assert code == 1 and "pattern_tightened" in out and "FAILED" in out
    code, out, _ = run(capsys, "diff", shipped, str(catalog_dir), "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False and report["summary"]["blocking"] > 0
    code, _, err = run(capsys, "diff", shipped, "no-such-revision-or-dir")
    assert code == 2 and "neither a directory nor a git revision" in err


def test_export(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    code, _, err = run(capsys, "export", "--openapi", "-o", str(target))
    assert code == 0 and "15 webhooks" in err
    validate(json.loads(target.read_text(encoding="utf-8")))
    code, out, _ = run(capsys, "export", "--openapi", "--profile", "standard-webhooks", "--strict")
    assert code == 0 and json.loads(out)["openapi"] == "3.1.0"
    with pytest.raises(SystemExit):
        main(["export"])  # --openapi is required


def test_release_and_check_released(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, catalog_dir: Path, edit: Any
) -> None:
    snapshot = tmp_path / "released"
    code, out, _ = run(capsys, "release", "--catalog", str(catalog_dir), "--snapshot", str(snapshot))
    assert code == 0 and "files" in out
    code, out, _ = run(capsys, "check-released", "--catalog", str(catalog_dir), "--snapshot", str(snapshot))
    assert code == 0 and "released snapshot: OK" in out

    def drop_message(doc: dict[str, Any]) -> None:
        del doc["properties"]["message"]
        doc["required"].remove("message")
        for example in doc["examples"]:
            del example["message"]

    edit("events/test.ping/v1.json", drop_message)
    code, out, _ = run(capsys, "check-released", "--catalog", str(catalog_dir), "--snapshot", str(snapshot), "--json")
    assert code == 1 and json.loads(out)["ok"] is False
    code, _, err = run(capsys, "release", "--catalog", str(catalog_dir), "--snapshot", str(snapshot))
    assert code == 1 and "refusing" in err
    code, _, err = run(capsys, "check-released", "--snapshot", str(tmp_path / "none"))
    assert code == 1 and "no released snapshot" in err


def test_generate_models_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "generate-models", "-o", str(tmp_path), "--check")
    assert code == 1 and "stale" in err
    code, out, _ = run(capsys, "generate-models", "-o", str(tmp_path))
    assert code == 0 and "2 file(s) changed" in out
    code, out, _ = run(capsys, "generate-models", "-o", str(tmp_path), "--check")
    assert code == 0 and "up to date" in out


def test_every_command_works_on_a_catalog_of_your_own(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`init`, then lint, release, check-released, diff, export and generate-models, all with
    --catalog DIR, the snapshot beside the catalog (not in this package)."""
    mine = tmp_path / "webhooks" / "catalog"
    code, out, _ = run(capsys, "init", str(mine), "--name", "acme", "--today", "2026-12-01")
    assert code == 0 and "7 files" in out
    code, _, err = run(capsys, "init", str(mine))
    assert code == 2 and "not an empty directory" in err
    assert run(capsys, "lint", "--catalog", str(mine))[0] == 0
    code, _, err = run(capsys, "diff", "--catalog", str(mine))
    assert code == 1 and "no released snapshot" in err
    assert run(capsys, "release", "--catalog", str(mine))[0] == 0
    snapshot = tmp_path / "webhooks" / "catalog.released"
    assert (snapshot / "lock.json").is_file() and (
        snapshot / "catalog" / "events" / "order.created" / "v1.json"
    ).is_file()
    code, out, _ = run(capsys, "check-released", "--catalog", str(mine))
    assert code == 0 and "released snapshot: OK" in out

    # a breaking change to the released example, seen by diff and check-released alike
    event = mine / "events" / "order.created" / "v1.json"
    doc = json.loads(event.read_text(encoding="utf-8"))
    doc["x-hookseal"]["fires_when"] = "Once, when an order is placed."
    event.write_text(json.dumps(doc), encoding="utf-8")
    code, out, _ = run(capsys, "diff", "--catalog", str(mine))
    assert code == 0 and "released snapshot -> " in out and "description_changed" in out
    doc["required"] = []
    event.write_text(json.dumps(doc), encoding="utf-8")
    code, out, _ = run(capsys, "diff", "--catalog", str(mine))
    assert code == 1 and "field_made_optional" in out
    assert run(capsys, "check-released", "--catalog", str(mine))[0] == 1

    code, out, _ = run(capsys, "export", "--openapi", "--catalog", str(mine))
    assert code == 0 and set(json.loads(out)["webhooks"]) == {"order.created.v1", "test.ping.v1"}
    code, _, err = run(capsys, "generate-models", "--catalog", str(mine))
    assert code == 2 and "-o OUT" in err
    code, out, _ = run(capsys, "generate-models", "--catalog", str(mine), "--package", "acme-webhooks",
                       "-o", str(tmp_path / "pkg"))  # fmt: skip
    assert code == 0 and (tmp_path / "pkg" / "src" / "acme_webhooks" / "_events.py").is_file()
    code, out, _ = run(capsys, "generate-models", "--catalog", str(mine), "-o", str(tmp_path / "mod"))
    assert code == 0 and "OrderCreatedV1Event" in (tmp_path / "mod" / "_events.py").read_text(encoding="utf-8")


def test_lint_loads_derivation_functions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, catalog_dir: Path, edit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = [{"op": "function", "name": "cli_pf_v1"}]
    edit("events/payment.failed/v1.json", lambda d: d["x-hookseal"]["derivation"].update(steps=steps))
    code, out, _ = run(capsys, "lint", "--catalog", str(catalog_dir))
    assert code == 0 and "derivation-unchecked" in out
    (tmp_path / "my_derivations.py").write_text(
        "from hookseal_catalog.derivation import register_derivation\n"
        "@register_derivation('cli_pf_v1')\n"
        "def pf(data):\n"
        "    return {'payment': data['payment'], 'failure_reason': data['failure']['message']}\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    code, out, _ = run(capsys, "lint", "--catalog", str(catalog_dir), "--derivations", "my_derivations")
    assert code == 0 and "0 error(s), 0 warning(s)" in out
    code, _, err = run(capsys, "lint", "--catalog", str(catalog_dir), "--derivations", "no_such_module_here")
    assert code == 2 and "cannot import" in err


def test_the_console_script() -> None:
    exe = Path(sys.executable).with_name("hookseal-catalog")
    result = subprocess.run([str(exe), "list", "--json"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and json.loads(result.stdout)
