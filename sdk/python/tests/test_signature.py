"""hookseal.signature: the header grammars of both profiles."""

from __future__ import annotations

import pytest
from hookseal import MalformedHeaderError
from hookseal.signature import (
    MAX_ELEMENTS,
    MAX_HEADER_LENGTH,
    is_canonical_b64_64,
    parse_hookseal_header,
    parse_standard_header,
)


def test_hookseal_header_elements() -> None:
    parsed = parse_hookseal_header("t=12,v1=ab,v0=zz,v1=cd,v1a=ef,x,=y")
    assert parsed.timestamp == "12"
    assert parsed.v1 == ["ab", "cd"]
    assert parsed.v1a == ["ef"]


def test_first_equals_sign_splits_and_nothing_is_trimmed() -> None:
    parsed = parse_hookseal_header("t=1,v1=a=b, v1=c,v1 =d")
    assert parsed.v1 == ["a=b"]


def test_element_without_equals_has_empty_value() -> None:
    assert parse_hookseal_header("t=1,v1").v1 == [""]
    assert parse_hookseal_header("t,v1=x").timestamp == ""


def test_non_ascii_v1_values_become_empty() -> None:
    assert parse_hookseal_header("t=1,v1=é").v1 == [""]


@pytest.mark.parametrize("header", ["v1=ab", "t=1,t=1,v1=a", "t=1,T=2,t=3"])
def test_hookseal_header_t_rules(header: str) -> None:
    with pytest.raises(MalformedHeaderError):
        parse_hookseal_header(header)


def test_bounds() -> None:
    parse_hookseal_header("t=1," + ",".join(["v0=x"] * (MAX_ELEMENTS - 1)))
    with pytest.raises(MalformedHeaderError, match="elements"):
        parse_hookseal_header("t=1," + ",".join(["v0=x"] * MAX_ELEMENTS))
    with pytest.raises(MalformedHeaderError, match="longer"):
        parse_hookseal_header("t=1,v1=" + "a" * MAX_HEADER_LENGTH)
    with pytest.raises(MalformedHeaderError, match="elements"):
        parse_standard_header(" ".join(["v1,x"] * (MAX_ELEMENTS + 1)))


def test_standard_header_entries() -> None:
    parsed = parse_standard_header("v1,abc v1a,def v2,ghi v1,x,y")
    assert parsed.v1 == ["abc", "x,y"]
    assert parsed.v1a == ["def"]


@pytest.mark.parametrize("header", ["v1", "v1,a  v1,b", " v1,a", "v1,a "])
def test_standard_entry_without_comma_is_malformed(header: str) -> None:
    with pytest.raises(MalformedHeaderError):
        parse_standard_header(header)


def test_canonical_base64_of_64_bytes() -> None:
    import base64

    good = base64.b64encode(bytes(range(64))).decode()
    assert is_canonical_b64_64(good)
    assert not is_canonical_b64_64(good.rstrip("="))
    assert not is_canonical_b64_64(good[:85] + "B==")  # non-zero padding bits
    assert not is_canonical_b64_64(good.replace("+", "-").replace("/", "_"))
    assert not is_canonical_b64_64(base64.b64encode(bytes(63)).decode())


def test_length_bound_counts_utf8_bytes() -> None:
    # 3000 "é" are 3000 characters but 6000 bytes; 5000 are 10000 bytes: over the bound.
    parse_hookseal_header("t=1,x=" + "é" * 3000)
    with pytest.raises(MalformedHeaderError, match="bytes"):
        parse_hookseal_header("t=1,x=" + "é" * 5000)
