"""The public API is pinned: changing it must be a deliberate, visible edit."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import hookseal
import pytest

PUBLIC_API = [
    "DEFAULT_HEADER_PREFIX", "DEFAULT_TOLERANCE", "HOOKSEAL_V1", "PROFILES", "STANDARD_WEBHOOKS",
    "ConfigurationError", "HooksealError", "InvalidPayloadError", "MalformedHeaderError", "MissingHeaderError",
    "SignatureMismatchError", "Signer", "TimestampInFutureError", "TimestampTooOldError", "Webhook",
    "WebhookVerificationError", "__version__", "generate_secret", "generate_signing_key", "public_key_for", "sign",
]  # fmt: skip


# Public submodules whose names users import (a rename keeps the old name as a deprecated
# alias, outside __all__: see test_idempotency.py and test_verifier_adapter.py).
SUBMODULE_API = {
    "hookseal.errors": [
        "ERROR_FACTS", "ConfigurationError", "ErrorFacts", "HooksealError", "InvalidPayloadError",
        "MalformedHeaderError", "MissingHeaderError", "SignatureMismatchError", "TimestampInFutureError",
        "TimestampTooOldError", "WebhookVerificationError",
    ],
    "hookseal.idempotency": [
        "DEFAULT_LEASE", "DEFAULT_TTL", "Claim", "ClaimState", "IdempotencyStore", "MemoryIdempotencyStore",
        "ProcessOnce", "RedisIdempotencyStore", "RunResult", "SQLiteIdempotencyStore", "StoreAnswer",
    ],
    "hookseal.verifier_adapter": ["answer", "main", "serve"],
    "hookseal.adapter": [],  # the old name of hookseal.verifier_adapter
}  # fmt: skip


def test_all_is_pinned() -> None:
    assert sorted(hookseal.__all__) == sorted(PUBLIC_API)
    for name in hookseal.__all__:
        assert hasattr(hookseal, name)


@pytest.mark.parametrize("module", sorted(SUBMODULE_API))
def test_submodule_all_is_pinned(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(SUBMODULE_API[module])
    for name in mod.__all__:
        assert hasattr(mod, name)


def test_signatures_of_the_main_entry_points() -> None:
    assert str(inspect.signature(hookseal.Webhook)) == (
        "(secret_or_secrets: 'Union[str, Sequence[str]]', *, profile: 'str' = 'hookseal-v1', "
        "tolerance: 'int' = 300, header_prefix: 'str' = 'Hookseal', clock: 'Optional[Clock]' = None) -> 'None'"
    )
    assert list(inspect.signature(hookseal.Webhook.verify).parameters) == ["self", "body", "headers", "now"]
    assert list(inspect.signature(hookseal.sign).parameters) == [
        "body", "secret_or_secrets", "profile", "timestamp", "msg_id", "event_type", "header_prefix",
    ]  # fmt: skip
    assert list(inspect.signature(hookseal.Signer).parameters) == ["secret_or_secrets", "profile", "header_prefix"]
    assert list(inspect.signature(hookseal.Signer.sign).parameters) == [
        "self", "body", "timestamp", "msg_id", "event_type",
    ]  # fmt: skip


def test_error_hierarchy_and_codes() -> None:
    codes = {
        hookseal.MissingHeaderError: "missing_header",
        hookseal.MalformedHeaderError: "malformed_header",
        hookseal.TimestampTooOldError: "timestamp_too_old",
        hookseal.TimestampInFutureError: "timestamp_in_future",
        hookseal.SignatureMismatchError: "signature_mismatch",
    }
    for cls, code in codes.items():
        assert issubclass(cls, hookseal.WebhookVerificationError)
        assert cls.code == code
    assert hookseal.ConfigurationError.code == "invalid_configuration"
    assert hookseal.InvalidPayloadError.code == "invalid_payload"
    for cls in (hookseal.ConfigurationError, hookseal.InvalidPayloadError):
        assert issubclass(cls, ValueError) and issubclass(cls, hookseal.HooksealError)
        assert not issubclass(cls, hookseal.WebhookVerificationError)


def test_every_public_callable_has_a_docstring() -> None:
    for name in hookseal.__all__:
        obj = getattr(hookseal, name)
        if callable(obj):
            assert inspect.getdoc(obj), name
    for method in ("verify", "construct_event"):
        assert inspect.getdoc(getattr(hookseal.Webhook, method))
    assert inspect.getdoc(hookseal.Signer.sign)


def test_importing_hookseal_imports_no_third_party_module() -> None:
    code = (
        "import sys, hookseal; bad = [m for m in ('cryptography', 'pydantic', 'rich', 'starlette', 'flask', "
        "'django', 'redis', 'hookseal_catalog') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
