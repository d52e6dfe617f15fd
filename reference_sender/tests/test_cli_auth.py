"""Tests of _cli_auth.py: ``endpoints add --auth-*`` and ``endpoints set-auth``, secrets
read from files or stdin and never printed."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from ._pki import make_pki
from .test_cli import cli  # noqa: F401  (the fixture)


def _endpoint(out: str) -> str:
    return re.search(r"ep_[0-9a-f]+", out).group(0)  # type: ignore[union-attr]


def test_auth_from_files_and_stdin_never_printed(cli, tmp_path: Path,  # type: ignore[no-untyped-def]  # noqa: F811
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = tmp_path / "auth.txt"
    secret_file.write_text("Bearer tok_cli_secret\n")
    code, out = cli("endpoints", "add", "http://127.0.0.1:9/h", "--allow-local",
                    "--auth-static-file", str(secret_file))
    assert code == 0 and "tok_cli_secret" not in out
    eid = _endpoint(out)
    monkeypatch.setattr("sys.stdin", io.StringIO("cs_from_stdin\n"))
    code, out = cli("endpoints", "set-auth", eid, "--oauth-token-url", "http://127.0.0.1:9/t",
                    "--oauth-client-id", "cid", "--oauth-client-secret-file", "-",
                    "--oauth-scope", "hooks")
    assert code == 0 and "cs_from_stdin" not in out and "oauth" in out
    pki = make_pki()
    cert, key = pki.issue("cli-client")
    (tmp_path / "c.pem").write_text(cert)
    (tmp_path / "k.pem").write_text(key)
    code, out = cli("endpoints", "set-auth", eid, "--mtls-cert", str(tmp_path / "c.pem"),
                    "--mtls-key", str(tmp_path / "k.pem"))
    assert code == 0 and "PRIVATE KEY" not in out and "mtls" in out
    code, out = cli("endpoints", "set-auth", eid, "--none")
    assert code == 0 and "removed" in out
    assert json.dumps(out).count("cli_secret") == 0


def test_bad_auth_options_are_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _, out = cli("endpoints", "add", "http://127.0.0.1:9/h", "--allow-local")
    eid = _endpoint(out)
    assert cli("endpoints", "set-auth", eid)[0] == 1  # nothing given
    f = tmp_path / "a"
    f.write_text("Bearer x")
    assert cli("endpoints", "set-auth", eid, "--auth-static-file", str(f),
               "--mtls-cert", str(f))[0] == 1  # two kinds
    assert cli("endpoints", "set-auth", eid, "--auth-static-file",
               str(tmp_path / "missing"))[0] == 1
    assert cli("endpoints", "set-auth", eid, "--oauth-token-url", "http://127.0.0.1:9/t")[0] == 1
