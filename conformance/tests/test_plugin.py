"""The pytest plugin is cheap to import and inert unless asked."""

from __future__ import annotations

import subprocess
import sys


def test_import_is_cheap() -> None:
    code = ("import sys, hookseal_conformance.plugin; "
            "print(sorted(m for m in ('hypothesis', 'hookseal', 'pytest_httpserver', "
            "'hookseal_catalog') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout.strip()
    assert out == "[]"


def test_inert_without_options(pytester_like_tmp: str) -> None:
    # A plain pytest run with the plugin installed collects nothing of the suite and
    # changes no Hypothesis settings.
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", pytester_like_tmp],
        check=False, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout


def test_options_are_registered() -> None:
    out = subprocess.run([sys.executable, "-m", "pytest", "--help"], check=False, capture_output=True,
                         text=True, timeout=120).stdout
    for option in ("--hookseal-verifier", "--hookseal-sender", "--hookseal-examples"):
        assert option in out


def test_profile_choices_are_the_sdks_profiles() -> None:
    # The plugin spells the profiles out (it must not import hookseal); they must agree.
    from hookseal.profiles import PROFILES
    from hookseal_conformance.plugin import PROFILE_CHOICES

    assert (*PROFILES, "all") == PROFILE_CHOICES
