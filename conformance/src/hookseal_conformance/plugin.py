"""The pytest plugin (entry point ``pytest11``): options and fixtures for the suite.

It is inert until asked: it only adds ``--hookseal-*`` options, and its fixtures import
anything heavy lazily. The suite's test modules live in :mod:`hookseal_conformance.suite`;
run them with the ``hookseal-conformance`` command or, for example,
``pytest --pyargs hookseal_conformance.suite --hookseal-verifier "python3 adapter.py"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .sender import SenderHarness
    from .support import Support
    from .verifier import VerifierAdapter

# hookseal.profiles.PROFILES plus "all", spelled out because this plugin loads in every pytest
# run and must not import hookseal (tests/test_plugin.py checks the two agree).
PROFILE_CHOICES = ("hookseal-v1", "standard-webhooks", "all")
DEFAULT_EXAMPLES = 60
DEFAULT_STARTUP_TIMEOUT = 120.0
HYPOTHESIS_PROFILE = "hookseal-conformance"
#: Exit status of a run stopped because the adapter exited or never answered its first
#: request: nothing was checked (the CLI turns it into its own exit status 2).
EXIT_ADAPTER_UNUSABLE = 12


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``--hookseal-*`` options."""
    group = parser.getgroup("hookseal", "Hookseal conformance suite")
    group.addoption("--hookseal-verifier", metavar="CMD", help="verifier adapter command")
    group.addoption("--hookseal-sender", metavar="CMD", help="sender adapter command")
    group.addoption(
        "--hookseal-profile",
        choices=PROFILE_CHOICES,
        default="all",
        help="verifier profile(s) to test (default: all the adapter supports)",
    )
    group.addoption(
        "--hookseal-examples",
        type=int,
        default=DEFAULT_EXAMPLES,
        metavar="N",
        help=f"Hypothesis examples per property (default {DEFAULT_EXAMPLES})",
    )
    group.addoption(
        "--hookseal-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="per-case time bound for an adapter answer (default 5)",
    )
    group.addoption(
        "--hookseal-startup-timeout",
        type=float,
        default=DEFAULT_STARTUP_TIMEOUT,
        metavar="SECONDS",
        help="extra time the adapter's first answer may take (default "
        f"{DEFAULT_STARTUP_TIMEOUT:g}, for adapters that compile on first use)",
    )
    group.addoption(
        "--hookseal-require-ed25519",
        action="store_true",
        help="fail (instead of skip) when the implementation does not support v1a/Ed25519",
    )
    group.addoption(
        "--hookseal-require",
        action="append",
        default=[],
        metavar="FEATURE",
        help="sender only: fail (instead of skip) when hello does not declare FEATURE "
        "(repeatable; 'all' for every feature the suite checks)",
    )
    group.addoption(
        "--hookseal-shrink-seconds",
        type=int,
        default=30,
        metavar="N",
        help="most seconds spent shrinking one failing property (default 30; 0: no shrinking)",
    )
    group.addoption("--hookseal-vectors", metavar="PATH", help="shared vectors file to use")
    group.addoption(
        "--hookseal-catalog",
        metavar="DIR",
        help="sender only: the provider's catalog directory; events are sent from it and "
        "received bodies checked against its schemas (default: the sample catalog)",
    )
    group.addoption(
        "--hookseal-timing-stats",
        type=int,
        default=0,
        metavar="N",
        help="run the dudect-style timing test with N samples per class (default off)",
    )
    group.addoption(
        "--hookseal-no-observe",
        action="store_true",
        help="do not inject the constant-time comparison probes into the adapter",
    )
    group.addoption(
        "--hookseal-source",
        action="append",
        default=[],
        metavar="PATH",
        help="verifier source file or directory for the constant-time source check",
    )


def active(config: pytest.Config) -> bool:
    """Whether this session was asked to test an adapter."""
    return bool(config.getoption("--hookseal-verifier") or config.getoption("--hookseal-sender"))


