"""hookseal_catalog.package: a provider's own catalog becomes an installable models package
that the SDK's ``construct_event(typed=...)`` uses."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import tomllib
from hookseal_catalog import load_catalog
from hookseal_catalog.errors import CodegenError
from hookseal_catalog.package import render_package, write_package
from hookseal_catalog.scaffold import init_catalog


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("provider")
    init_catalog(root / "catalog", name="acme", today=dt.date(2026, 12, 1))
    write_package(load_catalog(root / "catalog"), "acme-webhooks", root / "pkg")
    return root


def test_the_package_layout(provider: Path) -> None:
    pkg = provider / "pkg"
    meta = tomllib.loads((pkg / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["name"] == "acme-webhooks" and meta["project"]["version"] == "0.1.0"
    assert meta["project"]["dependencies"] == ["pydantic>=2.6"]
    source = (pkg / "src" / "acme_webhooks" / "_events.py").read_text(encoding="utf-8")
    assert "class OrderCreatedV1Event(EventBase):" in source and "class TestPingV1Event" in source
    assert "event catalog 'acme'" in source and "make generate" not in source
    assert (pkg / "src" / "acme_webhooks" / "py.typed").exists()
    assert write_package(load_catalog(provider / "catalog"), "acme-webhooks", pkg, check=True) == []


def test_a_stale_package_and_a_bad_name_are_refused(provider: Path, tmp_path: Path) -> None:
    catalog = load_catalog(provider / "catalog")
    write_package(catalog, "acme-webhooks", tmp_path)
    (tmp_path / "src" / "acme_webhooks" / "_events.py").write_text("# edited\n", encoding="utf-8")
    with pytest.raises(CodegenError, match="stale"):
        write_package(catalog, "acme-webhooks", tmp_path, check=True)
    with pytest.raises(CodegenError, match="package name"):
        render_package(catalog, "Acme Webhooks")


VERIFY = textwrap.dedent(
    """
    import json, hookseal, acme_webhooks
    from hookseal_catalog import load_catalog

    catalog = load_catalog(CATALOG)
    secret = hookseal.generate_secret()
    body = json.dumps(catalog.example_envelope("order.created")).encode()
    headers = hookseal.sign(body, secret, msg_id="msg_1", event_type="order.created")
    event = hookseal.Webhook(secret).construct_event(body, headers, typed=acme_webhooks)
    assert type(event) is acme_webhooks.OrderCreatedV1Event, type(event)
    assert event.data.order.total.amount == 4200
    assert acme_webhooks.__file__.startswith(SITE), acme_webhooks.__file__
    bad = json.loads(body)
    bad["data"]["order"]["total"]["amount"] = "4200"
    raw = json.dumps(bad).encode()
    try:
        hookseal.Webhook(secret).construct_event(raw, hookseal.sign(raw, secret, msg_id="m2"), typed=acme_webhooks)
    except hookseal.InvalidPayloadError as exc:
        print("refused:", exc.code)
    print("typed:", type(event).__name__)
    """
)


def test_the_package_builds_installs_and_types_verified_events(provider: Path, tmp_path: Path) -> None:
    """Build a wheel with the package's own pyproject, install it (a pure wheel is a zip
    extracted into site-packages) and verify a signed event with it in a fresh interpreter."""
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(provider / "pkg")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    [wheel] = dist.glob("acme_webhooks-0.1.0-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        assert "acme_webhooks/__init__.py" in archive.namelist()
        archive.extractall(site)
    script = f"CATALOG = {str(provider / 'catalog')!r}\nSITE = {str(site)!r}\n" + VERIFY
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == ["refused: invalid_payload", "typed: OrderCreatedV1Event"]
