"""Prometheus metrics of a sender (one registry per sender, so tests stay independent)."""

from __future__ import annotations

from typing import Any, Callable, Optional

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """The sender's counters, histogram and gauges.

    Args:
        queue_depth: Called at scrape time for the queue-depth gauge.
        registry: The registry (default: a new one).
    """

    def __init__(
        self, queue_depth: Optional[Callable[[], float]] = None,
        registry: Optional[CollectorRegistry] = None,
    ) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.enqueued = Counter("hookseal_events_enqueued", "Events enqueued", ["event_type"],
                                registry=r)
        self.deliveries_created = Counter("hookseal_deliveries_created",
                                          "Deliveries created", registry=r)
        self.attempts = Counter("hookseal_attempts", "Delivery attempts by outcome",
                                ["outcome", "endpoint_id"], registry=r)
        self.latency = Histogram(
            "hookseal_attempt_latency_seconds", "Attempt latency", registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.dead_letters = Counter("hookseal_dead_letters", "Dead-lettered deliveries",
                                    ["endpoint_id"], registry=r)
        self.breaker_open = Gauge("hookseal_breaker_open", "Endpoints with an open breaker",
                                  registry=r)
        self.queue_depth = Gauge("hookseal_queue_depth", "Deliveries pending or in flight",
                                 registry=r)
        if queue_depth is not None:
            self.queue_depth.set_function(queue_depth)
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

    def render(self) -> bytes:
        """The metrics in Prometheus text format.

        Returns:
            The exposition text.
        """
        return generate_latest(self.registry)
