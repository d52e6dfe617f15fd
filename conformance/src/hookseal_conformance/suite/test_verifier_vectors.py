"""The shared vectors (``sdk/vectors/vectors.json``), sent verbatim; they run first."""

from __future__ import annotations

import pytest

from hookseal_conformance.errors import VectorsMissingError
from hookseal_conformance.plugin import selected_profiles
from hookseal_conformance.support import Support
from hookseal_conformance.vectors import VectorCase, load_vectors
from hookseal_conformance.verifier import VerifierAdapter


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per vector of the profiles asked for; a missing file is one failing test."""
    if "vector" not in metafunc.fixturenames:
        return
    try:
        cases: list[object] = [
            c
            for c in load_vectors(metafunc.config.getoption("--hookseal-vectors"))
            if c.profile in selected_profiles(metafunc.config)
        ]
        ids = [f"{c.profile}-tc{c.tc_id}" for c in cases]  # type: ignore[attr-defined]
    except VectorsMissingError as exc:
        cases, ids = [exc], ["vectors-file"]
    metafunc.parametrize("vector", cases, ids=ids)


def test_vector(
    request: pytest.FixtureRequest,
    vector: object,
    hookseal_verifier: VerifierAdapter,
    hookseal_support: Support,
) -> None:
    """The adapter gives each vector its expected answer (``ok`` and ``error`` compared)."""
    if isinstance(vector, VectorsMissingError):
        pytest.fail(f"{vector.code}: {vector}")
    assert isinstance(vector, VectorCase)
    if (not hookseal_support.profile_supported(vector.profile)
            and request.config.getoption("--hookseal-profile") == "all"):
        pytest.skip(f"the adapter answers unsupported_profile for {vector.profile}")
    if (vector.ed25519 and not hookseal_support.ed25519_supported(vector.profile)
            and not request.config.getoption("--hookseal-require-ed25519")):
        pytest.skip(
            f"v1a (Ed25519) is not supported in {vector.profile}: the adapter declared so by "
            f"answering {hookseal_support.ed25519.get(vector.profile)!r} to a receiver "
            "holding a whpk_ key (contract 5.1); "
            "pass --require-ed25519 to make this a failure"
        )
    want = "ok" if vector.expected.get("ok") is True else str(vector.expected.get("error"))
    from hookseal_conformance.cases import Case

    hookseal_verifier.check(
        Case(vector.request, frozenset([want]), f"vector tcId {vector.tc_id}: {vector.comment}"),
        f"[{vector.profile}] shared vector tcId {vector.tc_id} ({', '.join(vector.flags)})",
    )
