"""Property tests: no input to the admin API or the command line is a 500 or a traceback.

Every operation of the admin API gets generated path values, query values and bodies
(JSON of every shape, NaN and infinities included, and bytes that are not JSON); every
command of the command line gets generated arguments. Each must answer with a typed
error (a 4xx with ``error`` and ``detail``; exit status 1 with ``error (code)``, or 2 for
a usage error) or succeed, and never fail with an exception of its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hookseal_sender import Sender
from hookseal_sender.api import _HANDLERS, OPERATIONS, create_app
from hookseal_sender.cli import main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from .conftest import fake_resolve

KEY = "sk_properties"
AUTH = {"Authorization": f"Bearer {KEY}"}

scalars = (st.none() | st.booleans() | st.integers() | st.floats()
           | st.text(max_size=30) | st.sampled_from(["", "https://hooks.example.com/a",
                                                     "http://127.0.0.1:9/", "invoice.paid"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                           max_leaves=12)
deep = st.integers(1, 3000).map(lambda n: "[" * n + "]" * n)
texts = st.text(max_size=40) | st.sampled_from(["nan", "inf", "-inf", "1e308", "-1", "0",
                                                 "1765000000", "10001", "1.5", "\x00"])


def _fields(schema: Any) -> list[str]:
    return sorted((schema or {}).get("properties", {}))


def _body(fields: list[str]) -> st.SearchStrategy[bytes]:
    known = st.fixed_dictionaries({}, optional={f: json_values for f in fields})
    as_json = (known | json_values).map(lambda v: json.dumps(v).encode())
    return as_json | deep.map(str.encode) | st.binary(max_size=40)


def _operation() -> st.SearchStrategy[tuple[str, str, dict[str, str], bytes]]:
    choices = []
    for (method, path, _fn, _status), op in zip(_HANDLERS, OPERATIONS):
        query_names = ["since", "until", "limit", "status", "before", "endpoint_id",
                       "event_type"] if method == "GET" else []
        choices.append(st.tuples(
            st.just(method), st.just(path),
            st.fixed_dictionaries({}, optional={q: texts for q in query_names}),
            _body(_fields(op[4])) if op[4] is not None else st.just(b"")))
    return st.one_of(choices)


def _path(path: str, tenant: str, endpoint_id: str, delivery_id: str) -> str:
    return (path.replace("{tenant}", quote(tenant, safe=""))
            .replace("{endpoint_id}", quote(endpoint_id, safe=""))
            .replace("{delivery_id}", quote(delivery_id, safe="")))


def test_no_admin_api_input_is_a_500(sender: Sender) -> None:
    client = TestClient(create_app(sender, {KEY: "props"}, max_body_bytes=64 * 1024),
                        raise_server_exceptions=False)
    created = client.post("/v1/tenants/alice/endpoints", headers=AUTH,
                          json={"url": "https://hooks.example.com/a"}).json()
    eid = created["endpoint"]["id"]
    did = client.post(f"/v1/tenants/alice/endpoints/{eid}/ping",
                      headers=AUTH).json()["delivery_id"]
    ids = st.sampled_from([eid, did]) | texts.filter(bool)
    tenants = st.sampled_from(["alice", "bob"]) | texts.filter(bool)

    @settings(max_examples=300, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(op=_operation(), tenant=tenants, endpoint_id=ids, delivery_id=ids)
    def check(op: tuple[str, str, dict[str, str], bytes], tenant: str, endpoint_id: str,
              delivery_id: str) -> None:
        method, path, query, body = op
        r = client.request(method, _path(path, tenant, endpoint_id, delivery_id),
                           params=query, content=body,
                           headers={**AUTH, "Content-Type": "application/json"})
        assert r.status_code < 500, (method, path, query, body[:200], r.text[:500])
        # The router's own 404 and 405 (a path no route matches) are plain text.
        if r.status_code >= 400 and r.status_code not in (404, 405):
            payload = r.json()
            assert isinstance(payload.get("error"), str) and payload.get("detail"), payload

    check()


numbers = st.sampled_from(["nan", "inf", "-inf", "1e308", "-1", "0", "1", "2592001", "x",
                           "", "10001", "0.5"])
words = texts | st.sampled_from(["[bold]", "[/]", "[/x]", "[link=x]y", "ep_", "-"])


def _argv(eid: str, did: str) -> st.SearchStrategy[list[str]]:
    ident = st.sampled_from([eid, did]) | words
    return st.one_of(
        st.tuples(st.just("endpoints"), st.just("add"), words | st.sampled_from(
            ["http://127.0.0.1:4300/", "https://hooks.example.com/x"]),
            st.sampled_from([[], ["--allow-local"], ["--description"], ["--profile"],
                             ["--notify-email"], ["--event-type"]]), words).map(
            lambda t: [t[0], t[1], t[2], *t[3], *([t[4]] if t[3] and t[3] != ["--allow-local"]
                                                   else [])]),
        st.tuples(st.just("endpoints"), st.sampled_from(["pause", "resume", "delete", "ping",
                                                          "keys"]), ident).map(list),
        st.tuples(ident, st.sampled_from(["--description", "--url", "--profile",
                                          "--event-type"]), words).map(
            lambda t: ["endpoints", "update", t[0], t[1], t[2]]),
        st.tuples(ident, numbers).map(lambda t: ["endpoints", "rotate", t[0], "--overlap", t[1]]),
        st.tuples(words, words).map(lambda t: ["send", t[0], "--data", t[1]]),
        # ("-" reads standard input, which tests of its own cover.)
        st.tuples(words.filter(lambda w: w != "-")).map(lambda t: ["send", "--file", t[0]]),
        st.tuples(st.sampled_from(["list", "replay"]),
                  st.sampled_from(["--since-hours", "--limit", "--status", "--endpoint",
                                   "--event-type"]), numbers | words).map(
            lambda t: ["deliveries", t[0], t[1], t[2], *(["--yes"] if t[0] == "replay"
                                                          else [])]),
        st.tuples(ident).map(lambda t: ["deliveries", "show", t[0]]),
        st.tuples(ident, words).map(lambda t: ["deliveries", "replay", t[0], "--reason", t[1]]),
        st.tuples(ident).map(lambda t: ["deliveries", "cancel", t[0]]),
        st.tuples(numbers, numbers).map(
            lambda t: ["purge", "--older-than-days", t[0], "--batch-size", t[1]]),
        st.tuples(numbers, words).map(lambda t: ["portal-link", "--ttl", t[0], "--user", t[1]]),
    )


def test_no_command_line_input_is_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["init", "--dir", str(tmp_path), "--allow-local"]) == 0
    config = str(tmp_path / "hookseal-sender.json")
    assert main(["--config", config, "endpoints", "add", "http://127.0.0.1:9/h",
                 "--allow-local"]) == 0
    eid = _first(capsys.readouterr().out, "ep_")
    assert main(["--config", config, "endpoints", "ping", eid]) == 0
    did = _first(capsys.readouterr().out, "dlv_")

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(argv=_argv(eid, did), tenant=st.sampled_from(["default", "other"]) | words)
    def check(argv: list[str], tenant: str) -> None:
        try:
            code = main(["--config", config, "--tenant", tenant, *argv])
        except SystemExit as exc:  # argparse: a usage error names the option
            assert exc.code in (0, 2), (argv, exc.code)
            return
        finally:
            captured = capsys.readouterr()
        assert code in (0, 1), (argv, code)
        if code == 1:
            assert "error (" in captured.out or "Nothing replayed" in captured.out, \
                (argv, captured.out)

    check()


def _first(text: str, prefix: str) -> str:
    import re

    found = re.search(prefix + r"[0-9a-f]+", text)
    assert found, text
    return found.group(0)


@pytest.fixture
def sender(db_url: str, master_key: str) -> Any:
    from hookseal_sender import SenderConfig

    s = Sender(SenderConfig(database=db_url, master_key=master_key), resolve=fake_resolve)
    yield s
    s.close()
