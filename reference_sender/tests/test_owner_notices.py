"""Owner notices: templates and thresholds from the settings, and the notice after a bulk
replay (library, CLI, admin API), each message in the audit log."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from hookseal_sender import Notice, Sender
from hookseal_sender.api import create_app
from hookseal_sender.catalog import _catalog
from hookseal_sender.cli import main
from hookseal_sender.errors import ConfigError, InvalidRequestError
from hookseal_sender.models import DeliveryFilter
from hookseal_sender.owner_notices import (
    DEFAULT_TEMPLATES,
    OwnerNoticePolicy,
    check_template,
    notify_bulk_replay,
    replay_period,
)
from starlette.testclient import TestClient

KEY = "sk_test_provider"
AUTH = {"Authorization": f"Bearer {KEY}"}


class Recorder:
    """A notifier that keeps what it is told."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []

    def notify(self, notice: Notice) -> None:
        self.notices.append(notice)


def example() -> dict[str, Any]:
    return _catalog().example("invoice.paid")  # type: ignore[no-any-return]


def cancelled_deliveries(sender: Sender, tenant: str, n: int, **endpoint: Any) -> str:
    """An endpoint with ``n`` cancelled deliveries (finished, so they can be replayed)."""
    eid = sender.create_endpoint(tenant, "http://127.0.0.1:9/hook", allow_local=True,
                                 **endpoint).endpoint.id
    for _ in range(n):
        sender.send(tenant, "invoice.paid", example())
    sender.cancel(tenant, endpoint_id=eid)
    return eid


def test_templates_use_only_their_placeholders() -> None:
    assert check_template("bulk_replay", "{count} events re-sent ({period})")
    for bad in ("{url}", "{count.__class__}", "{count[0]}", "{count:>10}", "{count!r}",
                "{count", "", 3, "x" * 2001):
        with pytest.raises(InvalidRequestError):
            check_template("bulk_replay", bad)
    for kind, text in DEFAULT_TEMPLATES.items():
        assert check_template(kind, text) == text


def test_policy_from_settings() -> None:
    policy = OwnerNoticePolicy.from_settings({
        "templates": {"bulk_replay": "Re-sent {count}."}, "endpoint_down_hours": 12,
        "tenant_failure_percent": 40, "tenant_min_attempts": 5, "stale_after_days": 30,
        "check_interval_seconds": 120})
    assert policy.template("bulk_replay") == "Re-sent {count}."
    assert policy.template("endpoint_down") == DEFAULT_TEMPLATES["endpoint_down"]
    assert (policy.endpoint_down_after, policy.tenant_failure_rate, policy.tenant_min_attempts,
            policy.stale_after_days, policy.check_interval) == (43200, 0.4, 5, 30, 120)
    assert OwnerNoticePolicy.from_settings(None) == OwnerNoticePolicy()
    for bad in ({"templates": {"nope": "x"}}, {"templates": {"bulk_replay": "{url}"}},
                {"colour": 1}, {"tenant_failure_percent": 101}, {"stale_after_days": "90"},
                {"tenant_min_attempts": 0}, {"templates": []}):
        with pytest.raises(ConfigError, match="owner_notices"):
            OwnerNoticePolicy.from_settings(bad)


def test_replay_period_in_words() -> None:
    assert replay_period(DeliveryFilter(since=1796551200, until=1796558400)) == \
        "2026-12-06 10:00 UTC to 2026-12-06 12:00 UTC"
    assert replay_period(DeliveryFilter(since=1796551200)) == "after 2026-12-06 10:00 UTC"
    assert replay_period(DeliveryFilter()) == "an earlier period"


def test_bulk_replay_tells_each_owner_once_and_audits_the_message(sender: Sender) -> None:
    rec = Recorder()
    sender.notifier = rec
    ep1 = cancelled_deliveries(sender, "acme", 2, notify_email="ops@acme.example")
    cancelled_deliveries(sender, "acme", 1, notify_email="ops@acme.example")
    ep3 = cancelled_deliveries(sender, "acme", 1, notify_email="cto@acme.example")
    cancelled_deliveries(sender, "other", 1, notify_email="them@other.example")
    flt = DeliveryFilter(status=["cancelled"])
    preview = sender.replay_bulk("acme", flt)
    assert notify_bulk_replay(sender, "acme", flt, preview) is None  # not confirmed
    done = sender.replay_bulk("acme", flt, confirm=True, actor="oncall", reason="INC-7")
    message = notify_bulk_replay(sender, "acme", flt, done, actor="oncall", reason="INC-7",
                                 period="yesterday's outage")
    assert message == ("We re-sent 4 webhook events from yesterday's outage; check your "
                       "endpoint for duplicates (a re-sent event keeps its event id).")
    assert sorted((n.recipient, n.endpoint_id) for n in rec.notices) == [
        ("cto@acme.example", ep3), ("ops@acme.example", "")]
    assert {(n.kind, n.tenant_id, n.message) for n in rec.notices} == {
        ("bulk_replay", "acme", message)}
    (entry,) = [e for e in sender.store.list_audit("acme") if e.action == "owner_notice"]
    assert entry.actor == "oncall" and entry.reason == "INC-7"
    assert entry.target["message"] == message and entry.target["kind"] == "bulk_replay"
    assert sorted(entry.target["recipients"]) == ["cto@acme.example", "ops@acme.example"]
    assert not [e for e in sender.store.list_audit("other") if e.action == "owner_notice"]
    # One endpoint's replay tells that endpoint's owner only, in the provider's words.
    rec.notices.clear()
    sender.owner_notices = OwnerNoticePolicy.from_settings(
        {"templates": {"bulk_replay": "{tenant}: {count} re-sent from {period}."}})
    sender.cancel("acme", endpoint_id=ep1)
    flt1 = DeliveryFilter(endpoint_id=ep1, status=["cancelled"], since=1796551200)
    done = sender.replay_bulk("acme", flt1, confirm=True)
    assert notify_bulk_replay(sender, "acme", flt1, done) == \
        "acme: 4 re-sent from after 2026-12-06 10:00 UTC."  # its own 2 and 2 sent to all
    assert [(n.recipient, n.endpoint_id, n.url) for n in rec.notices] == [
        ("ops@acme.example", ep1, "http://127.0.0.1:9/hook")]


