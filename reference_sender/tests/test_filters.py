"""Tests of filters.py: the filter language against a plain reference interpretation, its
checks at registration, and its use at enqueue (both backends)."""

from __future__ import annotations

from typing import Any

import pytest
from hookseal_sender import InvalidFilterError, InvalidRequestError, Sender
from hookseal_sender import filters as filters_mod
from hookseal_sender.filters import check_filter, compile_filter, json_equal, parse_pointer
from hypothesis import given, settings
from hypothesis import strategies as st

URL = "http://127.0.0.1:9/hook"

# -- a reference interpretation, written from ADAPTER.md's table, as plainly as possible --

ABSENT = object()


def ref_get(doc: Any, pointer: str) -> Any:
    if pointer == "":
        return doc
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(doc, dict) and token in doc:
            doc = doc[token]
        elif (isinstance(doc, list) and token.isdigit() and str(int(token)) == token
              and int(token) < len(doc)):
            doc = doc[int(token)]
        else:
            return ABSENT
    return doc


def ref_eq(a: Any, b: Any) -> bool:
    def kind(v: Any) -> str:
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "bool"
        if isinstance(v, (int, float)):
            return "number"
        return type(v).__name__
    if kind(a) != kind(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(ref_eq(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return set(a) == set(b) and all(ref_eq(a[k], b[k]) for k in a)
    return bool(a == b)


def ref_op(op: str, arg: Any, value: Any) -> bool:
    present = value is not ABSENT
    number = present and isinstance(value, (int, float)) and not isinstance(value, bool)
    if op == "$eq":
        return present and ref_eq(value, arg)
    if op == "$ne":
        return not (present and ref_eq(value, arg))
    if op == "$in":
        return present and any(ref_eq(value, a) for a in arg)
    if op == "$nin":
        return not (present and any(ref_eq(value, a) for a in arg))
    if op == "$exists":
        return present == arg
    if not number:
        return False
    return {"$gt": value > arg, "$gte": value >= arg, "$lt": value < arg,
            "$lte": value <= arg}[op]


def ref_match(flt: dict[str, Any], doc: Any) -> bool:
    for name, cond in flt.items():
        if name == "$and":
            ok = all(ref_match(f, doc) for f in cond)
        elif name == "$or":
            ok = any(ref_match(f, doc) for f in cond)
        elif name == "$not":
            ok = not ref_match(cond, doc)
        else:
            value = ref_get(doc, name)
            ok = all(ref_op(op, arg, value) for op, arg in cond.items())
        if not ok:
            return False
    return True


# -- strategies: documents and filters over a small vocabulary, so they meet -------------

KEYS = ["a", "b", "c/d", "e~f", "0"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3),
                    st.sampled_from([0.0, 1.0, -1.5, 2.5, 1e300]),
                    st.sampled_from(["", "x", "y", "1"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)),
    max_leaves=8)
docs = st.dictionaries(st.sampled_from(KEYS), values, max_size=4)


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


pointers = st.lists(st.one_of(st.sampled_from(KEYS).map(_escape), st.sampled_from(["1", "00"])),
                    min_size=0, max_size=3).map(lambda ts: "".join("/" + t for t in ts))
numbers = st.one_of(st.integers(-3, 3), st.sampled_from([0.0, 1.0, -1.5, 2.5]))
operators = st.one_of(
    st.tuples(st.sampled_from(["$eq", "$ne"]), values),
    st.tuples(st.sampled_from(["$in", "$nin"]), st.lists(values, max_size=3)),
    st.tuples(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), numbers),
    st.tuples(st.just("$exists"), st.booleans()),
)
conditions = st.lists(operators, min_size=1, max_size=3).map(dict)
leaf_filters = st.dictionaries(pointers, conditions, max_size=3)
filters = st.recursive(leaf_filters, lambda inner: st.one_of(
    st.builds(lambda fs: {"$and": fs}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda fs: {"$or": fs}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda f: {"$not": f}, inner),
    st.builds(lambda a, b: {**a, **b}, leaf_filters, inner),
), max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(filters, docs)
def test_the_compiled_filter_agrees_with_the_reference(flt: dict[str, Any], doc: Any) -> None:
    assert compile_filter(flt)(doc) == ref_match(flt, doc)


@settings(max_examples=400, deadline=None)
@given(operators, st.one_of(values, st.just(ABSENT)))
def test_each_operator_agrees_with_the_reference(op: tuple[str, Any], value: Any) -> None:
    doc = {} if value is ABSENT else {"v": value}
    flt = {"/v": dict([op])}
    assert compile_filter(flt)(doc) == ref_match(flt, doc), (flt, doc)


@settings(max_examples=200, deadline=None)
@given(values, values)
def test_json_equality_matches_the_reference(a: Any, b: Any) -> None:
    assert json_equal(a, b) == ref_eq(a, b)
    assert compile_filter({"/v": {"$eq": b}})({"v": a}) == ref_eq(a, b)
    assert compile_filter({"/v": {"$in": [b]}})({"v": a}) == ref_eq(a, b)


@pytest.mark.parametrize(("flt", "doc", "expected"), [
    ({"/v": {"$eq": 1}}, {"v": 1.0}, True),         # 1 equals 1.0
    ({"/v": {"$eq": 1}}, {"v": True}, False),       # true is not 1
    ({"/v": {"$in": [1, 2]}}, {"v": True}, False),
    ({"/v": {"$eq": True}}, {"v": 1}, False),
    ({"/v": {"$eq": None}}, {}, False),             # null equals only null, not absence
    ({"/v": {"$ne": None}}, {}, True),              # $ne holds for an absent field
    ({"/v": {"$nin": [1]}}, {}, True),
    ({"/v": {"$gt": 0}}, {"v": True}, False),       # a boolean is no number
    ({"/v": {"$lt": 5}}, {"v": "1"}, False),
    ({"/v": {"$exists": True}}, {"v": None}, True),
    ({"/a~1b/~0c": {"$eq": 2}}, {"a/b": {"~c": 2}}, True),   # RFC 6901 escapes
    ({"/l/1": {"$eq": "y"}}, {"l": ["x", "y"]}, True),
    ({"/l/01": {"$exists": True}}, {"l": ["x", "y"]}, False),  # no leading zeros
    ({"/l/-": {"$exists": True}}, {"l": ["x"]}, False),
    ({"/v": {"$eq": [1, {"k": 2.0}]}}, {"v": [1.0, {"k": 2}]}, True),
    ({}, {"anything": 1}, True),
    ({"/v": {"$gt": 5}}, {"v": 5}, False), ({"/v": {"$gt": 5}}, {"v": 5.5}, True),
    ({"/v": {"$gte": 5}}, {"v": 5.0}, True), ({"/v": {"$gte": 5}}, {"v": 4.9}, False),
    ({"/v": {"$lt": 5}}, {"v": 5}, False), ({"/v": {"$lt": 5}}, {"v": 4}, True),
    ({"/v": {"$lte": 5}}, {"v": 5}, True), ({"/v": {"$lte": 5}}, {"v": 6}, False),
    ({"/v": {"$gt": 1, "$lt": 3}}, {"v": 3}, False), ({"/v": {"$gt": 1, "$lt": 3}}, {"v": 2}, True),
])
def test_operators_at_their_bounds(flt: dict[str, Any], doc: Any, expected: bool) -> None:
    assert compile_filter(flt)(doc) is expected


@pytest.mark.parametrize(("flt", "words"), [
    ({"/data/amount": {"$regex": "1"}}, "unknown operator '$regex'"),
    ({"$nor": [{"/a": {"$eq": 1}}]}, "unknown operator '$nor'"),
    ({"data/invoice": {"$exists": True}}, "'data/invoice' is neither an operator"),
    ({"/data/~2": {"$exists": True}}, "bad escape"),
    ({"/a": {"$in": 5}}, "$in takes a list"),
    ({"/a": {"$nin": "Ada"}}, "$nin takes a list"),
    ({"/a": {"$exists": "yes"}}, "$exists takes true or false"),
    ({"/a": {"$gt": "5"}}, "$gt takes a number"),
    ({"/a": {"$lte": True}}, "$lte takes a number"),
    ({"$and": {"/a": {"$eq": 1}}}, "$and takes a non-empty list"),
    ({"$or": []}, "$or takes a non-empty list"),
    ({"$not": [{"/a": {"$eq": 1}}]}, "$not takes one filter"),
    ({"/a": {}}, "at '/a': a condition is a non-empty object"),
    ({"/a": 5}, "at '/a': a condition is a non-empty object"),
    ({"$eq": 1}, "$eq is a condition operator"),
    ({"$and": [{"/ok": {"$eq": 1}}, {"/deep": {"$foo": 1}}]}, "$and[1]"),
])
def test_invalid_filters_name_the_bad_part(flt: Any, words: str) -> None:
    with pytest.raises(InvalidFilterError) as info:
        compile_filter(flt)
    assert info.value.code == "invalid_filter"
    assert words in info.value.detail


def test_size_and_depth_are_bounded() -> None:
    deep: dict[str, Any] = {"/a": {"$eq": 1}}
    for _ in range(filters_mod.MAX_DEPTH + 1):
        deep = {"$not": deep}
    with pytest.raises(InvalidFilterError, match="levels deep"):
        compile_filter(deep)
    wide = {"$or": [{f"/k{i}": {"$eq": i}} for i in range(filters_mod.MAX_CLAUSES)]}
    with pytest.raises(InvalidFilterError, match=f"more than {filters_mod.MAX_CLAUSES}"):
        compile_filter(wide)


def test_the_option_check_refuses_a_non_object_plainly() -> None:
    with pytest.raises(InvalidRequestError) as info:
        check_filter(["/a"], None)
    assert info.value.code == "invalid_request"
    assert check_filter(None, None) is None


def test_pointer_parsing() -> None:
    assert parse_pointer("") == ()
    assert parse_pointer("/a~1b/~0c/") == ("a/b", "~c", "")
    with pytest.raises(ValueError, match="bad escape"):
        parse_pointer("/a~")


# -- at enqueue ---------------------------------------------------------------------------

def _invoice(amount: int, team: Any = None) -> dict[str, Any]:
    from hookseal_sender.catalog import event_catalog

    data = event_catalog().example("invoice.paid")
    data["invoice"]["total"] = dict(data["invoice"]["total"], amount=amount)
    if team is not None:
        data["invoice"]["metadata"] = {"team": team}
    return data


def test_an_event_that_does_not_match_makes_no_delivery(sender: Sender) -> None:
    big = sender.create_endpoint("t1", URL, allow_local=True, filter={
        "/data/invoice/total/amount": {"$gte": 10000}, "/type": {"$eq": "invoice.paid"}}).endpoint
    team = sender.create_endpoint("t1", URL, allow_local=True, filter={
        "$or": [{"/data/invoice/metadata/team": {"$in": ["billing"]}},
                {"/livemode": {"$eq": False}}]}).endpoint
    every = sender.create_endpoint("t1", URL, allow_local=True).endpoint

    small = sender.send("t1", "invoice.paid", _invoice(500))
    assert {ep for _, ep in small.deliveries} == {every.id}
    large = sender.send("t1", "invoice.paid", _invoice(20000, team="billing"))
    assert {ep for _, ep in large.deliveries} == {big.id, team.id, every.id}
    # Not counted: the store holds a delivery for exactly what send answered.
    log = sender.list_deliveries("t1", limit=100)
    assert sorted(d.id for d in log) == sorted(d for d, _ in small.deliveries + large.deliveries)


def test_a_filter_is_compiled_once_per_endpoint_version(sender: Sender,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = filters_mod.compile_filter

    def counting(doc: Any) -> Any:
        calls.append(doc)
        return real(doc)

    ep = sender.create_endpoint("t1", URL, allow_local=True,
                                filter={"/data/invoice/total/amount": {"$lt": 1000}}).endpoint
    monkeypatch.setattr(filters_mod, "compile_filter", counting)
    for _ in range(5):
        assert sender.send("t1", "invoice.paid", _invoice(500)).deliveries
    assert len(calls) == 1
    # An update makes a new version: the new filter takes effect at once.
    sender.update_endpoint("t1", ep.id, filter={"/data/invoice/total/amount": {"$gt": 1000}})
    checked = len(calls)  # the update's own check compiles it too
    assert not sender.send("t1", "invoice.paid", _invoice(500)).deliveries
    assert sender.send("t1", "invoice.paid", _invoice(5000)).deliveries
    assert len(calls) == checked + 1


def test_an_invalid_filter_is_refused_at_registration_and_nothing_is_created(
        sender: Sender) -> None:
    with pytest.raises(InvalidFilterError, match=r"\$regex"):
        sender.create_endpoint("t1", URL, allow_local=True, filter={"/type": {"$regex": "x"}})
    assert sender.list_endpoints("t1") == []
