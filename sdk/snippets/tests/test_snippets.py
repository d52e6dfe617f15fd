"""Every verification snippet, from ``make test``: native tests, examples, adapters.

Per language (sdk/snippets/<language>/): its own native test (which reads the shared
vectors), the framework examples' compile/lint checks (the Python ones are run), every
shared vector through its contract 5.1 adapter, and a seeded differential check against
the SDK's reference adapter on mutated and garbage requests. A missing runtime skips with
the reason (the root conftest fails skips in CI). The full conformance suite against every
``sdk/snippets/*/adapter`` is run by the conformance package's own tests; these run first
(see ``testpaths``), so the TypeScript and Go adapters are already built by then.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
SNIPPETS = ROOT / "sdk" / "snippets"
VECTORS = ROOT / "sdk" / "vectors" / "vectors.json"
LANGUAGES = ("python", "typescript", "go", "ruby", "php")
RUNTIMES = {"python": [], "typescript": ["node", "npm"], "go": ["go"], "ruby": ["ruby"], "php": ["php"]}
TIMEOUT = 300  # Go's and tsc's first builds are the slow part

pytestmark = pytest.mark.runtime


def _need_runtime(language: str) -> None:
    missing = [tool for tool in RUNTIMES[language] if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the {language} snippet needs {', '.join(missing)} on PATH (CI installs it)")


def _run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, **env},
        check=False,
    )
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


def _cases() -> list[dict[str, Any]]:
    assert VECTORS.is_file(), f"the shared vectors file is missing: {VECTORS}"
    data = json.loads(VECTORS.read_text(encoding="utf-8"))
    return [case for group in data["testGroups"] for case in group["tests"]]


def _adapter(language: str, requests: list[Any], cwd: Path) -> list[dict[str, Any]]:
    """Send raw request lines (objects are JSON-encoded) and read one answer per line."""
    lines = [r if isinstance(r, str) else json.dumps(r) for r in requests]
    result = subprocess.run(
        [str(SNIPPETS / language / "adapter")],
        cwd=cwd,
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "HOOKSEAL_PYTHON": sys.executable},  # the venv: it has cryptography
        check=False,
    )
    assert result.returncode == 0, f"{language} adapter exited {result.returncode}: {result.stderr[-4000:]}"
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == len(lines), f"{len(lines)} requests but {len(answers)} answers: {result.stderr[-2000:]}"
    return answers


def _reference(requests: list[Any]) -> list[dict[str, Any]]:
    from hookseal.verifier_adapter import serve  # the SDK's own adapter loop, in-process

    lines = [r if isinstance(r, str) else json.dumps(r) for r in requests]
    out = io.StringIO()
    serve(io.StringIO("".join(line + "\n" for line in lines)), out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


NATIVE = {
    "python": [[sys.executable, "-m", "unittest", "discover", "-s", ".", "-p", "test_*.py"]],
    "typescript": [["./build.sh"], ["node", "--test", "build/src/"]],
    "go": [["./build.sh"], ["go", "vet", "./..."], ["go", "test", "-count=1", "./..."]],
    "ruby": [["ruby", "test/test_hookseal_verify.rb"]],
    "php": [["php", "tests/run.php"]],
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_native_tests_pass(language: str) -> None:
    _need_runtime(language)
    for command in NATIVE[language]:
        _run(command, SNIPPETS / language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_framework_examples(language: str) -> None:
    _need_runtime(language)
    here = SNIPPETS / language
    examples = sorted((here / "examples").glob("*"))
    assert examples, f"no framework examples in {here / 'examples'}"
    if language == "python":
        _run([sys.executable, "-m", "unittest", "discover", "-s", "examples", "-t", "."], here)
    elif language == "typescript":
        _run(["./build.sh"], here)
        _run(["node_modules/.bin/tsc", "-p", "tsconfig.examples.json"], here)
    elif language == "go":
        pass  # go vet and go test ./... cover examples/ in test_native_tests_pass
    elif language == "ruby":
        for path in here.glob("examples/*.rb"):
            _run(["ruby", "-c", str(path)], here)
    else:
        for path in here.glob("examples/*.php"):
            _run(["php", "-l", str(path)], here)
        _check_plain_php_example(here)


def _check_plain_php_example(here: Path) -> None:
    """Serve examples/plain.php with ``php -S`` on loopback and post real deliveries."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    secret = "whsec_example"
    server = subprocess.Popen(
        ["php", "-S", f"127.0.0.1:{port}", str(here / "examples" / "plain.php")],
        cwd=here,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HOOKSEAL_SECRETS": f"whsec_old,{secret}"},
    )
    try:
        deadline = time.monotonic() + 15
        while True:  # wait until the server accepts connections
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "php -S did not start"
                time.sleep(0.05)
        body = b'{"id":"evt_1","type":"invoice.paid","url":"https://x/y"}'
        stamp = str(int(time.time()))
        digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        header = {"Hookseal-Signature": f"t={stamp},v1={digest}"}
        assert _post(port, body, header) == (200, "got invoice.paid")
        assert _post(port, body + b" ", header) == (400, "signature_mismatch")
        assert _post(port, body, {}) == (400, "missing_header")
    finally:
        server.terminate()
        server.wait(timeout=10)


