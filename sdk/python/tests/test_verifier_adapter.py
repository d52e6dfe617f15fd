"""hookseal.verifier_adapter: the contract 5.1 verifier adapter, as a process and as a function."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from hookseal.verifier_adapter import answer
from sdk_vectors import load_vector_cases

CASES = load_vector_cases()


def test_adapter_process_answers_every_vector_in_order() -> None:
    lines = "".join(json.dumps(c["request"]) + "\n" for c in CASES)
    proc = subprocess.run(
        [sys.executable, "-m", "hookseal.verifier_adapter"], input=lines, capture_output=True, text=True, timeout=60,
        check=True,
    )
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(answers) == len(CASES)
    for case, got in zip(CASES, answers):
        assert got["ok"] == case["expected"]["ok"], case["comment"]
        assert got.get("error") == case["expected"].get("error"), case["comment"]


@pytest.mark.parametrize(
    "request_obj",
    [
        "not an object",
        [1, 2],
        {"profile": "acme-v9"},
        {"body_b64": "***"},
        {"now": "yesterday", "secrets": ["x"]},
        {"secrets": ["x"], "headers": {"Hookseal-Signature": 7}},
        {"secrets": ["x"], "headers": "t=1"},
        {"secrets": ["x"], "tolerance": -1},
        {"secrets": [None]},
    ],
)
def test_adapter_answers_garbage_without_crashing(request_obj: Any) -> None:
    reply = answer(request_obj)
    assert reply["ok"] is False
    assert reply["error"] in {
        "invalid_request",
        "unsupported_profile",
        "invalid_configuration",
        "malformed_header",
        "missing_header",
    }


def test_adapter_skips_blank_lines_and_answers_bad_json() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hookseal.verifier_adapter"],
        input="\n{not json\n" + json.dumps(CASES[0]["request"]) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert answers[0] == {"ok": False, "error": "invalid_request", "detail": "the line is not JSON"}
    assert answers[1]["ok"] == CASES[0]["expected"]["ok"]


def test_the_old_module_name_still_runs_the_adapter_and_warns_on_import() -> None:
    # `python -m hookseal.adapter` is the documented command of earlier releases.
    line = json.dumps(CASES[0]["request"]) + "\n"
    old = subprocess.run([sys.executable, "-m", "hookseal.adapter"], input=line, capture_output=True,
                         text=True, timeout=60, check=True)
    assert json.loads(old.stdout) == answer(CASES[0]["request"])
    assert old.stderr == ""  # the command itself stays supported: no warning on the wire's side
    import hookseal.adapter
    from hookseal import verifier_adapter

    for name in ("answer", "serve", "main"):
        with pytest.warns(DeprecationWarning, match=f"hookseal.verifier_adapter.{name}"):
            assert getattr(hookseal.adapter, name) is getattr(verifier_adapter, name)
    with pytest.raises(AttributeError):
        _ = hookseal.adapter.nothing_here
