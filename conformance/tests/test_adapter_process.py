"""The adapter runner detects crashes, hangs, garbage and unrequested answers."""

from __future__ import annotations

import sys

import pytest
from hookseal_conformance.adapter_process import Adapter
from hookseal_conformance.errors import (
    AdapterCrashedError,
    AdapterGarbageError,
    AdapterOutOfOrderError,
    AdapterTimeoutError,
)


def _script(tmp_path: object, body: str) -> str:
    import pathlib

    path = pathlib.Path(str(tmp_path)) / "adapter.py"
    path.write_text("import json, sys, time\n" + body)
    return f"{sys.executable} {path}"


ECHO = "for line in sys.stdin:\n    print(json.dumps({'ok': True, 'n': json.loads(line)['n']}), flush=True)\n"


def test_answers_in_order_and_pipelined(tmp_path: object) -> None:
    adapter = Adapter(_script(tmp_path, ECHO), timeout=5)
    try:
        assert adapter.request({"n": 1}) == {"ok": True, "n": 1}
        assert [a["n"] for a in adapter.request_many([{"n": i} for i in range(50)])] == list(
            range(50))
        assert adapter.starts == 1
    finally:
        adapter.close()


def test_crash_is_reported_with_stderr_and_restarts(tmp_path: object) -> None:
    body = "line = sys.stdin.readline()\nsys.stderr.write('boom here\\n')\nsys.exit(3)\n"
    adapter = Adapter(_script(tmp_path, body), timeout=5)
    try:
        with pytest.raises(AdapterCrashedError, match=r"(?s)exit code 3.*boom here"):
            adapter.request({"n": 1})
        with pytest.raises(AdapterCrashedError):
            adapter.request({"n": 2})
        assert adapter.starts == 2
    finally:
        adapter.close()


def test_hang_is_a_timeout(tmp_path: object) -> None:
    adapter = Adapter(_script(tmp_path, "sys.stdin.readline()\ntime.sleep(60)\n"), timeout=0.5,
                      startup_timeout=0)
    try:
        with pytest.raises(AdapterTimeoutError):
            adapter.request({"n": 1})
        assert adapter.pid is None  # killed
    finally:
        adapter.close()


@pytest.mark.parametrize("answer", ["not json", "[1, 2]", ""])
def test_garbage_answers(tmp_path: object, answer: str) -> None:
    body = f"for line in sys.stdin:\n    print({answer!r}, flush=True)\n"
    adapter = Adapter(_script(tmp_path, body), timeout=5)
    try:
        with pytest.raises(AdapterGarbageError):
            adapter.request({"n": 1})
    finally:
        adapter.close()


def test_extra_answer_is_out_of_order(tmp_path: object) -> None:
    body = ("for line in sys.stdin:\n    print(json.dumps({'ok': True}), flush=True)\n"
            "    print(json.dumps({'ok': True}), flush=True)\n")
    adapter = Adapter(_script(tmp_path, body), timeout=5)
    try:
        adapter.request({"n": 1})
        # The second line of the first answer is waiting when the next request goes out.
        import time

        deadline = time.monotonic() + 5
        while adapter._lines.empty() and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(AdapterOutOfOrderError):
            adapter.request({"n": 2})
    finally:
        adapter.close()


def test_missing_program_is_a_crash() -> None:
    with pytest.raises(AdapterCrashedError, match="cannot start"):
        Adapter("/nonexistent/adapter --flag").request({"n": 1})


def test_first_answer_may_take_the_startup_time(tmp_path: object) -> None:
    """An adapter compiling on first use gets its startup time once, then the normal bound."""
    body = ("time.sleep(1.0)\n"
            "for line in sys.stdin:\n"
            "    n = json.loads(line)['n']\n"
            "    if n == 2: time.sleep(1.0)\n"
            "    print(json.dumps({'ok': True}), flush=True)\n")
    adapter = Adapter(_script(tmp_path, body), timeout=0.5, startup_timeout=10)
    try:
        assert adapter.request({"n": 1}) == {"ok": True}
        with pytest.raises(AdapterTimeoutError):
            adapter.request({"n": 2})
    finally:
        adapter.close()


def test_the_old_module_name_is_a_deprecated_alias() -> None:
    import hookseal_conformance
    import hookseal_conformance.adapter as old

    with pytest.warns(DeprecationWarning, match="use hookseal_conformance.Adapter"):
        assert old.Adapter is Adapter
    assert hookseal_conformance.Adapter is Adapter
    with pytest.raises(AttributeError):
        _ = old.VerifierAdapter
