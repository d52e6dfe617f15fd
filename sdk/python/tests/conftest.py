"""Fixtures shared by the SDK's tests."""

from __future__ import annotations

from typing import Any

import pytest
from sdk_vectors import load_vectors


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    """The whole shared vectors document."""
    return load_vectors()