def _post(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.mark.parametrize("language", LANGUAGES)
def test_adapter_passes_every_vector(language: str, tmp_path: Path) -> None:
    _need_runtime(language)
    cases = _cases()
    # From a foreign working directory: the adapter must find its own files.
    answers = _adapter(language, [case["request"] for case in cases], tmp_path)
    failures = [
        f"tcId {case['tcId']} ({case['comment']}): got {got}, want {case['expected']}"
        for case, got in zip(cases, answers)
        if got.get("ok") != case["expected"]["ok"]
        or (not got.get("ok") and got.get("error") != case["expected"].get("error"))
    ]
    assert failures == []
    assert any("ed25519" in case["flags"] and case["expected"]["ok"] for case in cases)


_JUNK: list[Any] = [None, True, 0, -1, 1.5, "", "x", [], {}, ["x"], {"a": "b"}, "\u0000", "é" * 3]


def _mutate(rng: random.Random, request: dict[str, Any]) -> Any:
    """One random, mostly malformed variant of a valid adapter request."""
    request = json.loads(json.dumps(request))
    headers: dict[str, Any] = request["headers"]
    choice = rng.randrange(9)
    if choice == 0:  # a field dropped or replaced by junk
        field = rng.choice([*request.keys(), "header_prefix"])
        if rng.random() < 0.3:
            request.pop(field, None)
        else:
            request[field] = rng.choice(_JUNK)
    elif choice == 1 and headers:  # a header value cut, extended or junked
        name = rng.choice(list(headers))
        value = headers[name]
        if isinstance(value, str):
            cut = rng.randrange(len(value) + 1)
            headers[name] = rng.choice(
                [value[:cut], value[:cut] + rng.choice([",", " ", "=", "v1=", "t=1", "\n", "Ä"]) + value[cut:]]
            )
        else:
            headers[name] = rng.choice(_JUNK)
    elif choice == 2 and headers:  # a name in other case, or twice in different case
        name = rng.choice(list(headers))
        other = name.swapcase() if name.swapcase() != name else name.upper() + "x"
        if rng.random() < 0.5:
            headers[other] = headers.pop(name)
        else:
            headers[other] = headers[name]
    elif choice == 3:  # secrets shuffled, cut or junked
        secrets = request["secrets"] if isinstance(request["secrets"], list) else []
        request["secrets"] = rng.choice(
            [secrets[::-1], secrets[:1], [s[:-2] for s in secrets if isinstance(s, str)], rng.choice(_JUNK)]
        )
    elif choice == 4:  # the body changed or not base64
        request["body_b64"] = rng.choice(["", "eyJ9", "not base64!", base64.b64encode(b"{}").decode()])
    elif choice == 5:  # the clock moved
        request["now"] = (
            rng.choice([0, 1, 10**17, 2**62, -5, 1.5])
            if rng.random() < 0.5
            else (
                (request.get("now") or 0) + rng.choice([-301, -300, 300, 301])
                if isinstance(request.get("now"), int)
                else 0
            )
        )
    elif choice == 6:  # the tolerance changed
        # Not 1.0: JavaScript cannot tell it from 1, and neither may a JSON reader.
        request["tolerance"] = rng.choice([0, 1, 10**12, -1, 2.5, "300", None])
    elif choice == 7:  # a whole garbage line
        return rng.choice(["", "{", "[]", "null", "1", '"x"', "{}", '{"profile":null}', "\u00ff"])
    else:  # the profile swapped
        request["profile"] = rng.choice(["hookseal-v1", "standard-webhooks", "HOOKSEAL-V1", None, 1])
    return request


@pytest.fixture(scope="module")
def mutated() -> tuple[list[Any], list[dict[str, Any]]]:
    rng = random.Random(20261123)
    cases = _cases()
    requests = [_mutate(rng, rng.choice(cases)["request"]) for _ in range(600)]
    requests = [r for r in requests if r != ""]  # a blank line gets no answer, by design
    return requests, _reference(requests)


@pytest.mark.parametrize("language", LANGUAGES)
def test_adapter_agrees_with_sdk_on_mutated_requests(
    language: str, tmp_path: Path, mutated: tuple[list[Any], list[dict[str, Any]]]
) -> None:
    _need_runtime(language)
    requests, expected = mutated
    answers = _adapter(language, requests, tmp_path)
    failures = [
        f"{json.dumps(request)[:300]}\n  got {got}, SDK says {want}"
        for request, got, want in zip(requests, answers, expected)
        if (got.get("ok"), got.get("error")) != (want.get("ok"), want.get("error"))
    ]
    assert failures == [], f"{len(failures)} disagreements:\n" + "\n".join(failures[:15])
