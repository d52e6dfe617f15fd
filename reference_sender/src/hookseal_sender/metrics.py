"""Prometheus metrics of a sender (one registry per sender, so tests stay independent).

The alert rules and the Grafana dashboard shipped in :mod:`hookseal_sender.ops` query
these metrics and nothing else; ``tests/test_ops.py`` checks every query against what a
:class:`Metrics` renders.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, Callable, Optional

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ._endpoint_series import ENDPOINT_SERIES, OTHER_ENDPOINTS, EndpointCounter, EndpointSeries

__all__ = ["ENDPOINT_SERIES", "EXCEPTION_SITES", "OTHER_ENDPOINTS", "FailingEndpoints",
           "Metrics"]


#: Where a worker catches an unexpected exception (the ``where`` label of
#: ``hookseal_worker_exceptions_total``): claiming, store maintenance, one attempt,
#: recording results, updating endpoint health, calling the notifier.
EXCEPTION_SITES = ("claim", "maintenance", "attempt", "record", "health", "notify")

#: ``(endpoint_id, tenant_id, failing_since)`` of every active endpoint that is failing.
FailingEndpoints = Callable[[], Iterable[tuple[str, str, float]]]


class _FailingSince(Collector):
    """``hookseal_endpoint_failing_since_seconds``, read from the store at scrape time.

    Read at scrape time, not kept by the worker, so it survives restarts and is the same
    on every worker process sharing a queue.
    """

    # The attributes prometheus_client's own metrics have: the docs' metrics table reads them.
    _name = "hookseal_endpoint_failing_since_seconds"
    _type = "gauge"
    _labelnames = ("endpoint_id", "tenant_id")
    _documentation = ("Unix time an active endpoint's current run of failed attempts "
                      "began (only failing endpoints)")

    def __init__(self, read: FailingEndpoints) -> None:
        self._read = read

    def describe(self) -> Iterable[Metric]:
        """The metric family, without samples (so registering does not query the store)."""
        return [GaugeMetricFamily(self._name, self._documentation, labels=self._labelnames)]

    def collect(self) -> Iterator[Metric]:
        """The failing endpoints, now."""
        family = GaugeMetricFamily(self._name, self._documentation, labels=self._labelnames)
        for endpoint_id, tenant_id, since in self._read():
            family.add_metric([endpoint_id, tenant_id], since)
        yield family


class _Flush(Collector):
    """Registered first: every collection of the registry (a scrape) first adds the
    attempts counted since the last flush, so what is rendered is always up to date."""

    def __init__(self, flush: Callable[[], None]) -> None:
        self._flush = flush

    def describe(self) -> Iterable[Metric]:
        """No metric of its own."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Flush; no metric of its own."""
        self._flush()
        return iter(())


