"""A delivery history written straight into a store, for the health review's tests and
benchmark: events, deliveries and attempts as the worker records them, at chosen times."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from typing import Any, Optional

from hookseal_sender import Sender
from hookseal_sender.models import id_at

BATCH = 20_000


def _id_at(prefix: str, at: float) -> str:
    """An id as one made at ``at`` (ids begin with their creation time, as real ones)."""
    return id_at(prefix, at) + os.urandom(8).hex()


@dataclass
class History:
    """Rows to write; :meth:`delivery` adds one delivery with its event and attempts."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    deliveries: list[tuple[Any, ...]] = field(default_factory=list)
    attempts: list[tuple[Any, ...]] = field(default_factory=list)

    def event(self, tenant: str, event_type: str, at: float) -> str:
        """An event that reaches no endpoint (or the event of deliveries added after)."""
        event_id = _id_at("evt", at)
        self.events.append((event_id, tenant, event_type, "{}", at))
        return event_id

    def delivery(self, tenant: str, endpoint_id: str, event_type: str, at: float,
                 answers: list[tuple[float, Optional[int], float]], status: str,
                 event_id: Optional[str] = None) -> str:
        """A delivery created at ``at`` with one attempt per answer.

        Args:
            answers: ``(seconds after at, HTTP status or None for a timeout, latency ms)``.
            status: Its final status.
        """
        event_id = event_id or self.event(tenant, event_type, at)
        delivery_id = _id_at("dlv", at)
        last = answers[-1][1] if answers else None
        self.deliveries.append((delivery_id, tenant, event_id, endpoint_id, event_type, status,
                                len(answers), len(answers), last, at,
                                at + (answers[-1][0] if answers else 0)))
        for number, (offset, code, latency) in enumerate(answers, 1):
            outcome = ("delivered" if code is not None and 200 <= code < 300 else
                       "retry" if code is None or code >= 500 or code == 429 else "failed")
            self.attempts.append((delivery_id, number, at + offset, code,
                                  "timeout" if code is None else None, latency, "{}", "",
                                  outcome))
        return delivery_id

    def write(self, sender: Sender) -> None:
        """Insert every row (in batches, one transaction each)."""
        store: Any = sender.store
        for sql, rows in (
            ("INSERT INTO events (id, tenant_id, type, payload, created_at) VALUES (?,?,?,?,?)",
             self.events),
            ("INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type, status,"
             " attempt_count, round_attempts, last_status_code, created_at, updated_at)"
             " VALUES (?,?,?,?,?,?,?,?,?,?,?)", self.deliveries),
            ("INSERT INTO attempts (delivery_id, number, at, status_code, error, latency_ms,"
             " response_headers, response_body, outcome) VALUES (?,?,?,?,?,?,?,?,?)",
             self.attempts),
        ):
            for start in range(0, len(rows), BATCH):
                with store.transaction() as conn:
                    store._many(conn, sql, rows[start:start + BATCH])
        self.events, self.deliveries, self.attempts = [], [], []


def backdate(sender: Sender, endpoint_id: str, created_at: float,
             keys_at: Optional[float] = None) -> None:
    """Make an endpoint (and its keys) older than it is."""
    store: Any = sender.store
    with store.transaction() as conn:
        store._exec(conn, "UPDATE endpoints SET created_at = ? WHERE id = ?",
                    [created_at, endpoint_id])
        store._exec(conn, "UPDATE endpoint_keys SET created_at = ? WHERE endpoint_id = ?",
                    [created_at if keys_at is None else keys_at, endpoint_id])


def generate(sender: Sender, n: int, *, now: float, days: int, tenants: int = 50,
             endpoints_per_tenant: int = 2, seed: int = 7) -> None:
    """``n`` deliveries spread over ``days`` days before ``now``: most delivered at once,
    some after retries, a few endpoints dead (every attempt 503, dead-lettered)."""
    rng = random.Random(seed)
    types = ["invoice.paid", "invoice.created", "customer.created", "payment.failed"]
    eps = []
    for t in range(tenants):
        for e in range(endpoints_per_tenant):
            ep = sender.create_endpoint(f"tenant-{t:03d}", f"https://hooks.example.com/{t}/{e}")
            backdate(sender, ep.endpoint.id, now - (days + 30) * 86400.0)
            eps.append((f"tenant-{t:03d}", ep.endpoint.id, t % 17 == 0 and e == 0))
    history = History()
    span = days * 86400.0
    for i in range(n):
        tenant, endpoint_id, dead = eps[int(len(eps) * rng.random() ** 2)]  # some busier
        at = now - span * rng.random()
        latency = rng.lognormvariate(4.5, 0.6)
        if dead:
            answers = [(k * 60.0, 503, latency) for k in range(3)]
            status = "dead_lettered"
        elif rng.random() < 0.05:
            answers = [(0.0, 503, latency), (60.0, 200, latency)]
            status = "delivered"
        else:
            answers = [(0.0, 200, latency)]
            status = "delivered"
        history.delivery(tenant, endpoint_id, types[i % len(types)], at, answers, status)
        if len(history.deliveries) >= BATCH:
            history.write(sender)
    history.write(sender)
