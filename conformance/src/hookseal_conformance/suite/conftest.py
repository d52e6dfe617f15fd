"""Fixtures shared by the suite's verifier tests."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from hookseal_conformance.plugin import selected_profiles
from hookseal_conformance.report import ConformanceFailure
from hookseal_conformance.support import SUITE_CANNOT_SIGN, Support
from hookseal_conformance.verifier import VerifierAdapter


def _reports(exc: BaseException) -> list[str]:
    """The bug reports in ``exc`` (several when Hypothesis found distinct failures)."""
    if isinstance(exc, ConformanceFailure):
        notes = [n for n in getattr(exc, "__notes__", []) if not n.startswith("Explanation")]
        return [str(exc).strip() + ("\n" + "\n".join(notes) if notes else "")]
    return [r for sub in getattr(exc, "exceptions", []) for r in _reports(sub)]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
    """Show a conformance failure as its bug report, without a Python traceback."""
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None and report.failed:
        reports = _reports(call.excinfo.value)
        if reports:
            report.longrepr = "\n\n".join(reports) + "\n"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that takes ``profile`` once per profile asked for."""
    if "profile" in metafunc.fixturenames:
        metafunc.parametrize("profile", selected_profiles(metafunc.config))


@pytest.fixture
def verifier(
    request: pytest.FixtureRequest,
    hookseal_verifier: VerifierAdapter,
    hookseal_support: Support,
    profile: str,
) -> VerifierAdapter:
    """The verifier adapter, for a profile it implements."""
    if not hookseal_support.profile_supported(profile):
        if request.config.getoption("--hookseal-profile") == "all":
            if not any(hookseal_support.profile_supported(p) for p in hookseal_support.hmac):
                pytest.fail("the adapter answers unsupported_profile for every profile")
            pytest.skip(f"the adapter answers unsupported_profile for {profile}")
        pytest.fail(f"--hookseal-profile {profile} was asked, but the adapter answers "
                    "unsupported_profile for it")
    return hookseal_verifier


@pytest.fixture
def ed25519_verifier(
    request: pytest.FixtureRequest,
    verifier: VerifierAdapter,
    hookseal_support: Support,
    profile: str,
) -> VerifierAdapter:
    """The verifier adapter, unless it declared it has no ``v1a`` (Ed25519) in ``profile``.

    The declaration (contract 5.1) is ``invalid_configuration`` for a receiver holding a
    ``whpk_`` key; any other answer to the probe is judged by the ``v1a`` properties.
    """
    answer = hookseal_support.ed25519.get(profile, "")
    if answer.startswith(SUITE_CANNOT_SIGN):
        pytest.fail(f"{answer}: the suite itself cannot check v1a; install hookseal[ed25519]")
    if not hookseal_support.ed25519_supported(profile):
        message = (
            f"v1a (Ed25519) is not supported in {profile}: the adapter declared so by "
            f"answering {answer!r} to a receiver holding a whpk_ key (contract 5.1)"
        )
        if request.config.getoption("--hookseal-require-ed25519"):
            pytest.fail(message + " (and --require-ed25519 was given)")
        pytest.skip(message + "; pass --require-ed25519 to make this a failure")
    return verifier
