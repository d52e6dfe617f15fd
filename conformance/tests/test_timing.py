"""Constant-time checks: the probes, the source check and the statistics."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hookseal_conformance import timing


def test_welch_t_matches_a_hand_computed_value() -> None:
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 3.0, 4.0, 5.0, 6.0]
    # means 2.5 and 4.0, variances 5/3 and 2.5: t = -1.5 / sqrt(5/12 + 0.5)
    assert timing.welch_t(a, b) == pytest.approx(-1.5 / (5 / 12 + 0.5) ** 0.5)
    assert timing.welch_t([1.0], [2.0]) == 0.0


def test_dudect_flags_a_shift_and_not_noise() -> None:
    import random

    rng = random.Random(7)
    noise = [rng.gauss(100e-6, 20e-6) for _ in range(2000)]
    same = [rng.gauss(100e-6, 20e-6) for _ in range(2000)]
    shifted = [x + 5e-6 for x in same]
    assert not timing.dudect_verdict(noise, same).leak
    leak = timing.dudect_verdict(noise, shifted)
    assert leak.leak and "leak" in leak.describe()
    assert "not proof" in timing.dudect_verdict(noise, same).describe()


def test_runtime_of_commands(tmp_path: Path) -> None:
    script = tmp_path / "adapter"
    script.write_text("#!/usr/bin/env ruby\nputs 1\n")
    assert timing.runtime_of("python3 a.py") == "python"
    assert timing.runtime_of("/usr/bin/python3.11 -m x") == "python"
    assert timing.runtime_of("node build/adapter.js") == "node"
    assert timing.runtime_of(str(script)) == "ruby"
    assert timing.runtime_of("go run ./cmd") == "go"
    assert timing.runtime_of("./some-binary") is None


def test_source_check_go_and_php(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.mkdir()
    (good / "verify.go").write_text("if hmac.Equal(expected, []byte(sig)) { return nil }\n")
    verdict = timing.source_check(timing.source_files(f"go run {good}"))
    assert verdict is not None and verdict.ok and verdict.language == "go"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "verify.php").write_text("<?php\nif ($sig === $expected) { return true; }\n")
    verdict = timing.source_check(timing.source_files(f"php {bad / 'verify.php'}"))
    assert verdict is not None and not verdict.ok
    assert "plain comparison" in verdict.evidence[0]
    none = tmp_path / "none"
    none.mkdir()
    (none / "verify.go").write_text("if bytes.Equal(mac, sig) { return nil }\n")
    verdict = timing.source_check(timing.source_files(str(none)))
    assert verdict is not None and not verdict.ok


def test_source_check_without_sources() -> None:
    assert timing.source_check([]) is None


def _probe(tmp_path: Path, argv: list[str]) -> timing.CompareLog:
    log = tmp_path / "ct.log"
    env = {**os.environ, **timing.preload_env(str(log))}
    subprocess.run(argv, env=env, check=True, timeout=60, capture_output=True)
    compare = timing.CompareLog(str(log))
    return compare


def test_python_probe_records_compare_digest(tmp_path: Path) -> None:
    log = _probe(tmp_path, [sys.executable, "-c",
                            "import hmac; hmac.compare_digest('a'*64, 'b'*64)"])
    calls = log.calls_since_mark()
    assert log.runtimes == {"python"}
    assert [(c.size_a, c.size_b) for c in calls] == [(64, 64)]


def test_node_probe_records_timing_safe_equal(tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    log = _probe(tmp_path, ["node", "-e", "const {timingSafeEqual} = require('crypto');"
                            "timingSafeEqual(Buffer.alloc(32), Buffer.alloc(32));"])
    assert [(c.size_a, c.size_b) for c in log.calls_since_mark()] == [(32, 32)]
    assert log.runtimes == {"node"}


def test_ruby_probe_records_secure_compare(tmp_path: Path) -> None:
    if shutil.which("ruby") is None:
        pytest.skip("ruby is not installed")
    log = _probe(tmp_path, ["ruby", "-e", "require 'openssl'; "
                            "OpenSSL.fixed_length_secure_compare('a'*64, 'b'*64)"])
    assert (64, 64) in [(c.size_a, c.size_b) for c in log.calls_since_mark()]
    assert log.runtimes == {"ruby"}
