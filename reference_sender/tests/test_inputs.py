"""Untrusted JSON and times: a value or an InvalidRequestError, never anything else."""

from __future__ import annotations

import json
import math
import re

import pytest
from hookseal_sender import InvalidRequestError
from hookseal_sender._inputs import MAX_JSON_DEPTH, json_depth, loads_json, unix_time
from hypothesis import given
from hypothesis import strategies as st


def test_depth_is_measured_without_recursion() -> None:
    assert json_depth(1) == 0 and json_depth([]) == 1 and json_depth({"a": [{}]}) == 3
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    assert json_depth(deep) == 100_001


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5000, 1_000_000])
def test_too_deep_documents_are_refused(depth: int) -> None:
    with pytest.raises(InvalidRequestError, match="more than 64 levels"):
        loads_json("[" * depth + "]" * depth, "body")
    ok = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert json_depth(loads_json(ok, "body")) == MAX_JSON_DEPTH


@given(st.text() | st.binary())
def test_loads_json_gives_a_value_or_a_typed_error(text: str | bytes) -> None:
    try:
        loads_json(text, "--data")
    except InvalidRequestError as exc:
        assert "--data" in exc.detail


@given(st.text() | st.floats() | st.integers() | st.booleans() | st.none())
def test_unix_time_is_finite_and_in_range_or_a_typed_error(value: object) -> None:
    try:
        t = unix_time(value, "since")
    except InvalidRequestError as exc:
        assert exc.detail.startswith("since must be")
        return
    assert t is None or (math.isfinite(t) and 0 <= t <= 253402300799)


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "Infinity", "1e308", "-1",
                                  "abc", "true"])
def test_unix_time_refuses(text: str) -> None:
    with pytest.raises(InvalidRequestError, match="since"):
        unix_time(text, "since")


def test_unix_time_refuses_non_finite_json_numbers() -> None:
    for value in json.loads("[NaN, Infinity, -Infinity, 1e999]"):
        with pytest.raises(InvalidRequestError, match="until"):
            unix_time(value, "until")


def test_unix_time_accepts() -> None:
    assert unix_time("1765000000.5", "since") == 1765000000.5
    assert unix_time(" ", "since") is None and unix_time(None, "until") is None


def test_idempotency_keys_are_1_to_255_printable_characters() -> None:
    from hookseal_sender._inputs import MAX_IDEMPOTENCY_KEY, check_idempotency_key

    assert check_idempotency_key(None) is None
    assert check_idempotency_key("k" * MAX_IDEMPOTENCY_KEY) == "k" * 255
    assert check_idempotency_key("order 42/été") == "order 42/été"
    for bad, message in [("", "1 to 255 characters; it has 0"),
                         ("k" * 256, "1 to 255 characters; it has 256"),
                         ("ab\x00", "U+0000 at index 2"), ("a\u2028", "U+2028 at index 1"),
                         (b"key", "must be a string"), (7, "must be a string")]:
        with pytest.raises(InvalidRequestError, match=re.escape(message)):
            check_idempotency_key(bad)