def pytest_configure(config: pytest.Config) -> None:
    """Load the Hypothesis settings profile, only when the suite is asked to run."""
    if not active(config):
        return
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.internal.conjecture import engine

    shrink_seconds = int(config.getoption("--hookseal-shrink-seconds"))
    settings.register_profile(
        HYPOTHESIS_PROFILE,
        max_examples=max(1, int(config.getoption("--hookseal-examples"))),
        deadline=None,
        database=None,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
        # No "explain" phase: each of its runs is an adapter round trip and adds little.
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
        + ([Phase.shrink] if shrink_seconds > 0 else []),
    )
    settings.load_profile(HYPOTHESIS_PROFILE)
    directory = config.getoption("--hookseal-catalog")
    if directory:
        from hookseal_catalog import CatalogError

        from ._catalog import use_catalog

        try:
            use_catalog(str(directory))
        except CatalogError as exc:
            raise pytest.UsageError(f"--hookseal-catalog {directory}: {exc}") from None
    # Every shrink step is an adapter round trip: bound the shrinking time per property.
    # (Hypothesis has no public setting for it; 300 s by default.)
    engine.MAX_SHRINKING_SECONDS = max(1, shrink_seconds)


def selected_profiles(config: pytest.Config) -> list[str]:
    """Return the verifier profiles asked for."""
    chosen = str(config.getoption("--hookseal-profile"))
    return [p for p in PROFILE_CHOICES if p != "all"] if chosen == "all" else [chosen]


def stop_unless_it_answers(side: str, command: str, ask: Callable[[], object]) -> None:
    """Ask the adapter its first question; stop the whole run if it exits or never answers.

    An adapter that cannot start (a typo in its command, a missing module) would otherwise
    crash once per property and be restarted each time, burying the cause under thousands
    of lines. Any other first answer, right or wrong, is left to the properties to judge.
    """
    from .errors import AdapterCrashedError, AdapterTimeoutError

    try:
        ask()
    except (AdapterCrashedError, AdapterTimeoutError) as exc:
        pytest.exit(
            f"hookseal-conformance: the {side} adapter did not answer its first request, so "
            f"nothing was checked.\n  command: {command}\n  {exc.code}: {exc}",
            returncode=EXIT_ADAPTER_UNUSABLE,
        )


@pytest.fixture(scope="session")
def hookseal_verifier(request: pytest.FixtureRequest) -> Iterator[VerifierAdapter]:
    """The verifier adapter under test, started once for the session."""
    command = request.config.getoption("--hookseal-verifier")
    if not command:
        pytest.skip("no verifier adapter given (--hookseal-verifier CMD)")
    from .verifier import VerifierAdapter

    adapter = VerifierAdapter(
        str(command),
        timeout=float(request.config.getoption("--hookseal-timeout")),
        observe=not request.config.getoption("--hookseal-no-observe"),
        startup_timeout=float(request.config.getoption("--hookseal-startup-timeout")),
    )
    try:
        from .support import probe_request

        first = probe_request(selected_profiles(request.config)[0])
        stop_unless_it_answers("verifier", str(command), lambda: adapter.ask(first))
        yield adapter
    finally:
        adapter.close()


@pytest.fixture(scope="session")
def hookseal_support(
    request: pytest.FixtureRequest, hookseal_verifier: VerifierAdapter
) -> Support:
    """What the verifier implements: its answers to a valid HMAC and ``v1a`` delivery."""
    from .support import probe

    return probe(hookseal_verifier, selected_profiles(request.config))


@pytest.fixture(scope="session")
def hookseal_sender(request: pytest.FixtureRequest) -> Iterator[SenderHarness]:
    """The sender adapter under test with a loopback receiver, started once."""
    command = request.config.getoption("--hookseal-sender")
    if not command:
        pytest.skip("no sender adapter given (--hookseal-sender CMD)")
    from .sender import SenderHarness

    harness = SenderHarness(
        str(command), timeout=max(10.0, float(request.config.getoption("--hookseal-timeout"))),
        startup_timeout=float(request.config.getoption("--hookseal-startup-timeout")),
    )
    try:
        stop_unless_it_answers("sender", str(command),
                               lambda: harness.adapter.request({"op": "hello"}))
        yield harness
    finally:
        harness.close()
