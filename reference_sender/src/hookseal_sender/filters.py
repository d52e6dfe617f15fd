"""Payload filters (contract 4.3): a JSON document over the envelope, compiled once into a
predicate and evaluated at enqueue.

A filter is a JSON object; every member must hold (``{}`` matches everything):

- a member named by a JSON Pointer (RFC 6901) into the envelope holds a *condition*, a
  non-empty object of operators that must all hold for the value at that pointer;
- ``$and`` (a non-empty list of filters), ``$or`` (a non-empty list, one must match) and
  ``$not`` (one filter, which must not match).

Values compare with JSON equality: ``1`` equals ``1.0``, ``true`` is not ``1``, ``null``
equals only ``null``, arrays and objects member by member. ::

    match = compile_filter({"/data/invoice/total/amount": {"$gte": 10000}})
    match({"data": {"invoice": {"total": {"amount": 12000}}}})   # True

The store's enqueue path calls :func:`matching` with the subscribed endpoints' rows; the
compiled predicates are cached by ``(endpoint id, endpoint version)``, so a filter is
parsed once per endpoint change, never per event.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Callable, Optional

import orjson

from .errors import InvalidFilterError, InvalidRequestError

__all__ = ["COMPARISONS", "LOGICAL", "MAX_CLAUSES", "MAX_DEPTH", "OPERATORS", "Predicate",
           "check_filter", "compile_filter", "json_equal", "matching", "parse_pointer",
           "resolve"]

logger = logging.getLogger("hookseal_sender.filters")

#: A compiled filter: ``envelope -> bool``.
Predicate = Callable[[Any], bool]

#: The operators of a condition.
OPERATORS = ("$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$exists")
#: The operators that combine filters.
LOGICAL = ("$and", "$or", "$not")
#: The ordering operators (numbers only).
COMPARISONS = ("$gt", "$gte", "$lt", "$lte")
#: Most nested filters (``$and``/``$or``/``$not`` levels) in one filter.
MAX_DEPTH = 16
#: Most conditions and logical operators in one filter, counted together.
MAX_CLAUSES = 256

_MISSING: Any = object()
_NUMBER = (int, float)


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """The unescaped tokens of an RFC 6901 JSON Pointer (``""`` is the whole document).

    Args:
        pointer: ``""`` or a string starting with ``/``.

    Returns:
        The reference tokens (``/a~1b/c`` -> ``("a/b", "c")``).

    Raises:
        ValueError: Not a JSON Pointer, or a ``~`` not followed by ``0`` or ``1``.
    """
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise ValueError(f"{pointer!r} is not a JSON Pointer (it must start with '/')")
    tokens = pointer[1:].split("/")
    for token in tokens:
        if "~" in token.replace("~0", "").replace("~1", ""):
            raise ValueError(f"bad escape in JSON Pointer {pointer!r} (only ~0 and ~1 are allowed)")
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in tokens)


def resolve(doc: Any, tokens: Sequence[str]) -> Any:
    """The value the tokens of a pointer name in ``doc``, or a private sentinel when absent.

    Array items are named by their index in decimal without leading zeros (RFC 6901); ``-``
    and any other token name nothing in an array.
    """
    node = doc
    for token in tokens:
        if type(node) is dict:
            node = node.get(token, _MISSING)
            if node is _MISSING:
                return _MISSING
        elif type(node) is list:
            if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
                return _MISSING
            index = int(token)
            if index >= len(node):
                return _MISSING
            node = node[index]
        else:
            return _MISSING
    return node


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value (``1 == 1.0``), booleans apart from numbers, arrays
    item by item, objects member by member."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    if isinstance(a, _NUMBER) and isinstance(b, _NUMBER):
        return a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(v, b[k]) for k, v in a.items())
    return False


def _key(value: Any) -> Optional[tuple[str, Any]]:
    """A hashable key equal for JSON-equal scalars (``None`` for arrays and objects)."""
    if value is None:
        return ("null", None)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, _NUMBER):
        return ("number", value)  # 1 and 1.0 hash and compare equal
    if isinstance(value, str):
        return ("string", value)
    return None


def _member_of(operands: list[Any]) -> Predicate:
    """A predicate ``value is present and JSON-equal to one of operands``."""
    keys = {k for k in map(_key, operands) if k is not None}
    others = [o for o in operands if _key(o) is None]

    def member(v: Any) -> bool:
        if v is _MISSING:
            return False
        k = _key(v)
        if k is not None:
            return k in keys
        return any(json_equal(v, o) for o in others)
    return member


_NUMBER_TEST = "(type(v) is int or type(v) is float)"
_COMPARE = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


class _Compiler:
    """Checks a filter document and writes it as Python source, one function per filter
    (the top one and each of ``$and``, ``$or``, ``$not``), run through :func:`exec` once.

    Generated code, not nested closures: one evaluation of a 5-clause filter took about
    3.5 us as closures and about a third of that as straight-line code. No text of the
    filter reaches the source: every name, pointer token and operand is a constant the
    source refers to by a generated name (``c0``, ``c1``, ...).
    """

    def __init__(self) -> None:
        self.clauses = 0
        self.consts: dict[str, Any] = {}
        self.functions: list[str] = []

    def const(self, value: Any) -> str:
        name = f"c{len(self.consts)}"
        self.consts[name] = value
        return name

    def _count(self, where: str) -> None:
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise InvalidFilterError(
                f"filter{where}: more than {MAX_CLAUSES} conditions and logical operators")

    def filter(self, doc: Any, where: str, depth: int) -> str:
        """Check ``doc`` and write its function; returns the function's name."""
        if not isinstance(doc, dict):
            raise InvalidFilterError(f"filter{where}: a filter must be a JSON object, "
                                     f"not {type(doc).__name__}")
        if depth > MAX_DEPTH:
            raise InvalidFilterError(f"filter{where}: nested more than {MAX_DEPTH} levels deep")
        body: list[str] = []
        for name, value in doc.items():
            body += self.member(name, value, where, depth)
        fn = f"f{len(self.functions)}"
        self.functions.append("")  # reserve the name before the source is known
        lines = [f"def {fn}(e):", *(f"    {line}" for line in body), "    return True"]
        self.functions[int(fn[1:])] = "\n".join(lines)
        return fn

    def member(self, name: Any, value: Any, where: str, depth: int) -> list[str]:
        here = f"{where}/{name}" if where else f" {name}"
        if isinstance(name, str) and name.startswith("$"):
            self._count(here)
            return self.logical(name, value, here, depth)
        try:
            tokens = parse_pointer(name)
        except ValueError as exc:
            raise InvalidFilterError(
                f"filter{where}: member {name!r} is neither an operator ({', '.join(LOGICAL)}) "
                f"nor a JSON Pointer: {exc}") from None
        self._count(here)
        return self.condition(name, tokens, value, where)

    def logical(self, op: str, value: Any, where: str, depth: int) -> list[str]:
        if op in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise InvalidFilterError(f"filter{where}: {op} takes a non-empty list of filters")
            calls = [f"{self.filter(f, f'{where}[{i}]', depth + 1)}(e)"
                     for i, f in enumerate(value)]
            joined = (" and " if op == "$and" else " or ").join(calls)
            return [f"if not ({joined}): return False"]
        if op == "$not":
            if not isinstance(value, dict):
                raise InvalidFilterError(f"filter{where}: $not takes one filter (a JSON object)")
            return [f"if {self.filter(value, where, depth + 1)}(e): return False"]
        if op in OPERATORS:
            raise InvalidFilterError(
                f"filter{where}: {op} is a condition operator; it goes inside a condition "
                f'on a JSON Pointer, as in {{"/type": {{"{op}": ...}}}}')
        raise InvalidFilterError(f"filter{where}: unknown operator {op!r} (the logical "
                                 f"operators are {', '.join(LOGICAL)})")

    def condition(self, pointer: str, tokens: tuple[str, ...], cond: Any,
                  where: str) -> list[str]:
        at = f"filter{where}, at {pointer!r}"
        if not isinstance(cond, dict) or not cond:
            raise InvalidFilterError(
                f"{at}: a condition is a non-empty object of operators ({', '.join(OPERATORS)})")
        tests = [self.operator(op, operand, at) for op, operand in cond.items()]
        if tokens:
            # A string subscript succeeds on a JSON object only: anything else (an array
            # on the way, a missing member, a scalar) raises, and resolve() decides.
            path = "".join(f"[{self.const(t)}]" for t in tokens)
            get = ["try:", f"    v = e{path}", "except Exception:",
                   f"    v = R(e, {self.const(tokens)})"]
        else:
            get = ["v = e"]
        return [*get, *(f"if not ({t}): return False" for t in tests)]

    def operator(self, op: Any, operand: Any, at: str) -> str:
        """The test of one operator, as an expression over ``v``."""
        if op in ("$eq", "$ne"):
            eq = self.equals(operand)
            return eq if op == "$eq" else f"not ({eq})"
        if op in ("$in", "$nin"):
            if not isinstance(operand, list):
                raise InvalidFilterError(f"{at}: {op} takes a list of values")
            member = f"{self.const(_member_of(operand))}(v)"
            return member if op == "$in" else f"not {member}"
        if op in COMPARISONS:
            if isinstance(operand, bool) or not isinstance(operand, _NUMBER):
                raise InvalidFilterError(f"{at}: {op} takes a number, not {json.dumps(operand)}")
            return f"{_NUMBER_TEST} and v {_COMPARE[op]} {self.const(operand)}"
        if op == "$exists":
            if not isinstance(operand, bool):
                raise InvalidFilterError(f"{at}: $exists takes true or false")
            return "v is not M" if operand else "v is M"
        raise InvalidFilterError(f"{at}: unknown operator {op!r} (the operators of a "
                                 f"condition are {', '.join(OPERATORS)})")

    def equals(self, operand: Any) -> str:
        """``v`` is present and JSON-equal to ``operand``, specialised by its type."""
        if operand is None:
            return "v is None"
        if isinstance(operand, bool):
            return "v is True" if operand else "v is False"
        c = self.const(operand)
        if isinstance(operand, _NUMBER):
            return f"{_NUMBER_TEST} and v == {c}"
        if isinstance(operand, str):
            return f"type(v) is str and v == {c}"
        return f"v is not M and EQ(v, {c})"


