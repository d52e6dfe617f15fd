"""The optional sender features (contract 4.2-4.6) a sender adapter may declare in ``hello``.

A sender lists what it implements in ``hello``'s ``features``; the properties of a feature
it does not list are skipped, with that reason, and ``--require FEATURE`` (or
``--require all``) turns the skip into a failure. A skip needs the declaration: a sender
that lists a feature and then gets it wrong fails, it is never "unsupported".
"""

from __future__ import annotations

#: Feature name -> what declaring it promises (contract section), in protocol order.
FEATURES: dict[str, str] = {
    "versions": "per-event-type version pins (create_endpoint versions; contract 4.2)",
    "filters": "payload filters over the envelope (create_endpoint filter; contract 4.3)",
    "headers": "custom request headers (create_endpoint headers; contract 4.3)",
    "redaction": "optional data fields dropped before signing (create_endpoint redact; 4.3)",
    "rate_limit": "a cap on deliveries per second (create_endpoint rate_limit; contract 4.3)",
    "batches": "events gathered into one request (create_endpoint batch; contract 4.4)",
    "ordering": "ordered delivery per ordering key, with sequence (create_endpoint ordering; 4.5)",
    "auth_static": "a static Authorization header (create_endpoint auth type static; 4.6)",
    "auth_oauth": "OAuth 2.0 client credentials (create_endpoint auth type oauth; 4.6)",
    "auth_mtls": "a TLS client certificate (create_endpoint auth type mtls; contract 4.6)",
    "proxy": "egress through an HTTP CONNECT proxy (create_endpoint proxy; contract 4.6)",
    "traceparent": "a W3C traceparent header on every attempt (contract 4.6)",
    "idempotency": "send's idempotency_key: a repeated send enqueues nothing (issue 21)",
}

#: Features the suite has properties for (every one, today).
CHECKED: tuple[str, ...] = (
    "versions", "filters", "headers", "redaction", "rate_limit", "batches", "ordering",
    "auth_static", "auth_oauth", "auth_mtls", "proxy", "traceparent", "idempotency",
)


def resolve(required: list[str]) -> set[str]:
    """The features ``--require`` names, with ``all`` standing for every checked feature.

    Raises:
        ValueError: a name that is neither ``all`` nor a feature.
    """
    out: set[str] = set()
    for name in required:
        if name == "all":
            out.update(CHECKED)
        elif name in FEATURES:
            out.add(name)
        else:
            raise ValueError(f"unknown feature {name!r}; one of: all, {', '.join(FEATURES)}")
    return out
