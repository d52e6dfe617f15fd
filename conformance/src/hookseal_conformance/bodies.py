"""Request bodies: catalog events (via hypothesis-jsonschema) and arbitrary bytes."""

from __future__ import annotations

import json

from hypothesis import strategies as st

from . import _catalog


@st.composite
def event_envelopes(draw: st.DrawFn) -> bytes:
    """Draw a catalog event envelope serialized the many ways JSON can be written."""
    envelope = draw(_catalog.envelopes())
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


def bodies() -> st.SearchStrategy[bytes]:
    """Every kind of body a verifier must take verbatim: events, unicode, bytes, empty."""
    return st.one_of(
        event_envelopes(),
        st.text(st.characters(exclude_categories=["Cs"]), max_size=300).map(
            lambda s: s.encode("utf-8")
        ),
        st.binary(max_size=2048),
        st.just(b""),
    )


def json_bodies() -> st.SearchStrategy[bytes]:
    """Catalog event bodies only (JSON whose re-serialization changes its bytes)."""
    return event_envelopes()