def compile_filter(doc: Any) -> Predicate:
    """Check a filter and compile it into a predicate over an envelope (a parsed JSON
    object).

    Args:
        doc: The filter, a JSON object.

    Returns:
        A function of the envelope that says whether the filter matches it.

    Raises:
        InvalidFilterError: The filter is invalid; the detail names the operator or pointer
            and where it is in the filter.
    """
    compiler = _Compiler()
    top = compiler.filter(doc, "", 0)
    namespace: dict[str, Any] = {"R": resolve, "M": _MISSING, "EQ": json_equal,
                                 **compiler.consts}
    exec("\n\n".join(compiler.functions), namespace)  # noqa: S102 - generated above
    predicate: Predicate = namespace[top]
    return predicate


def check_filter(value: Any, context: object = None) -> Optional[dict[str, Any]]:
    """The ``filter`` option's check (:data:`hookseal_sender._options.OPTION_CHECKS`).

    Args:
        value: The filter, or ``None`` for none.
        context: The endpoint's other settings (unused: a filter depends on none).

    Returns:
        The filter as stored.

    Raises:
        InvalidRequestError: Not a JSON object (``invalid_request``).
        InvalidFilterError: An invalid filter.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidRequestError("filter must be a JSON object or null")
    compile_filter(value)
    return value


# Compiled filters by (endpoint id, version): a version changes on every update, so a
# stale entry is never read; the cache is emptied when it grows past its bound.
_CACHE_SIZE = 10_000
_cache: dict[tuple[str, int], Optional[Predicate]] = {}
_cache_lock = threading.Lock()


def _compiled(endpoint_id: str, version: int, text: Any) -> Optional[Predicate]:
    """The cached predicate of an endpoint's stored filter (``None``: match everything)."""
    key = (endpoint_id, version)
    try:
        return _cache[key]
    except KeyError:
        pass
    predicate: Optional[Predicate] = None
    if text is not None:
        try:
            doc = json.loads(text) if isinstance(text, (str, bytes)) else text
            predicate = None if doc is None else compile_filter(doc)
        except (InvalidFilterError, ValueError) as exc:
            # Stored round the registration check: deliver rather than drop events silently.
            logger.error("endpoint %s: its stored filter is invalid (%s); it gets every event "
                         "until it is updated", endpoint_id, exc)
            predicate = None
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()
        _cache[key] = predicate
    return predicate


