"""The ``hookseal`` command line: sign, verify (exit code per error), keys."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import hookseal
import pytest
from hookseal.cli import EXIT_CODES, main, parse_http_headers

SECRET = "whsec_" + "B" * 43 + "="
BODY = '{"id":"evt_1","type":"test.ping","data":{}}'


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_sign_prints_headers_that_verify(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["sign", "-s", SECRET, "-d", BODY, "--id", "m1", "--type", "test.ping"], capsys)
    assert status == 0
    headers = parse_http_headers(out)
    assert [n for n, _ in headers] == ["Hookseal-Signature", "Hookseal-Webhook-Id", "Hookseal-Event-Type"]
    hookseal.Webhook(SECRET).verify(BODY, headers)


def test_sign_json_for_standard_webhooks(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        [
            "sign",
            "-s",
            SECRET,
            "-d",
            BODY,
            "--profile",
            "standard-webhooks",
            "--id",
            "m1",
            "--format",
            "json",
            "--timestamp",
            "1700000000",
        ],
        capsys,
    )
    assert status == 0
    headers = json.loads(out)
    hookseal.Webhook(SECRET, profile="standard-webhooks").verify(BODY, headers, now=1700000000)


def test_sign_curl_command_is_shell_safe(capsys: pytest.CaptureFixture[str]) -> None:
    body = '{"note":"it\'s $HOME `x`"}'
    status, out, _ = run(
        ["sign", "-s", SECRET, "-d", body, "--format", "curl", "--url", "http://127.0.0.1:9/x"], capsys
    )
    argv = shlex.split(out)
    assert status == 0 and argv[:5] == ["curl", "-sS", "-X", "POST", "http://127.0.0.1:9/x"]
    assert argv[argv.index("--data-binary") + 1] == body


def test_sign_reads_body_from_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "body.bin"
    path.write_bytes(b"\x00\xffraw")
    status, out, _ = run(["sign", "-s", SECRET, "--body", str(path)], capsys)
    assert status == 0
    hookseal.Webhook(SECRET).verify(b"\x00\xffraw", parse_http_headers(out))


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, Path]:
    headers = hookseal.sign(BODY, SECRET, msg_id="m1")
    (tmp_path / "headers.txt").write_text("".join(f"{k}: {v}\n" for k, v in headers.items()))
    (tmp_path / "body.json").write_text(BODY)
    return tmp_path / "headers.txt", tmp_path / "body.json"


def test_verify_ok(saved: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["verify", "-s", SECRET, "--headers", str(saved[0]), "--body", str(saved[1])], capsys)
    assert status == 0 and out.startswith("verified: test.ping evt_1")


@pytest.mark.parametrize("secret,now,code", [
    ("whsec_other", None, "signature_mismatch"),
    (SECRET, 4_000_000_000, "timestamp_too_old"),
    (SECRET, 1, "timestamp_in_future"),
    ("", None, "invalid_configuration"),
])  # fmt: skip
def test_verify_exit_code_per_error(
    saved: tuple[Path, Path], capsys: pytest.CaptureFixture[str], secret: str, now: int | None, code: str
) -> None:
    argv = ["verify", "-s", secret, "--headers", str(saved[0]), "--body", str(saved[1])]
    if now is not None:
        argv += ["--now", str(now)]
    status, _, err = run(argv, capsys)
    assert status == EXIT_CODES[code]
    assert f"{code}:" in err


def test_verify_raw_saved_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    headers = hookseal.sign(BODY, SECRET)
    raw = "POST /webhooks HTTP/1.1\r\nHost: example\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    (tmp_path / "req.http").write_bytes(raw.encode() + b"\r\n" + BODY.encode())
    status, _, _ = run(["verify", "-s", SECRET, "--request", str(tmp_path / "req.http")], capsys)
    assert status == 0
    (tmp_path / "req.http").write_bytes(raw.encode() + b"\r\n" + BODY.encode() + b" ")
    status, _, _ = run(["verify", "-s", SECRET, "--request", str(tmp_path / "req.http")], capsys)
    assert status == EXIT_CODES["signature_mismatch"]


def test_verify_missing_and_malformed_headers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "b").write_text(BODY)
    (tmp_path / "h.json").write_text(json.dumps({"Content-Type": "application/json"}))
    assert (
        run(["verify", "-s", SECRET, "--headers", str(tmp_path / "h.json"), "--body", str(tmp_path / "b")], capsys)[0]
        == EXIT_CODES["missing_header"]
    )
    (tmp_path / "h.json").write_text(json.dumps({"Hookseal-Signature": "t=x"}))
    assert (
        run(["verify", "-s", SECRET, "--headers", str(tmp_path / "h.json"), "--body", str(tmp_path / "b")], capsys)[0]
        == EXIT_CODES["malformed_header"]
    )


def test_keys(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["keys", "generate", "--json"], capsys)
    pair = json.loads(out)
    assert status == 0 and hookseal.public_key_for(pair["signing_key"]) == pair["public_key"]
    status, out, _ = run(["keys", "public", pair["signing_key"]], capsys)
    assert out.strip() == pair["public_key"]
    status, out, _ = run(["keys", "secret"], capsys)
    assert out.startswith("whsec_")


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "hookseal"
    result = subprocess.run([str(script), "--version"], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("hookseal ")
