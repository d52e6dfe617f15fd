"""Tests for ``hookseal listen`` (hookseal._listen), run as a real subprocess over loopback.

Includes the docs quickstart end to end: ``hookseal listen`` then ``hookseal trigger``.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import hookseal
import pytest
from receiving_fixtures import (
    SECRET,
    CaptureServer,
    Process,
    event_body,
    free_port,
    hookseal_command,
    signed,
)

pytest.importorskip("rich", reason="hookseal listen needs rich (pip install 'hookseal[cli]')")


def start_listen(*extra: str) -> tuple[Process, str]:
    proc = Process([*hookseal_command(), "listen", "--port", "0", *extra])
    out = proc.wait_output("Ready!")
    match = re.search(r"Listening on (http://127\.0\.0\.1:\d+/webhooks)", out)
    assert match, out
    return proc, match.group(1)


@pytest.fixture
def listener() -> Iterator[tuple[Process, str]]:
    proc, url = start_listen("--secret", SECRET)
    yield proc, url
    proc.stop()


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


DOCS = Path(__file__).resolve().parents[1] / "docs-receiving.md"


def quickstart_commands() -> list[list[str]]:
    """The commands of the guide's quickstart block, in order."""
    text = DOCS.read_text(encoding="utf-8")
    block = text.split("<!-- quickstart", 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line) for line in block.splitlines() if line.strip()]


def test_quickstart_listen_then_trigger_end_to_end() -> None:
    # Runs exactly the guide's quickstart commands, on a free port instead of 4242.
    commands = quickstart_commands()
    assert [c[:2] for c in commands] == [["hookseal", "listen"], ["hookseal", "trigger"],
                                         ["hookseal", "trigger"]]
    port = str(free_port())

    def local(argv: list[str]) -> list[str]:
        argv = [a.replace("127.0.0.1:4242", f"127.0.0.1:{port}") for a in argv]
        argv = [port if a == "4242" else a for a in argv]
        return [*hookseal_command(), *argv[1:]]

    listen = Process(local(commands[0]))
    try:
        listen.wait_output("Ready!")
        ok = subprocess.run(local(commands[1]), check=False, capture_output=True, text=True, timeout=30)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "← 200" in ok.stdout
        event_id = re.search(r"test\.ping (evt_\w+)", ok.stdout).group(1)  # type: ignore[union-attr]
        out = listen.wait_output(f"verified  test.ping  {event_id}")
        assert '"message": "Hello from Hookseal"' in out

        assert "--tamper" in commands[2]
        tampered = subprocess.run(local(commands[2]), check=False, capture_output=True, text=True, timeout=30)
        assert tampered.returncode == 0, tampered.stdout + tampered.stderr
        assert "← 401 signature_mismatch" in tampered.stdout
        listen.wait_output("rejected  401 signature_mismatch")
    finally:
        assert listen.stop(signal.SIGTERM) == 0
    assert listen.lines[-1] == "Stopped."


def test_generated_secret_is_printed_and_used() -> None:
    listen, url = start_listen()
    try:
        secret = re.search(r"secret is (whsec_\S+)", listen.output).group(1)  # type: ignore[union-attr]
        body = event_body("evt_gen")
        assert post(url, body, signed(body, secret=secret))[0] == 200
        listen.wait_output("verified  test.ping  evt_gen  /webhooks")
        assert post(url, body, signed(body, secret=secret))[0] == 200  # a retry
        listen.wait_output("evt_gen  /webhooks  (seen before: a retry or replay)")
    finally:
        assert listen.stop(signal.SIGINT) == 0  # Ctrl-C stops cleanly too
    assert "Stopped." in listen.output and "Traceback" not in listen.output


@pytest.mark.parametrize("profile", hookseal.PROFILES)
def test_a_batch_is_shown_event_by_event(profile: str) -> None:
    listen, url = start_listen("--secret", SECRET, "--profile", profile)
    try:
        body = json.dumps([json.loads(event_body("evt_b1")), json.loads(event_body("evt_b2"))]).encode()
        headers = hookseal.sign(body, SECRET, profile=profile, msg_id="bat_01", event_type="batch")
        assert post(url, body, headers)[0] == 200
        out = listen.wait_output("2/2  test.ping  evt_b2")
        assert "verified  batch  bat_01  2 events  /webhooks" in out
        assert "1/2  test.ping  evt_b1" in out and out.index("evt_b1") < out.index("evt_b2")
        # A batch repeated (a retry) marks its events as seen before, one by one.
        assert post(url, body, headers)[0] == 200
        listen.wait_output("2/2  test.ping  evt_b2  (seen before: a retry or replay)")
        # An array holding something other than events is refused after verification.
        bad = b'[{"id":"evt_b3"},1]'
        status, answer = post(url, bad, hookseal.sign(bad, SECRET, profile=profile, msg_id="bat_02"))
        assert status == 400 and json.loads(answer)["code"] == "invalid_payload"
        listen.wait_output("element 1 of the verified batch is not a JSON object")
    finally:
        listen.stop()


@pytest.mark.parametrize(
    ("headers_for", "status", "code"),
    [
        (lambda body: {"Content-Type": "application/json"}, 400, "missing_header"),
        (lambda body: signed(body, secret="whsec_other"), 401, "signature_mismatch"),
    ],
)
def test_rejections_answer_a_problem(listener: tuple[Process, str], headers_for: object,
                                     status: int, code: str) -> None:
    proc, url = listener
    body = event_body()
    got_status, answer = post(url, body, headers_for(body))  # type: ignore[operator]
    assert got_status == status
    assert json.loads(answer)["code"] == code
    proc.wait_output(f"rejected  {status} {code}")


def test_forward_to_relays_verified_requests_byte_for_byte() -> None:
    with CaptureServer(status=202, body=b'{"handled":true}') as target:
        listen, url = start_listen("--secret", SECRET, "--forward-to", target.url)
        try:
            body = event_body("evt_fwd")
            headers = signed(body, msg_id="evt_fwd")
            status, answer = post(url, body, headers)
            assert (status, answer) == (202, b'{"handled":true}')  # the handler's answer
            listen.wait_output(f"forwarded to {target.url}: 202")
            # A rejected delivery is not forwarded.
            assert post(url, body, {"Content-Type": "application/json"})[0] == 400
        finally:
            listen.stop()
    assert len(target.requests) == 1
    path, fwd_headers, fwd_body = target.requests[0]
    assert path == "/hook" and fwd_body == body
    # The forwarded request still verifies: the handler can use the same secret.
    hookseal.Webhook(SECRET).verify(fwd_body, fwd_headers)
    assert fwd_headers["Hookseal-Webhook-Id"] == "evt_fwd"


def test_forward_to_an_unreachable_handler_answers_502() -> None:
    with CaptureServer() as target:
        dead_url = target.url  # closed when the block ends
    listen, url = start_listen("--secret", SECRET, "--forward-to", dead_url)
    try:
        body = event_body()
        status, answer = post(url, body, signed(body))
        assert status == 502 and json.loads(answer)["code"] == "forward_failed"
    finally:
        listen.stop()


def test_missing_rich_names_the_extra(monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    from hookseal import cli

    monkeypatch.setitem(sys.modules, "rich.console", None)  # as if not installed
    assert cli.main(["listen", "--secret", SECRET, "--port", "0"]) == 1
    assert "pip install 'hookseal[cli]'" in capsys.readouterr().err
