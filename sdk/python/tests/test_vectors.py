"""The SDK against the shared vectors: through the API and through the adapter."""

from __future__ import annotations

import base64
import json
from typing import Any

import hookseal
import jsonschema
import pytest
from sdk_vectors import VECTORS, load_vector_cases

CASES = load_vector_cases()


def test_vectors_file_matches_its_schema(vectors: dict[str, Any]) -> None:
    schema = json.loads((VECTORS.parent / "vectors.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(vectors, schema)
    assert vectors["numberOfTests"] == len(CASES)
    assert len({c["tcId"] for c in CASES}) == len(CASES)


def test_vectors_cover_every_code_in_both_profiles(vectors: dict[str, Any]) -> None:
    codes = {
        "missing_header",
        "malformed_header",
        "timestamp_too_old",
        "timestamp_in_future",
        "signature_mismatch",
        "invalid_configuration",
    }
    for group in vectors["testGroups"]:
        seen = {t["expected"].get("error") for t in group["tests"]}
        assert codes <= seen, (group["profile"], codes - seen)
        assert any(t["expected"]["ok"] for t in group["tests"])


@pytest.mark.parametrize("case", CASES, ids=[f"tc{c['tcId']}-{c['comment'][:50]}" for c in CASES])
def test_webhook_api(case: dict[str, Any]) -> None:
    req = case["request"]
    expected = case["expected"]
    body = base64.b64decode(req["body_b64"])
    try:
        wh = hookseal.Webhook(
            req["secrets"],
            profile=req["profile"],
            tolerance=req["tolerance"],
            header_prefix=req.get("header_prefix", "Hookseal"),
        )
        wh.verify(body, req["headers"], now=req["now"])
    except hookseal.HooksealError as exc:
        assert not expected["ok"], f"rejected a valid delivery: {exc.code}: {exc}"
        assert exc.code == expected["error"]
        if expected["error"] != "invalid_configuration":
            assert isinstance(exc, hookseal.WebhookVerificationError)
        for secret in req["secrets"]:
            if len(secret) > 8:
                assert secret not in str(exc)
    else:
        assert expected["ok"], f"accepted, expected {expected['error']}"
