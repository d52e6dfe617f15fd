"""Tests for hookseal.integrations as a package: no framework is imported by the SDK itself."""

from __future__ import annotations

import subprocess
import sys

from hookseal.integrations import PROBLEM_CONTENT_TYPE, STATUS_FOR_CODE

OPTIONAL = ("starlette", "fastapi", "flask", "django", "werkzeug", "redis", "rich",
            "hookseal_catalog", "pydantic")


def test_importing_the_sdk_and_its_receiver_modules_imports_no_framework() -> None:
    code = (
        "import sys, hookseal, hookseal.cli, hookseal.idempotency, hookseal.ordering, "
        "hookseal.integrations, hookseal.integrations.asgi, hookseal.integrations.wsgi\n"
        f"print(','.join(m for m in {OPTIONAL!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == ""


def test_status_mapping_covers_every_contract_code() -> None:
    assert STATUS_FOR_CODE == {
        "missing_header": 400, "malformed_header": 400, "invalid_payload": 400,
        "timestamp_too_old": 401, "timestamp_in_future": 401, "signature_mismatch": 401,
    }
    assert PROBLEM_CONTENT_TYPE == "application/problem+json"
