"""The public API of hookseal_sender is pinned: changing it must be a deliberate, visible edit."""

from __future__ import annotations

import importlib
import inspect
import re
from importlib.metadata import version
from pathlib import Path

import hookseal
import hookseal_sender
import pytest
from hookseal_sender import SenderConfig

PUBLIC_API = [
    "DEFAULT_RETRY_POLICY", "Attempt", "AuditEntry", "BackgroundWorker", "BreakerPolicy",
    "ConfigError", "ConflictError", "CreatedEndpoint", "Delivery", "DeliveryFilter",
    "DestinationRefusedError", "Endpoint", "EnqueueResult", "IdempotencyConflictError",
    "InvalidAuthError", "InvalidBatchError", "InvalidEventDataError", "InvalidFilterError",
    "InvalidHeadersError", "InvalidOrderingError", "InvalidPayloadError", "InvalidRateLimitError",
    "InvalidRedactionError", "InvalidRequestError", "InvalidVersionError", "LogNotifier", "NotFoundError", "Notice",
    "Notifier", "PostgresStore", "RetryPolicy", "Rotation", "SMTPNotifier", "SQLiteStore",
    "SecretBox", "Sender", "SenderConfig", "SenderConfigError", "SenderError", "Store", "Worker",
    "__version__", "generate_master_key", "open_store", "tune_gc",
]  # fmt: skip

#: The public modules, each with an ``__all__`` naming what it offers.
PUBLIC_MODULES = [
    "api", "audit", "backfill", "catalog", "cli", "conformance_adapter", "adapter", "config", "deliveries",
    "demo", "endpoints", "errors", "metrics", "models", "notify", "outbox", "owner_notices",
    "owner_watch", "portal",
    "portal_tokens", "secretbox", "sender", "signing_keys", "ssrf",
]  # fmt: skip

#: What Sender offers, as it did before it delegated to its services.
SENDER_METHODS = [
    "add_waker", "allows_local", "audit", "cancel", "close", "create_endpoint", "delete_endpoint",
    "delivery_status_counts", "get_batch", "get_delivery", "get_endpoint", "list_deliveries",
    "list_endpoints", "on_close", "pause_endpoint", "ping", "public_keys", "purge", "remove_waker", "replay",
    "replay_batch", "replay_bulk", "replay_corrected",
    "resume_endpoint", "rotate_secret", "send", "update_endpoint", "wake_workers", "worker",
]  # fmt: skip


def test_all_is_pinned() -> None:
    assert sorted(hookseal_sender.__all__) == sorted(PUBLIC_API)
    for name in hookseal_sender.__all__:
        assert hasattr(hookseal_sender, name), name


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_public_modules_declare_all(name: str) -> None:
    module = importlib.import_module(f"hookseal_sender.{name}")
    assert isinstance(module.__all__, list) and module.__all__, name
    for member in module.__all__:
        assert hasattr(module, member), f"{name}.{member}"


def test_sender_methods_and_signatures() -> None:
    public = sorted(n for n, v in inspect.getmembers(hookseal_sender.Sender)
                    if not n.startswith("_") and callable(v))
    assert public == SENDER_METHODS
    assert list(inspect.signature(hookseal_sender.Sender.create_endpoint).parameters) == [
        "self", "tenant_id", "url", "description", "profile", "header_prefix", "event_types",
        "signing", "retry_schedule", "retry_after_cap", "timeout", "allow_local", "notify_email",
        "versions", "filter", "headers", "redact", "rate_limit", "batch", "ordering", "auth",
        "tls_ca_pem",
    ]  # fmt: skip
    assert list(inspect.signature(hookseal_sender.Sender.replay_bulk).parameters) == [
        "self", "tenant_id", "flt", "confirm", "actor", "reason", "include_ids", "limit",
    ]  # fmt: skip


def test_every_public_callable_has_a_docstring() -> None:
    for name in hookseal_sender.__all__:
        obj = getattr(hookseal_sender, name)
        if callable(obj):
            assert inspect.getdoc(obj), name
    for name, member in inspect.getmembers(hookseal_sender.Sender):
        if not name.startswith("_") and callable(member):
            assert inspect.getdoc(member), f"Sender.{name}"


def test_error_codes_and_former_names() -> None:
    # The renamed errors keep their old names and codes; the SDK's namesakes are other classes.
    assert hookseal_sender.ConfigError is hookseal_sender.SenderConfigError
    assert hookseal_sender.InvalidPayloadError is hookseal_sender.InvalidEventDataError
    assert hookseal_sender.SenderConfigError.code == "invalid_configuration"
    assert hookseal_sender.InvalidEventDataError.code == "invalid_payload"
    assert not issubclass(hookseal_sender.InvalidEventDataError, hookseal.InvalidPayloadError)
    assert not issubclass(hookseal_sender.SenderConfigError, hookseal.ConfigurationError)
    for name in hookseal_sender.__all__:
        obj = getattr(hookseal_sender, name)
        if inspect.isclass(obj) and issubclass(obj, Exception):
            assert issubclass(obj, hookseal_sender.SenderError), name


def test_version_has_one_source_and_the_user_agent_follows_it() -> None:
    pyproject = Path(__file__).parents[1] / "pyproject.toml"
    found = re.search(r'^version = "([^"]+)"$', pyproject.read_text(encoding="utf-8"), re.M)
    assert found is not None
    declared = found.group(1)
    assert hookseal_sender.__version__ == version("hookseal-sender") == declared
    assert SenderConfig().user_agent == f"hookseal-sender/{declared}"


def test_profile_defaults_are_the_sdks() -> None:
    params = inspect.signature(hookseal_sender.Sender.create_endpoint).parameters
    assert params["profile"].default == hookseal.HOOKSEAL_V1
    assert params["header_prefix"].default == hookseal.DEFAULT_HEADER_PREFIX


def test_the_documented_adapter_command_module_runs_the_conformance_adapter() -> None:
    from hookseal_sender import adapter, conformance_adapter

    assert adapter.main is conformance_adapter.main
    assert adapter.Adapter is conformance_adapter.ConformanceAdapter


def test_the_admin_api_and_the_portal_do_not_import_each_other() -> None:
    root = Path(hookseal_sender.__file__).parent
    api = [line for line in (root / "api.py").read_text(encoding="utf-8").splitlines()
           if line.lstrip().startswith(("from ", "import "))]
    assert not any(re.search(r"\.portal(\.| import)", line) for line in api), api
    for path in (root / "portal").glob("*.py"):
        imports = [line for line in path.read_text(encoding="utf-8").splitlines()
                   if line.lstrip().startswith(("from ", "import "))]
        assert not any(".api" in line or "hookseal_sender.api" in line for line in imports), \
            path.name