def test_a_failing_notifier_is_audited_and_does_not_stop_the_others(sender: Sender) -> None:
    told: list[str] = []

    class Flaky:
        def notify(self, notice: Notice) -> None:
            if notice.recipient == "a@acme.example":
                raise OSError("mail server down")
            told.append(str(notice.recipient))

    sender.notifier = Flaky()
    cancelled_deliveries(sender, "acme", 1, notify_email="a@acme.example")
    cancelled_deliveries(sender, "acme", 1, notify_email="b@acme.example")
    flt = DeliveryFilter(status=["cancelled"])
    done = sender.replay_bulk("acme", flt, confirm=True)
    assert notify_bulk_replay(sender, "acme", flt, done) is not None
    assert told == ["b@acme.example"]
    (entry,) = [e for e in sender.store.list_audit("acme") if e.action == "owner_notice"]
    assert entry.target["recipients"] == ["b@acme.example"]
    assert entry.target["failed"] == ["a@acme.example: OSError"]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Any:
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["init", "--dir", str(tmp_path), "--allow-local"]) == 0
    settings = tmp_path / "hookseal-sender.json"
    capsys.readouterr()

    def run(*args: str) -> tuple[int, str]:
        code = main(["--config", str(settings), "--tenant", "acme", "--actor", "oncall", *args])
        return code, capsys.readouterr().out

    run.settings = settings  # type: ignore[attr-defined]
    return run


def test_cli_bulk_replay_tells_the_owner_with_the_settings_template(
        cli: Any, caplog: pytest.LogCaptureFixture) -> None:
    settings = json.loads(cli.settings.read_text())
    settings["owner_notices"] = {"templates": {
        "bulk_replay": "We re-sent {count} events from {period}; check for duplicates."}}
    cli.settings.write_text(json.dumps(settings))
    code, out = cli("endpoints", "add", "http://127.0.0.1:9/hook", "--allow-local",
                    "--notify-email", "ops@acme.example")
    eid = re.search(r"ep_[0-9a-f]+", out).group(0)  # type: ignore[union-attr]
    data = json.dumps(example())
    for _ in range(3):
        assert cli("send", "invoice.paid", "--data", data)[0] == 0
    assert cli("deliveries", "cancel", "--endpoint", eid)[0] == 0
    with caplog.at_level(logging.WARNING, logger="hookseal_sender.notify"):
        code, out = cli("deliveries", "replay", "--status", "cancelled", "--yes", "--reason",
                        "INC-7", "--notice-period", "yesterday's outage")
    expected = "We re-sent 3 events from yesterday's outage; check for duplicates."
    assert code == 0 and f"Told the owners of acme: {expected}" in " ".join(out.split())
    assert "bulk_replay tenant=acme" in caplog.text and expected in caplog.text
    code, out = cli("deliveries", "cancel", "--endpoint", eid)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hookseal_sender.notify"):
        code, out = cli("deliveries", "replay", "--status", "cancelled", "--yes", "--no-notify")
    assert code == 0 and "Told the owners" not in out and "bulk_replay" not in caplog.text
    # A bad template in the settings stops every command with a clear error.
    settings["owner_notices"] = {"templates": {"bulk_replay": "{secret}"}}
    cli.settings.write_text(json.dumps(settings))
    code, out = cli("endpoints", "list")
    assert code == 1 and "owner_notices" in out and "{secret}" in out


def test_api_bulk_replay_tells_the_owner(sender: Sender) -> None:
    rec = Recorder()
    sender.notifier = rec
    cancelled_deliveries(sender, "acme", 2, notify_email="ops@acme.example")
    client = TestClient(create_app(sender, {KEY: "provider-ci"}))
    url = "/v1/tenants/acme/replays"
    body: dict[str, Any] = {"status": ["cancelled"], "reason": "INC-7"}
    preview = client.post(url, headers=AUTH, json=body).json()
    assert preview["owner_notice"] is None and not rec.notices
    bad = client.post(url, headers=AUTH, json={**body, "confirm": True,
                                                "notice_template": "{endpoint_secret}"})
    assert bad.status_code == 400 and not rec.notices
    assert sender.replay_bulk("acme", DeliveryFilter(status=["cancelled"]))["matched"] == 2
    r = client.post(url, headers=AUTH, json={**body, "confirm": True,
                                              "notice_period": "the 10:00 outage"}).json()
    assert r["replayed"] == 2 and r["owner_notice"].startswith("We re-sent 2 webhook events "
                                                               "from the 10:00 outage")
    assert [n.recipient for n in rec.notices] == ["ops@acme.example"]
    audit = client.get("/v1/tenants/acme/audit", headers=AUTH).json()["entries"]
    notice = next(e for e in audit if e["action"] == "owner_notice")
    assert notice["actor"] == "provider-ci" and notice["target"]["message"] == r["owner_notice"]
    sender.cancel("acme", delivery_ids=[d.id for d in sender.list_deliveries("acme")])
    r = client.post(url, headers=AUTH, json={"status": ["cancelled"], "confirm": True,
                                              "notify_owner": False}).json()
    assert r["replayed"] == 2 and "owner_notice" not in r and len(rec.notices) == 1
