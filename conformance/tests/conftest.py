"""Fixtures for the conformance tests: the corpus runs, started together on first use."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from corpus_expectations import (
    CT_VERIFIERS,
    FEATURE_SENDER_BUGS,
    SENDER_BUGS,
    VERIFIER_BUGS,
    snippet_adapters,
)
from corpus_runner import (
    CORPUS,
    PY,
    SENDER_ARGS,
    VERIFIER_ARGS,
    Runs,
    init_catalogs,
    toy_sender,
    toy_verifier,
)


@pytest.fixture(scope="session")
def corpus_runs() -> Iterator[Runs]:
    runs = Runs()
    # Jobs are queued in the order the tests ask for them (test files run alphabetically),
    # so each test waits only for its own run, never for the whole queue.
    # The two full runs are the corpus's longest: each is two runs at once, the batch
    # defaults' property (it waits 30 s for a batch to fill) and every other property.
    whole = ("not test_batches_defaults", "test_batches_defaults")
    # It declares idempotent sends: required, so that they cannot silently become a skip.
    runs.add("sender:reference", ["sender", "--adapter", f"{PY} -m hookseal_sender.adapter",
                                  "--require-ed25519", "--require", "idempotency",
                                  *SENDER_ARGS], shards=whole)
    # The toy declares every feature the suite checks, and must pass them all.
    runs.add("sender:none", ["sender", "--adapter", toy_sender("none"), "--require", "all",
                             *SENDER_ARGS], shards=whole)
    # A provider's own catalog (hookseal-catalog init): the toy sends it and the suite,
    # given --catalog, sends its events and checks bodies against its schemas; with another
    # catalog's envelope (ids of another form), the same toy's bodies fail.
    catalogs = tempfile.mkdtemp(prefix="hookseal-conformance-catalogs-")
    own, other = init_catalogs(Path(catalogs))
    runs.add("sender:catalog", [
        "sender", "--adapter", toy_sender("none", own), "--catalog", str(own), "--require", "all",
        "-k", "not test_sender_features or test_idempotent_send", *SENDER_ARGS])
    runs.add("sender:catalog-other-envelope", [
        "sender", "--adapter", toy_sender("none", own), "--catalog", str(other),
        "-k", "test_delivers_signed_catalog_events", *SENDER_ARGS])
    # A sender that declares no optional feature: asked for two, it fails their properties.
    runs.add("sender:undeclared-require", [
        "sender", "--adapter", toy_sender("declares_no_features"), "--require", "filters",
        "--require", "batches", "-k", "test_filters_invalid or test_batches_limits",
        *SENDER_ARGS])
    # A core bug's run checks every property but the batch defaults': that one waits 30 s
    # for a batch to fill (a third of a run) and only ever sees the toy's batcher, which
    # the runs of sender:none and the batch_default_* bugs check.
    for bug in sorted(SENDER_BUGS):
        runs.add(f"sender:{bug}", ["sender", "--adapter", toy_sender(bug),
                                   "-k", "not test_batches_defaults", *SENDER_ARGS])
    for bug, props in sorted(FEATURE_SENDER_BUGS.items()):
        runs.add(f"sender:{bug}", ["sender", "--adapter", toy_sender(bug), "-k",
                                   " or ".join(sorted(props)), *SENDER_ARGS])
    runs.add("verifier:sdk", ["verifier", "--adapter", f"{PY} -m hookseal.adapter",
                              "--require-ed25519", *VERIFIER_ARGS])
    runs.add("verifier:none", ["verifier", "--adapter", toy_verifier("none"), *VERIFIER_ARGS])
    runs.add("verifier:v1a", ["verifier", "--adapter", toy_verifier("v1a"), "--require-ed25519",
                              *VERIFIER_ARGS])
    for bug, (profile, _) in sorted(VERIFIER_BUGS.items()):
        # One profile per bug keeps the corpus fast; each bug shows in the one named.
        runs.add(f"verifier:{bug}", ["verifier", "--adapter", toy_verifier(bug),
                                     "--profile", profile, *VERIFIER_ARGS])
    for name, path in snippet_adapters():
        runs.add(f"verifier:snippet:{name}", ["verifier", "--adapter", str(path),
                                              *VERIFIER_ARGS])
    ct_args = ["--profile", "hookseal-v1", "--examples", "5", "--shrink-seconds", "0", "-k",
               "constant_time or accepts_valid_deliveries or rejects_changed_signature"]
    for runtime, script in CT_VERIFIERS:
        for mode in ("safe", "eq"):
            runs.add(f"ct:{runtime}:{mode}", ["verifier", "--adapter",
                                              f"{runtime} {CORPUS / script} {mode}", *ct_args])
    # PHP: the source check reads the file, so the == variant is a copy.
    php_dir = tempfile.mkdtemp(prefix="hookseal-ct-php-")
    eq_file = Path(php_dir) / "ct_verifier_eq.php"
    source = (CORPUS / "ct_verifier.php").read_text()
    eq_file.write_text(source.replace("hash_equals($expected, $sig)", "$sig === $expected"))
    runs.add("ct:php:safe", ["verifier", "--adapter", f"php {CORPUS / 'ct_verifier.php'}",
                             *ct_args])
    runs.add("ct:php:eq", ["verifier", "--adapter", f"php {eq_file}", *ct_args])
    yield runs
    runs.shutdown()
    shutil.rmtree(php_dir, ignore_errors=True)
    shutil.rmtree(catalogs, ignore_errors=True)


@pytest.fixture
def pytester_like_tmp(tmp_path: object) -> str:
    """A directory holding one trivial test that checks Hypothesis' default profile."""
    import pathlib

    d = pathlib.Path(str(tmp_path))
    (d / "test_one.py").write_text(
        "from hypothesis import settings\n"
        "def test_default_profile():\n"
        "    assert settings._current_profile != 'hookseal-conformance'\n"
    )
    return str(d)
