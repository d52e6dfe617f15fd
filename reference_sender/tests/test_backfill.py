"""Backfill: events that never reached the outbox, enqueued once with their own ids and
times, from JSON lines or a SQL query, by the library, the CLI and the admin API."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from hookseal_sender import BackgroundWorker, Sender, SenderConfig
from hookseal_sender.api import create_app
from hookseal_sender.backfill import (
    MAX_FUTURE_SKEW,
    BackfillError,
    backfill,
    parse_events,
    read_jsonl,
    read_sql,
)
from hookseal_sender.catalog import _catalog
from hookseal_sender.cli import main
from hookseal_sender.errors import ConfigError, InvalidRequestError
from starlette.testclient import TestClient

from ._pg import PostgresServer
from ._receiver import Receiver
from .conftest import wait_for

KEY = "sk_test_provider"
AUTH = {"Authorization": f"Bearer {KEY}"}
#: The outage: two hours, a day ago.
OUTAGE = time.time() - 86400


def example(event_type: str = "invoice.paid") -> dict[str, Any]:
    return _catalog().example(event_type)  # type: ignore[no-any-return]


def records(n: int, tenant: str = "acme", start: int = 0) -> list[dict[str, Any]]:
    return [{"id": f"evt_lost_{i:05d}", "type": "invoice.paid", "created": OUTAGE + i,
             "tenant": tenant, "data": example()} for i in range(start, start + n)]


def jsonl(recs: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in recs)


def parse(recs: list[dict[str, Any]], sender: Sender) -> Any:
    return parse_events(read_jsonl(io.StringIO(jsonl(recs))), sender.validator)


def count(sender: Sender, table: str) -> int:
    conn = sender.store.conn()  # type: ignore[attr-defined]
    return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def endpoint(sender: Sender, tenant: str = "acme", url: str = "http://127.0.0.1:9/hook",
             **kw: Any) -> str:
    return sender.create_endpoint(tenant, url, allow_local=True, **kw).endpoint.id


def test_backfill_keeps_ids_and_creation_times_and_delivers(
        sender: Sender, receiver: Receiver) -> None:
    url = receiver.route("/hook")
    endpoint(sender, url=url, event_types=["invoice.paid"])
    endpoint(sender, url=receiver.route("/other"), event_types=["customer.created"])
    endpoint(sender, tenant="other", url=receiver.route("/theirs"))
    report = backfill(sender, parse(records(3), sender), actor="ops", reason="enqueue bug")
    assert (report.events, report.enqueued, report.already_stored, report.deliveries) == \
        (3, 3, 0, 3)
    w = BackgroundWorker(sender).start()
    try:
        got = wait_for(lambda: len(receiver.requests("/hook")) == 3 and receiver.requests("/hook"))
    finally:
        w.stop()
    bodies = sorted((json.loads(r.body) for r in got), key=lambda b: b["id"])
    assert [b["id"] for b in bodies] == ["evt_lost_00000", "evt_lost_00001", "evt_lost_00002"]
    assert [b["created"] for b in bodies] == [int(OUTAGE + i) for i in range(3)]
    assert all(b["data"] == example() and b["livemode"] is True for b in bodies)
    # The id header a receiver deduplicates by is the original event id too.
    assert sorted(r.headers["Hookseal-Webhook-Id"] for r in got) == [b["id"] for b in bodies]
    assert not receiver.requests("/other") and not receiver.requests("/theirs")
    (entry,) = [e for e in sender.store.list_audit("acme") if e.action == "backfill"]
    assert entry.actor == "ops" and entry.reason == "enqueue bug"
    assert entry.target["enqueued"] == 3 and entry.target["deliveries"] == 3


def test_a_second_backfill_enqueues_nothing_and_says_so(sender: Sender) -> None:
    endpoint(sender)
    endpoint(sender)
    first = backfill(sender, parse(records(5), sender))
    assert (first.enqueued, first.deliveries) == (5, 10)
    # The same file again, with two new lines: only those are enqueued.
    again = backfill(sender, parse(records(7), sender))
    assert (again.events, again.enqueued, again.already_stored, again.deliveries) == \
        (7, 2, 5, 4)
    assert again.tenants == {"acme": {"events": 7, "enqueued": 2, "already_stored": 5,
                                      "deliveries": 4}}
    assert count(sender, "events") == 7 and count(sender, "deliveries") == 14


def test_an_event_sent_normally_is_not_backfilled_again(sender: Sender) -> None:
    endpoint(sender)
    sent = sender.send("acme", "invoice.paid", example())
    rec = {**records(1)[0], "id": sent.event_id}
    report = backfill(sender, parse([rec, *records(1, start=1)], sender))
    assert (report.enqueued, report.already_stored) == (1, 1)
    assert count(sender, "deliveries") == 2


def test_dry_run_counts_and_writes_nothing(sender: Sender) -> None:
    endpoint(sender)
    endpoint(sender, tenant="beta")
    backfill(sender, parse(records(2), sender))
    recs = records(4) + records(3, tenant="beta", start=10)
    report = backfill(sender, parse(recs, sender), dry_run=True)
    assert report.dry_run and (report.events, report.enqueued, report.already_stored,
                               report.deliveries) == (7, 5, 2, 5)
    assert report.tenants["beta"] == {"events": 3, "enqueued": 3, "already_stored": 0,
                                      "deliveries": 3}
    assert count(sender, "events") == 2
    assert not [e for e in sender.store.list_audit("beta") if e.action == "backfill"]


def test_bad_lines_are_reported_with_numbers_and_nothing_is_written(sender: Sender) -> None:
    endpoint(sender)
    good = records(3)
    lines = [json.dumps(good[0]),
             "{not json",
             json.dumps({**good[1], "data": {"invoice": "nope"}}),
             "",
             json.dumps({k: v for k, v in good[2].items() if k != "tenant"}),
             json.dumps({**good[2], "colour": "red"}),
             json.dumps({**good[2], "created": time.time() + 10 * MAX_FUTURE_SKEW}),
             json.dumps({**good[2], "created": "2026-12-06 10:00"}),
             json.dumps(good[0]),
             json.dumps(good[2])]
    with pytest.raises(BackfillError) as info:
        parse_events(read_jsonl(io.StringIO("\n".join(lines) + "\n")), sender.validator)
    errors = {e.line: (e.code, e.detail) for e in info.value.errors}
    assert set(errors) == {2, 3, 5, 6, 7, 8, 9} and info.value.bad == 7
    assert errors[2][0] == "invalid_request" and "not JSON" in errors[2][1]
    assert errors[3][0] == "invalid_payload"
    assert "tenant" in errors[5][1] and "colour" in errors[6][1]
    assert "future" in errors[7][1] and "offset" in errors[8][1]
    assert "line 1" in errors[9][1]  # the same id twice
    assert count(sender, "events") == 0


def test_created_accepts_unix_seconds_and_iso_times(sender: Sender) -> None:
    recs = records(3)
    recs[1]["created"] = "2026-12-06T10:00:00Z"
    recs[2]["created"] = "2026-12-06T11:00:00+01:00"
    events = parse(recs, sender)
    assert [e.created for e in events[1:]] == [1796551200.0, 1796551200.0]
    assert json.loads(events[1].payload)["created"] == 1796551200


def test_cli_backfill_twice_dry_run_and_bad_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["init", "--dir", str(tmp_path), "--allow-local"]) == 0
    settings = str(tmp_path / "hookseal-sender.json")
    assert main(["--config", settings, "--tenant", "acme", "endpoints", "add",
                 "http://127.0.0.1:9/hook", "--allow-local"]) == 0
    src = tmp_path / "lost.jsonl"
    src.write_text(jsonl(records(4)))
    capsys.readouterr()

    def run(*args: str) -> tuple[int, str]:
        code = main(["--config", settings, "--actor", "oncall", "backfill", *args])
        return code, capsys.readouterr().out

    code, out = run("--file", str(src), "--dry-run")
    assert code == 0 and "would enqueue 4 (4 deliveries), 0 already stored" in out
    code, out = run("--file", str(src), "--reason", "INC-7")
    assert code == 0 and "enqueued 4 (4 deliveries), 0 already stored" in out
    code, out = run("--file", str(src))
    assert code == 0 and "enqueued 0 (0 deliveries), 4 already stored (not sent again)" in out
    bad = tmp_path / "bad.jsonl"
    bad.write_text(jsonl(records(2, start=10)) + "[1]\n")
    code, out = run("--file", str(bad))
    assert code == 1 and "line 3: invalid_request" in out and "nothing was written" in out
    code, out = run("--file", str(tmp_path / "missing.jsonl"))
    assert code == 1 and "cannot read" in out
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"id": "caf\xe9"}\n')
    code, out = run("--file", str(latin))
    assert code == 1 and "not UTF-8" in out
    code, out = run("--sql", "SELECT 1")
    assert code == 1 and "--dsn" in out


def _settings_for(config: SenderConfig, tmp_path: Path) -> Path:
    (tmp_path / "master.key").write_text(str(config.master_key) + "\n")
    settings = tmp_path / "hookseal-sender.json"
    settings.write_text(json.dumps({"database": config.database, "master_key_file": "master.key",
                                    "allow_local": True}))
    return settings


def test_two_backfills_at_once_from_two_processes_send_each_event_once(
        sender: Sender, config: SenderConfig, tmp_path: Path) -> None:
    endpoint(sender)
    endpoint(sender)
    settings = _settings_for(config, tmp_path)
    # The second file lists the same events backwards: the two meet in the middle, each
    # holding rows the other wants next (on PostgreSQL that deadlocked before the rows of
    # a batch were written in id order).
    files = [tmp_path / "lost.jsonl", tmp_path / "lost-reversed.jsonl"]
    files[0].write_text(jsonl(records(300)))
    files[1].write_text(jsonl(records(300)[::-1]))
    procs = [subprocess.Popen([sys.executable, "-m", "hookseal_sender.cli", "--config",
                               str(settings), "backfill", "--file", str(f), "--batch-size",
                               "60"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for f in files]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    enqueued = [int(re.search(r"enqueued (\d+) \(", o).group(1)) for o in outs]  # type: ignore[union-attr]
    stored = [int(re.search(r"(\d+) already stored", o).group(1)) for o in outs]  # type: ignore[union-attr]
    assert sum(enqueued) == 300 and [e + s for e, s in zip(enqueued, stored)] == [300, 300]
    assert count(sender, "events") == 300 and count(sender, "deliveries") == 600
    assert count(sender, "queue") == 600


def _provider_rows() -> list[tuple[Any, ...]]:
    return [(r["id"], r["type"], r["created"], r["tenant"], json.dumps(r["data"]))
            for r in records(3)]


def test_sql_source_sqlite_read_only(sender: Sender, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint(sender)
    db = tmp_path / "provider.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE outbox_events (evt TEXT, kind TEXT, at REAL, customer TEXT,"
                     " body TEXT)")
        conn.executemany("INSERT INTO outbox_events VALUES (?,?,?,?,?)", _provider_rows())
    conn.close()
    query = ("SELECT evt AS id, kind AS type, at AS created, customer AS tenant, body AS data"
             " FROM outbox_events ORDER BY evt")
    rows = read_sql(f"sqlite:///{db}", query)
    assert [n for n, _ in rows] == [1, 2, 3]
    monkeypatch.chdir(tmp_path)  # a relative path, as the sender's own database URL takes it
    assert read_sql("sqlite:///provider.db", query) == rows
    report = backfill(sender, parse_events(rows, sender.validator), source="sql")
    assert report.enqueued == 3
    assert sorted(d.event_id for d in sender.list_deliveries("acme")) == \
        ["evt_lost_00000", "evt_lost_00001", "evt_lost_00002"]
    with pytest.raises(InvalidRequestError, match="the query failed"):
        read_sql(f"sqlite:///{db}", "DELETE FROM outbox_events")
    with sqlite3.connect(db) as check:
        assert check.execute("SELECT COUNT(*) FROM outbox_events").fetchone()[0] == 3
    check.close()
    with pytest.raises(InvalidRequestError, match="the query failed"):
        read_sql(f"sqlite:///{db}", "SELECT nope FROM outbox_events")
    with pytest.raises(ConfigError):
        read_sql(f"sqlite:///{tmp_path / 'none.db'}", query)
    with pytest.raises(ConfigError):
        read_sql("mysql://x", query)


@pytest.mark.postgres
def test_sql_source_postgres_jsonb_and_timestamptz(
        sender: Sender, pg_server: PostgresServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import psycopg

    endpoint(sender)
    dsn = pg_server.create_db(f"provider_{int(time.time() * 1000) % 10**8}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE events (id TEXT, type TEXT, created_at TIMESTAMPTZ,"
                     " account TEXT, payload JSONB)")
        for r in records(3):
            conn.execute("INSERT INTO events VALUES (%s, %s, to_timestamp(%s), %s, %s)",
                         [r["id"], r["type"], r["created"], r["tenant"],
                          json.dumps(r["data"])])
    query = ("SELECT id, type, created_at AS created, account AS tenant, payload AS data"
             " FROM events ORDER BY id")
    events = parse_events(read_sql(dsn, query), sender.validator)
    assert [round(e.created) for e in events] == [round(OUTAGE + i) for i in range(3)]
    with pytest.raises(InvalidRequestError, match="the query failed"):
        read_sql(dsn, "DELETE FROM events")  # a read-only transaction
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 3  # type: ignore[index]
    # The CLI, twice: the second run sends nothing.
    monkeypatch.setenv("COLUMNS", "200")
    settings = str(_settings_for(sender.config, tmp_path))
    for expected in ("enqueued 3 (3 deliveries), 0 already stored",
                     "enqueued 0 (0 deliveries), 3 already stored"):
        assert main(["--config", settings, "backfill", "--sql", query, "--dsn", dsn]) == 0
        assert expected in capsys.readouterr().out
    assert count(sender, "deliveries") == 3


def test_admin_api_backfill(sender: Sender) -> None:
    endpoint(sender)
    client = TestClient(create_app(sender, {KEY: "provider-ci"}))
    events = [{k: v for k, v in r.items() if k != "tenant"} for r in records(3)]
    url = "/v1/tenants/acme/backfills"
    dry = client.post(url, headers=AUTH, json={"events": events, "dry_run": True}).json()
    assert (dry["dry_run"], dry["enqueued"], dry["deliveries"]) == (True, 3, 3)
    r = client.post(url, headers=AUTH, json={"events": events, "reason": "INC-7"})
    assert r.status_code == 200 and r.json()["enqueued"] == 3
    again = client.post(url, headers=AUTH, json={"events": events}).json()
    assert (again["enqueued"], again["already_stored"]) == (0, 3)
    # Another tenant's event in this tenant's backfill, and bad data: item numbers, no write.
    bad = [*records(1, start=5), {**records(1, tenant="other", start=6)[0]},
           {**events[0], "id": "evt_new", "data": {}}]
    r = client.post(url, headers=AUTH, json={"events": bad})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert [e["line"] for e in r.json()["errors"]] == [2, 3]
    assert count(sender, "events") == 3
    assert client.post(url, json={"events": events}).status_code == 401
    assert client.post(url, headers=AUTH, json={"events": "x"}).status_code == 400
    audit = [e for e in sender.store.list_audit("acme") if e.action == "backfill"]
    assert [e.actor for e in audit] == ["provider-ci", "provider-ci"]


def test_backfill_progress_is_reported_per_batch(sender: Sender) -> None:
    endpoint(sender)
    seen: list[tuple[int, int]] = []
    cb: Callable[[int, int], None] = lambda done, total: seen.append((done, total))  # noqa: E731
    backfill(sender, parse(records(5), sender), batch_size=2, on_progress=cb)
    assert seen == [(0, 5), (2, 5), (4, 5), (5, 5)]
