"""Request bodies: catalog events (via hypothesis-jsonschema) and arbitrary bytes."""

from __future__ import annotations

import functools
import json
from typing import Any

from hypothesis import strategies as st

from . import _catalog


@st.composite
def event_envelopes(draw: st.DrawFn) -> bytes:
    """Draw a catalog event envelope serialized the many ways JSON can be written."""
    return draw(_serialized(draw(_catalog.envelopes())))


@functools.lru_cache(maxsize=1)
def _example_envelopes() -> tuple[dict[str, Any], ...]:
    catalog = _catalog.catalog()
    return tuple(catalog.example_envelope(t) for t in _catalog.event_types())


@st.composite
def example_envelopes(draw: st.DrawFn) -> bytes:
    """Draw one of the catalog's own example events, serialized any way (cheap to draw)."""
    return draw(_serialized(draw(st.sampled_from(_example_envelopes()))))


@st.composite
def _serialized(draw: st.DrawFn, envelope: dict[str, Any]) -> bytes:
    indent = draw(st.sampled_from([None, 0, 2, "\t"]))
    text = json.dumps(
        envelope,
        ensure_ascii=draw(st.booleans()),
        indent=indent,
        separators=draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,", " : ")]))
        if indent is None
        else None,
        sort_keys=draw(st.booleans()),
    )
    return (text + draw(st.sampled_from(["", "\n", "\r\n", "  "]))).encode("utf-8")


def _other_bodies() -> list[st.SearchStrategy[bytes]]:
    # Bodies that are not events: unicode text, arbitrary bytes, empty.
    return [
        st.text(st.characters(exclude_categories=["Cs"]), max_size=300).map(lambda s: s.encode("utf-8")),
        st.binary(max_size=2048),
        st.just(b""),
    ]


def bodies() -> st.SearchStrategy[bytes]:
    """Every kind of body a verifier must take verbatim: events, unicode, bytes, empty."""
    return st.one_of(event_envelopes(), *_other_bodies())


def quick_bodies() -> st.SearchStrategy[bytes]:
    """Like :func:`bodies`, with the catalog's example events instead of generated ones.

    Generating events from the schemas is most of a property's cost; properties about
    headers, keys and timestamps, where the body only has to be some body, use these.
    """
    return st.one_of(example_envelopes(), *_other_bodies())


def json_bodies() -> st.SearchStrategy[bytes]:
    """Catalog event bodies only (JSON whose re-serialization changes its bytes)."""
    return event_envelopes()
