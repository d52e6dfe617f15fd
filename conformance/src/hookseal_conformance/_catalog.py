"""The event catalog (``hookseal_catalog``), loaded once, and its payload strategies.

The sample catalog by default; the provider's own with ``--catalog DIR``
(:func:`use_catalog`): the sender properties then send its event types and examples and
check received bodies against its schemas.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

if TYPE_CHECKING:
    from hookseal_catalog import Catalog
    from hypothesis import strategies as st


class _Chosen:
    """The catalog directory given with ``--catalog``, or ``None`` for the sample catalog."""

    directory: Optional[Path] = None


def use_catalog(directory: Union[str, Path, None]) -> Catalog:
    """Make the suite use the catalog in ``directory`` (``None``: the sample catalog).

    Args:
        directory: A catalog directory (``hookseal-catalog init`` makes one).

    Returns:
        The catalog, loaded.

    Raises:
        hookseal_catalog.CatalogLoadError: ``directory`` does not hold a catalog that loads
            (the message names the file and the problem).
    """
    from hookseal_catalog import load_catalog

    loaded = load_catalog(directory)  # fails here, before anything is switched
    _Chosen.directory = None if directory is None else Path(directory)
    for cached in (catalog, envelopes, data):
        cached.cache_clear()
    return loaded


def is_sample() -> bool:
    """Whether the suite uses the sample catalog (no ``--catalog``)."""
    return _Chosen.directory is None


@functools.lru_cache(maxsize=1)
def catalog() -> Catalog:
    """The catalog the suite uses: the one given with ``--catalog``, else the sample."""
    from hookseal_catalog import load_catalog

    return load_catalog(_Chosen.directory)


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
