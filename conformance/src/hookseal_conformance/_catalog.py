"""The event catalog (``hookseal_catalog``), loaded once, and its payload strategies."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hookseal_catalog import Catalog
    from hypothesis import strategies as st


@functools.lru_cache(maxsize=1)
def catalog() -> Catalog:
    """The installed catalog."""
    from hookseal_catalog import load_catalog

    return load_catalog()


def event_types() -> list[str]:
    """Every event type of the catalog, sorted."""
    return sorted(catalog().events)


@functools.lru_cache(maxsize=1)
def envelopes() -> st.SearchStrategy[dict[str, Any]]:
    """Valid envelopes of any event (built once: making the strategy is the slow part)."""
    from hookseal_catalog.strategies import envelopes as catalog_envelopes

    return catalog_envelopes(catalog())


@functools.cache
def data(event_type: str) -> st.SearchStrategy[dict[str, Any]]:
    """Valid ``data`` payloads of ``event_type``'s current version."""
    from hookseal_catalog.strategies import data as catalog_data

    return catalog_data(catalog(), event_type)


def envelope_problems(envelope: Any) -> str:
    """Return why ``envelope`` is not a valid catalog event body ("" when it is)."""
    try:
        catalog().validate_envelope(envelope)
    except Exception as exc:
        return str(exc)
    return ""
