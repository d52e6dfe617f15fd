"""hookseal.timestamps: syntax and the two-sided window."""

from __future__ import annotations

import pytest
from hookseal import MalformedHeaderError, TimestampInFutureError, TimestampTooOldError
from hookseal.timestamps import check_window, parse_timestamp


@pytest.mark.parametrize("text,value", [("0", 0), ("1763800000", 1763800000), ("0001", 1), ("9" * 18, 10**18 - 1)])
def test_parses_ascii_digits(text: str, value: int) -> None:
    assert parse_timestamp(text, "t") == value


@pytest.mark.parametrize("text", ["", "-1", "+1", " 1", "1 ", "1_0", "1.0", "1e9", "9" * 19, "١٢٣", "²", "0x1"])
def test_rejects_anything_else(text: str) -> None:
    with pytest.raises(MalformedHeaderError):
        parse_timestamp(text, "t")


def test_window_boundaries_both_ways() -> None:
    check_window(1000, 1300, 300)
    check_window(1300, 1000, 300)
    with pytest.raises(TimestampTooOldError):
        check_window(999, 1300, 300)
    with pytest.raises(TimestampInFutureError):
        check_window(1301, 1000, 300)


def test_zero_tolerance_means_exactly_now() -> None:
    check_window(5, 5, 0)
    with pytest.raises(TimestampTooOldError):
        check_window(4, 5, 0)
    with pytest.raises(TimestampInFutureError):
        check_window(6, 5, 0)