_types_cache: dict[str, frozenset[str]] = {}


def _types(text: str) -> frozenset[str]:
    """An endpoint's ``event_types`` column, parsed once per distinct value."""
    try:
        return _types_cache[text]
    except KeyError:
        pass
    types = frozenset(json.loads(text))
    with _cache_lock:
        if len(_types_cache) >= _CACHE_SIZE:
            _types_cache.clear()
        _types_cache[text] = types
    return types


def matching(rows: Iterable[Sequence[Any]], event_type: str,
             payload: Optional[str]) -> list[str]:
    """The endpoint ids among subscription rows that take an event.

    Args:
        rows: ``(id, event_types JSON or NULL, filter JSON or NULL, version)`` rows.
        event_type: The event's type.
        payload: The event's body (its envelope as built for its current version, before
            pinning or redaction), parsed only if an endpoint has a filter; ``None`` skips
            the filters (every subscriber of the type takes it).

    Returns:
        The ids of the endpoints subscribed to the type whose filter (if any) matches.
    """
    ids = []
    envelope: Any = _MISSING
    for eid, types, flt, version in rows:
        if types is not None and event_type not in _types(types):
            continue
        if flt is not None and payload is not None:
            predicate = _compiled(eid, version, flt)
            if predicate is not None:
                if envelope is _MISSING:
                    envelope = orjson.loads(payload)
                if not predicate(envelope):
                    continue
        ids.append(eid)
    return ids