class Metrics:
    """The sender's counters, histogram and gauges.

    Attempts are counted in batches: :meth:`attempt` queues one (a deque append, cheap on
    the delivery path) and :meth:`flush` adds what is queued to the counters and the
    histogram, a labelled child at a time. Every collection of :attr:`registry` flushes
    first (so :meth:`render` and any scrape show every attempt counted), and a worker
    flushes at each write-back, before the results are written.

    The counters labelled by endpoint (``hookseal_attempts_total``,
    ``hookseal_dead_letters_total``) keep at most ``endpoint_series`` series, drop an
    endpoint's when the worker's idle sweep drops its other state
    (:meth:`forget_endpoints`), and show a new series at 0 before it counts, so that
    ``rate()`` misses nothing (:mod:`hookseal_sender._endpoint_series`).

    Args:
        queue_depth: Called at scrape time for the queue-depth gauge.
        registry: The registry (default: a new one).
        failing_endpoints: Called at scrape time for
            ``hookseal_endpoint_failing_since_seconds`` (default: no such metric).
        endpoint_series: Series of the counters labelled by endpoint kept at most; beyond
            it, counts go to ``endpoint_id="_other"`` (default :data:`ENDPOINT_SERIES`).
    """

    def __init__(
        self, queue_depth: Optional[Callable[[], float]] = None,
        registry: Optional[CollectorRegistry] = None,
        failing_endpoints: Optional[FailingEndpoints] = None,
        endpoint_series: int = ENDPOINT_SERIES,
    ) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        # Attempts not yet added: (tenant, endpoint, outcome, latency, status, error).
        # A deque: appends (the worker's loop) and pops (a flush, on any thread) are each
        # atomic, so two flushes at once never count one attempt twice.
        self._pending: deque[tuple[str, str, str, float, Optional[int], Optional[str]]] = deque()
        r.register(_Flush(self.flush))
        self.enqueued = Counter("hookseal_events_enqueued", "Events enqueued", ["event_type"],
                                registry=r)
        self.deliveries_created = Counter("hookseal_deliveries_created",
                                          "Deliveries created", registry=r)
        #: The series of the counters labelled by endpoint (bounded, swept).
        self.endpoint_series = EndpointSeries(endpoint_series)
        self.attempts = EndpointCounter(
            "hookseal_attempts", "Delivery attempts by outcome (endpoint_id \"_other\": "
            "endpoints beyond the series cap)", ["outcome", "endpoint_id", "tenant_id"],
            self.endpoint_series)
        r.register(self.attempts)
        self.failures = Counter(
            "hookseal_attempt_failures",
            "Attempts not answered 2xx, by reason: the error (timeout, connection_error, ...) "
            "or the HTTP status (http_503, ...)", ["tenant_id", "reason"], registry=r)
        self.latency = Histogram(
            "hookseal_attempt_latency_seconds", "Attempt latency", ["tenant_id"], registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.dead_letters = EndpointCounter(
            "hookseal_dead_letters", "Dead-lettered deliveries", ["endpoint_id", "tenant_id"],
            self.endpoint_series)
        r.register(self.dead_letters)
        self.worker_exceptions = Counter(
            "hookseal_worker_exceptions", "Unexpected exceptions a worker caught and logged",
            ["where"], registry=r)
        # Every site starts at 0: a series born at 1 would hide its first increase from
        # increase() and from the alert on it.
        for site in EXCEPTION_SITES:
            self.worker_exceptions.labels(site)
        self.breaker_open = Gauge("hookseal_breaker_open", "Endpoints with an open breaker",
                                  registry=r)
        self.queue_depth = Gauge("hookseal_queue_depth", "Deliveries pending or in flight",
                                 registry=r)
        if queue_depth is not None:
            self.queue_depth.set_function(queue_depth)
        self.failing_since: Optional[_FailingSince] = None
        if failing_endpoints is not None:
            self.failing_since = _FailingSince(failing_endpoints)
            r.register(self.failing_since)
        self._children: dict[tuple[Any, tuple[str, ...]], Any] = {}

    def child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, kept for next time.

        On the enqueue and delivery paths ``labels()`` costs more than the increment itself.

        Args:
            metric: One of this object's labelled metrics.
            labels: Its label values, in order.

        Returns:
            The labelled child.
        """
        key = (metric, labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def attempt(self, tenant_id: str, endpoint_id: str, outcome: str, latency: float,
                status: Optional[int], error: Optional[str]) -> None:
        """Count one attempt: its outcome, its latency and, unless delivered, its reason.

        Queued: the metrics show it after the next :meth:`flush` (every scrape flushes).

        Args:
            tenant_id: The tenant.
            endpoint_id: The endpoint.
            outcome: ``delivered``, ``retry``, ``failed`` or ``gone``.
            latency: Seconds.
            status: The HTTP status, or ``None`` without a response.
            error: The error code without a response.
        """
        self._pending.append((tenant_id, endpoint_id, outcome, latency, status, error))

    def flush(self) -> None:
        """Add the attempts queued by :meth:`attempt` to the metrics (thread-safe)."""
        pending = self._pending
        if not pending:
            return
        attempts: dict[tuple[str, str, str], int] = {}
        failures: dict[tuple[str, str], int] = {}
        latencies: dict[str, list[float]] = {}
        pop = pending.popleft
        while pending:
            try:
                tenant_id, endpoint_id, outcome, latency, status, error = pop()
            except IndexError:  # another flush took the last one
                break
            key = (outcome, endpoint_id, tenant_id)
            attempts[key] = attempts.get(key, 0) + 1
            found = latencies.get(tenant_id)
            if found is None:
                latencies[tenant_id] = [latency]
            else:
                found.append(latency)
            if outcome != "delivered":
                reason = error if status is None else f"http_{status}"
                failure = (tenant_id, reason or "unknown")
                failures[failure] = failures.get(failure, 0) + 1
        child = self.child
        self.attempts.add(attempts.items())
        for (tenant_id, reason), n in failures.items():
            child(self.failures, tenant_id, reason).inc(n)
        for tenant_id, values in latencies.items():
            histogram = child(self.latency, tenant_id)
            for value in values:  # the public call: the child's layout is the library's own
                histogram.observe(value)

    def dead_letter(self, tenant_id: str, endpoint_id: str) -> None:
        """Count a dead-lettered delivery.

        Args:
            tenant_id: The tenant.
            endpoint_id: The endpoint.
        """
        self.dead_letters.inc(endpoint_id, tenant_id)

    def forget_endpoints(self, endpoint_ids: Iterable[str]) -> int:
        """Drop the series of endpoints no longer used (the worker's idle sweep), each once
        a scrape has shown its last value.

        Args:
            endpoint_ids: The endpoints.

        Returns:
            How many series were dropped now.
        """
        return self.endpoint_series.forget(endpoint_ids)

    def exception(self, where: str) -> None:
        """Count an unexpected exception a worker caught (call it where it is logged).

        Args:
            where: One of :data:`EXCEPTION_SITES`.
        """
        self.child(self.worker_exceptions, where).inc()

    def render(self) -> bytes:
        """The metrics in Prometheus text format.

        Returns:
            The exposition text.
        """
        return generate_latest(self.registry)
