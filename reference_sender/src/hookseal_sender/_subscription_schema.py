"""The JSON Schemas (OpenAPI 3.1) of the subscription options of contract 4.3, from the
limits their modules own. The admin API's endpoint schema uses them; the checks that
decide are still the modules' own (a schema cannot say "not a reserved name" or "not a
required field")."""

from __future__ import annotations

from typing import Any

from .custom_headers import MAX_HEADERS, MAX_VALUE_LENGTH
from .filters import COMPARISONS, LOGICAL, MAX_CLAUSES, MAX_DEPTH, OPERATORS
from .redaction import MAX_POINTERS

__all__ = ["FILTER_SCHEMA", "HEADERS_SCHEMA", "RATE_LIMIT_SCHEMA", "REDACT_SCHEMA"]

_POINTER = "^(/([^~/]|~[01])*)*$"

FILTER_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "description": (
        "A filter over the envelope (contract 4.3): each member is a JSON Pointer holding a "
        f"condition (an object of {', '.join(OPERATORS)}; {', '.join(COMPARISONS)} take a "
        f"number, $in/$nin a list, $exists a boolean) or one of {', '.join(LOGICAL)}. "
        f"At most {MAX_CLAUSES} clauses, nested at most {MAX_DEPTH} deep. Evaluated at "
        "enqueue: an event that does not match makes no delivery."),
    "examples": [{"/data/invoice/total/amount": {"$gte": 10000},
                  "$or": [{"/data/invoice/customer_name": {"$in": ["Ada", "Bob"]}},
                          {"/livemode": {"$eq": False}}]}],
}
HEADERS_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "description": (
        f"Up to {MAX_HEADERS} extra request headers sent on every attempt. The signature, "
        "webhook-id, event-type and timestamp names of the endpoint's profile, "
        "Content-Type, Content-Length, Host and the hop-by-hop names are refused."),
    "maxProperties": MAX_HEADERS,
    "propertyNames": {"pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"},
    "additionalProperties": {"type": "string", "maxLength": MAX_VALUE_LENGTH,
                             "pattern": "^([\\x21-\\x7e]([\\x20-\\x7e\\t]*[\\x21-\\x7e])?)?$"},
}
REDACT_SCHEMA: dict[str, Any] = {
    "type": ["array", "null"],
    "description": (
        "JSON Pointers into data of optional fields dropped before signing (* for every "
        "item of an array or value of a map). A field required in any event type the "
        "endpoint takes is refused."),
    "maxItems": MAX_POINTERS,
    "items": {"type": "string", "pattern": _POINTER, "minLength": 1},
}
RATE_LIMIT_SCHEMA: dict[str, Any] = {
    "type": ["number", "null"], "exclusiveMinimum": 0,
    "description": ("Most deliveries per second to the endpoint, across every worker and "
                    "process of the sender; waiting for it is no attempt."),
}
