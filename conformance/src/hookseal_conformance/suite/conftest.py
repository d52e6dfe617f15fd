"""Fixtures shared by the suite's verifier tests."""

from __future__ import annotations

import pytest

from hookseal_conformance.plugin import selected_profiles
from hookseal_conformance.support import Support
from hookseal_conformance.verifier import VerifierAdapter


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
    """The verifier adapter, when it verifies ``v1a`` (Ed25519) signatures in ``profile``."""
    if not hookseal_support.ed25519_supported(profile):
        answer = hookseal_support.ed25519.get(profile)
        message = (
            f"v1a (Ed25519) is not supported in {profile}: a valid v1a-only delivery to a "
            f"receiver holding its whpk_ public key was answered {answer!r}"
        )
        if request.config.getoption("--hookseal-require-ed25519"):
            pytest.fail(message + " (and --require-ed25519 was given)")
        pytest.skip(message + "; pass --require-ed25519 to make this a failure")
    return verifier
