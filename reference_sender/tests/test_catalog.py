"""Tests of catalog.py: the ``catalog`` setting (refused at start when missing or not lint
clean, one loaded catalog per directory) and the end-to-end story of issue 21 on both
backends: ``hookseal-catalog init`` in a temporary directory, an event type and its v2
with a derivation, a sender pointed at that catalog, a v1-pinned and an unpinned endpoint
over loopback with each body checked against its schema by ``jsonschema``, a derivation
that fails, the sunset notice from a running worker and the move after the sunset."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import hookseal
import jsonschema
import pytest
from hookseal_catalog import load_catalog
from hookseal_sender import (
    BackgroundWorker,
    InvalidPayloadError,
    InvalidVersionError,
    Sender,
    SenderConfig,
    SenderConfigError,
)
from hookseal_sender._settings import read_settings
from hookseal_sender.catalog import PING_TYPE, sender_catalog
from hookseal_sender.notify import Notice
from hookseal_sender.sunsets import MOVED_ACTION, SunsetJob

from ._own_catalog import CATALOG_CLI, SUNSET, make_catalog, run_cli
from ._receiver import Receiver
from .conftest import fake_resolve, wait_for


class _Notices:
    def __init__(self) -> None:
        self.got: list[Notice] = []
        self._lock = threading.Lock()

    def notify(self, notice: Notice) -> None:
        with self._lock:
            self.got.append(notice)


def _check(body: dict[str, Any], cat: Path) -> None:
    """The body's data against its version's schema, by jsonschema itself."""
    schema = load_catalog(cat).resolved_schema(body["type"], body["version"])
    jsonschema.Draft202012Validator(schema).validate(body["data"])


def test_a_provider_catalog_end_to_end(db_url: str, master_key: str, tmp_path: Path,
                                       receiver: Receiver) -> None:
    cat = make_catalog(tmp_path)
    config = SenderConfig(database=db_url, master_key=master_key, allow_local=True,
                          poll_interval=0.02, catalog=str(cat))
    notices = _Notices()
    sender = Sender(config, notifier=notices, resolve=fake_resolve)
    worker = None
    try:
        assert sender.catalog.event_types() == ["order.created", "shipment.sent"]
        with pytest.raises(InvalidPayloadError):  # the sample's types are not this sender's
            sender.send("t1", "invoice.paid", {})
        with pytest.raises(InvalidVersionError, match="versions served are 1, 2"):
            sender.create_endpoint("t1", receiver.route("/x"), allow_local=True,
                                   versions={"shipment.sent": 3})
        old_c = sender.create_endpoint("t1", receiver.route("/v1"), allow_local=True,
                                       versions={"shipment.sent": 1},
                                       notify_email="o@acme.test")
        new_c = sender.create_endpoint("t1", receiver.route("/v2"), allow_local=True)
        old, new = old_c.endpoint, new_c.endpoint
        data = {"order_id": "ord_3Kq8Zt2Lm9", "parcel": {"carrier": "UPS", "tracking": "1Z9"}}
        sent = sender.send("t1", "shipment.sent", data)
        worker = BackgroundWorker(sender).start()

        got = {p: wait_for(lambda p=p: receiver.requests(p))[0] for p in ("/v1", "/v2")}
        for p, created in (("/v1", old_c), ("/v2", new_c)):
            hookseal.Webhook(created.secret).verify(got[p].body, got[p].headers)
        v1, v2 = json.loads(got["/v1"].body), json.loads(got["/v2"].body)
        for body in (v1, v2):
            _check(body, cat)
            assert (body["id"], body["type"]) == (sent.event_id, "shipment.sent")
        assert (v1["version"], v1["data"]) == (1, {"order_id": "ord_3Kq8Zt2Lm9",
                                                   "carrier": "ups"})
        assert (v2["version"], v2["data"]) == (2, data)

        # A carrier v1 cannot name: that delivery fails unsent, the other is delivered.
        bad = sender.send("t1", "shipment.sent", {**data, "parcel": {"carrier": "FedEx",
                                                                     "tracking": "7"}})
        dlv = dict((ep, d) for d, ep in bad.deliveries)
        failed = wait_for(lambda: (d := sender.get_delivery("t1", dlv[old.id])).status
                          == "failed" and d)
        assert failed.last_error == "derivation_failed"
        assert "shipment.sent v2 to v1" in failed.attempts[0].response_body
        wait_for(lambda: sender.get_delivery("t1", dlv[new.id]).status == "delivered")
        assert len(receiver.requests("/v1")) == 1

        # The worker ran the sunset job at start: 5 days before, the 7-day notice.
        notice = wait_for(lambda: [n for n in notices.got if n.kind == "version_sunset"])[0]
        assert (notice.endpoint_id, notice.recipient) == (old.id, "o@acme.test")
        assert f"shipment.sent v1, which is served until {SUNSET.isoformat()}" in notice.message

        # The day after the sunset the pin moves to v2, and the audit log says so.
        after = dt.datetime.combine(SUNSET + dt.timedelta(days=1), dt.time(1),
                                    dt.timezone.utc).timestamp()
        job = SunsetJob(sender.store, sender.catalog, notices, clock=lambda: after)
        assert job.run().moved == [(old.id, "shipment.sent", 1, 2)]
        assert sender.get_endpoint("t1", old.id).versions == {"shipment.sent": 2}
        assert [e.target["to"] for e in sender.store.list_audit("t1")
                if e.action == MOVED_ACTION] == [{"shipment.sent": 2}]
        again = sender.send("t1", "shipment.sent", data)
        body = json.loads(wait_for(lambda: [r for r in receiver.requests("/v1")
                                            if again.event_id.encode() in r.body])[0].body)
        assert body["version"] == 2
        _check(body, cat)

        # test.ping is this catalog's too.
        ping = sender.ping("t1", new.id)
        pinged = wait_for(lambda: [r for r in receiver.requests("/v2")
                                   if ping.event_id.encode() in r.body])
        assert json.loads(pinged[0].body)["type"] == PING_TYPE
    finally:
        if worker is not None:
            worker.stop()
        sender.close()


def test_one_loaded_catalog_per_directory(tmp_path: Path) -> None:
    cat = make_catalog(tmp_path)
    assert sender_catalog(cat) is sender_catalog(str(cat) + "/")
    assert sender_catalog(cat) is not sender_catalog()
    assert sender_catalog().directory == Path(load_catalog().root or "")


def test_a_missing_catalog_is_refused_at_start(tmp_path: Path, master_key: str) -> None:
    with pytest.raises(SenderConfigError, match="catalog") as info:
        Sender(SenderConfig(database=f"sqlite:///{tmp_path / 's.db'}", master_key=master_key,
                            catalog=str(tmp_path / "nowhere")))
    assert info.value.code == "invalid_configuration"
    assert not (tmp_path / "s.db").exists()  # refused before the store was made


def test_a_catalog_that_does_not_lint_is_refused_with_the_linters_message(
        tmp_path: Path, master_key: str) -> None:
    run_cli("init", "bad", "--name", "bad", "--base-uri", "https://x.example/w/", cwd=tmp_path)
    path = tmp_path / "bad/events/order.created/v1.json"
    doc = json.loads(path.read_text())
    del doc["x-hookseal"]["fires_when"]
    path.write_text(json.dumps(doc))
    lint = subprocess.run([CATALOG_CLI, "lint", "--catalog", str(tmp_path / "bad")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert lint.returncode == 1
    message = next(line for line in lint.stdout.splitlines() if "fires_when" in line)
    with pytest.raises(SenderConfigError) as info:
        Sender(SenderConfig(database=f"sqlite:///{tmp_path / 's.db'}", master_key=master_key,
                            catalog=str(tmp_path / "bad")))
    assert "does not pass `hookseal-catalog lint`" in info.value.detail
    assert message.strip() in info.value.detail


def test_the_settings_file_names_the_catalog_relative_to_itself(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    settings = tmp_path / "conf/hookseal-sender.json"
    settings.write_text(json.dumps({"catalog": "../acme"}))
    assert read_settings(settings)["catalog"] == str(tmp_path / "conf/../acme")
    settings.write_text(json.dumps({"catalog": 3}))
    with pytest.raises(SenderConfigError, match="field 'catalog' must be a non-empty string"):
        read_settings(settings)


def test_a_derivations_module_that_cannot_be_imported_is_refused_at_start(
        tmp_path: Path, master_key: str) -> None:
    with pytest.raises(SenderConfigError, match="derivations: cannot import 'no_such_mod_x'"):
        Sender(SenderConfig(database=f"sqlite:///{tmp_path / 's.db'}", master_key=master_key,
                            derivations=("no_such_mod_x",)))
