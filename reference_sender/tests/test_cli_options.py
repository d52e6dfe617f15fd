"""``hookseal-sender endpoints add/update`` with --filter, --header, --redact and
--rate-limit (and the --no-... flags of update)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hookseal_sender import Sender, SenderConfig
from hookseal_sender.cli import main


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["init", "--dir", str(tmp_path), "--allow-local"]) == 0
    capsys.readouterr()
    settings = tmp_path / "hookseal-sender.json"

    def run(*args: str) -> tuple[int, str]:
        code = main(["--config", str(settings), "--tenant", "acme", *args])
        return code, capsys.readouterr().out

    def endpoint(eid: str):  # type: ignore[no-untyped-def]
        key = (tmp_path / "master.key").read_text().strip()
        sender = Sender(SenderConfig(database=f"sqlite:///{tmp_path / 'hookseal-sender.db'}",
                                     master_key=key))
        try:
            return sender.get_endpoint("acme", eid)
        finally:
            sender.close()

    run.endpoint = endpoint  # type: ignore[attr-defined]
    return run


def test_options_are_set_shown_replaced_and_cleared(cli) -> None:  # type: ignore[no-untyped-def]
    flt = {"/data/invoice/total/amount": {"$gte": 10000}}
    code, out = cli("endpoints", "add", "http://127.0.0.1:9/hook", "--allow-local",
                    "--event-type", "test.ping", "--filter", json.dumps(flt),
                    "--header", "X-Team=billing", "--header", "X-Note=a=b",
                    "--redact", "/endpoint_id", "--rate-limit", "2.5")
    assert code == 0, out
    assert "rate limit: 2.5 per second" in out and "X-Note: a=b" in out
    eid = re.search(r"ep_[0-9a-f]+", out).group(0)  # type: ignore[union-attr]
    ep = cli.endpoint(eid)
    assert (ep.filter, ep.headers, ep.redact, ep.rate_limit) == (
        flt, {"X-Team": "billing", "X-Note": "a=b"}, ["/endpoint_id"], 2.5)

    code, out = cli("endpoints", "update", eid, "--header", "X-Env=prod", "--rate-limit", "9")
    assert code == 0, out
    ep = cli.endpoint(eid)
    assert (ep.headers, ep.rate_limit, ep.filter) == ({"X-Env": "prod"}, 9.0, flt)

    code, out = cli("endpoints", "update", eid, "--no-filter", "--no-headers", "--no-redact",
                    "--no-rate-limit")
    assert code == 0, out
    ep = cli.endpoint(eid)
    assert (ep.filter, ep.headers, ep.redact, ep.rate_limit) == (None, None, None, None)


@pytest.mark.parametrize(("args", "code_word"), [
    (["--filter", '{"/type": {"$regex": "x"}}'], "invalid_filter"),
    (["--filter", "{not json"], "invalid_request"),
    (["--header", "X-Team"], "invalid_headers"),
    (["--header", "Content-Type=text/plain"], "invalid_headers"),
    (["--redact", "/message", "--event-type", "test.ping"], "invalid_redaction"),
    (["--rate-limit", "0"], "invalid_rate_limit"),
])
def test_bad_options_are_refused_by_code(cli, args: list[str], code_word: str) -> None:  # type: ignore[no-untyped-def]
    code, out = cli("endpoints", "add", "http://127.0.0.1:9/hook", "--allow-local", *args)
    assert code == 1 and code_word in out, out
    assert "ep_" not in cli("endpoints", "list")[1]


def test_clearing_and_setting_one_option_at_once_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    code, out = cli("endpoints", "add", "http://127.0.0.1:9/hook", "--allow-local")
    eid = re.search(r"ep_[0-9a-f]+", out).group(0)  # type: ignore[union-attr]
    code, out = cli("endpoints", "update", eid, "--rate-limit", "3", "--no-rate-limit")
    assert code == 1 and "invalid_request" in out


def test_batch_and_ordering_options(cli) -> None:  # type: ignore[no-untyped-def]
    code, out = cli("endpoints", "add", "http://127.0.0.1:9/h", "--allow-local",
                    "--batch", '{"max_events": 50}', "--ordering", "per_key")
    assert code == 0, out
    assert "batches: up to 50 events, 1048576 bytes, 30 s" in out and "ordering: per_key" in out
    eid = re.search(r"ep_[0-9a-f]+", out).group(0)  # type: ignore[union-attr]
    assert cli("endpoints", "update", eid, "--batch", '{"max_events": 5000}')[0] == 1
    assert cli("endpoints", "update", eid, "--batch", "{bad")[0] == 1
    code, out = cli("endpoints", "update", eid, "--no-batch", "--no-ordering")
    assert code == 0 and "batches:" not in out and "ordering:" not in out
