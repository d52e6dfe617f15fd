"""Counters labelled by endpoint, with a bounded number of series that rate() reads right.

A series per endpoint kept for a process's life grows with every endpoint the process
ever counted (about 740 B of memory and 245 B of ``/metrics`` each as prometheus-client
children: 1 GB and 245 MB at 1,000,000 endpoints). Here each series is a small list, the
worker's idle sweep drops an idle endpoint's series (:meth:`EndpointSeries.forget`), and
at most ``cap`` endpoint series exist at once: beyond it, counts go to the series whose
``endpoint_id`` is :data:`OTHER_ENDPOINTS` (one per tenant and outcome).

What Prometheus needs to compute ``rate()`` and ``increase()`` right from series that come
and go:

- **A series is shown at 0 before it counts.** A new series (first use, or again after it
  was dropped) is rendered at 0 by its first collection (a scrape); what it counts until
  then is held and added right after. A series that appeared at 1 would hide that first
  increase from ``rate()`` (Prometheus has no earlier sample to compare with); born at 0
  and seen there, every increase is counted, including the one from a dropped series'
  last value down to 0 (a counter reset, which ``rate()`` handles).
- **A series is dropped only once its last value was shown.** Each collection notes the
  value it rendered; a series is removed only if nothing was counted since. An endpoint
  the sweep asked to drop with counts not shown yet is dropped after the next
  collection.

So nothing counted is lost to ``rate()``, as long as each collection reaches Prometheus
(one scraper; a failed scrape, or a second scraper of the same page, may miss a series'
0 or its last value). The cost: a new series shows its first counts one scrape late.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import metrics as _prometheus_metrics
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["ENDPOINT_SERIES", "OTHER_ENDPOINTS", "EndpointCounter", "EndpointSeries"]

#: The ``endpoint_id`` of counts made while ``cap`` endpoint series exist already.
OTHER_ENDPOINTS = "_other"
#: Endpoint series a process keeps at most by default (of every endpoint counter).
ENDPOINT_SERIES = 10_000

# A series: [value shown or to show, value last shown (-1.0: never), held, created].
_VALUE, _SHOWN, _HELD, _CREATED = range(4)


class EndpointSeries:
    """The series of every counter labelled by endpoint: one lock, one cap, the sweep.

    Args:
        cap: Endpoint series kept at most, over all the counters (series of
            :data:`OTHER_ENDPOINTS` are not counted: one per tenant and outcome).
    """

    def __init__(self, cap: int = ENDPOINT_SERIES) -> None:
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
            raise ValueError("the endpoint series cap must be an integer >= 0")
        self.cap = cap
        self.lock = threading.Lock()
        #: Endpoint series kept now (not :data:`OTHER_ENDPOINTS`'s).
        self.count = 0
        #: Each endpoint's series: (counter, labels).
        self.by_endpoint: dict[str, list[tuple[EndpointCounter, tuple[str, ...]]]] = {}
        # Endpoints the sweep dropped whose last counts were not shown yet.
        self._leaving: set[str] = set()

    def forget(self, endpoint_ids: Iterable[str]) -> int:
        """Drop the series of endpoints no longer used (the idle sweep's), each as soon as
        its last value was shown: now, or after the collection that shows it.

        Args:
            endpoint_ids: The endpoints.

        Returns:
            How many series were dropped now.
        """
        with self.lock:
            return sum(self._drop(ep) for ep in endpoint_ids)

    def shown(self) -> None:
        """After a collection (the lock held): drop what waited for it to be shown."""
        if self._leaving:
            for ep in list(self._leaving):
                self._drop(ep)

    def _drop(self, endpoint_id: str) -> int:
        """Drop the endpoint's series that were shown as they are; the lock held."""
        series = self.by_endpoint.get(endpoint_id)
        if series is None:
            self._leaving.discard(endpoint_id)
            return 0
        kept = [(counter, labels) for counter, labels in series
                if not counter.drop_if_shown(labels)]
        dropped = len(series) - len(kept)
        self.count -= dropped
        if kept:
            self.by_endpoint[endpoint_id] = kept
            self._leaving.add(endpoint_id)
        else:
            del self.by_endpoint[endpoint_id]
            self._leaving.discard(endpoint_id)
        return dropped


class EndpointCounter(Collector):
    """A counter with an ``endpoint_id`` label, kept in :class:`EndpointSeries`.

    Registered like prometheus-client's own metrics, and rendered the same way
    (``<name>_total`` and ``<name>_created``).

    Args:
        name: The metric's name, without ``_total``.
        documentation: Its help text.
        labelnames: Its labels, ``endpoint_id`` among them.
        series: The series it shares a cap and a lock with.
    """

    # The attributes prometheus-client's own metrics have: the docs' metrics table reads them.
    _type = "counter"

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str],
                 series: EndpointSeries) -> None:
        self._name = name
        self._documentation = documentation
        self._labelnames = tuple(labelnames)
        self._endpoint = self._labelnames.index("endpoint_id")
        self._series = series
        self._values: dict[tuple[str, ...], list[float]] = {}

    def describe(self) -> Iterable[Metric]:
        """The metric family, without samples."""
        return [CounterMetricFamily(self._name, self._documentation, labels=self._labelnames)]

    def add(self, counts: Iterable[tuple[tuple[str, ...], float]]) -> None:
        """Count ``n`` for each ``(labels, n)`` (label values in :attr:`_labelnames`'s order).

        A series not kept yet is made (or, with the cap reached, the count goes to
        :data:`OTHER_ENDPOINTS`'s) and shows 0 first: its count is held until a
        collection has shown it.
        """
        series = self._series
        values, ep_at = self._values, self._endpoint
        with series.lock:
            for asked, n in counts:
                labels = asked
                found = values.get(labels)
                if found is None:
                    endpoint_id = labels[ep_at]
                    if endpoint_id != OTHER_ENDPOINTS and series.count >= series.cap:
                        labels = (*labels[:ep_at], OTHER_ENDPOINTS, *labels[ep_at + 1:])
                        found = values.get(labels)
                    if found is None:
                        found = values[labels] = [0.0, -1.0, 0.0, time.time()]
                        if labels[ep_at] != OTHER_ENDPOINTS:
                            series.count += 1
                            series.by_endpoint.setdefault(endpoint_id, []).append(
                                (self, labels))
                if found[_SHOWN] < 0:
                    found[_HELD] += n
                else:
                    found[_VALUE] += n

    def inc(self, *labels: str) -> None:
        """Count one, for these label values (in :attr:`_labelnames`'s order)."""
        self.add([(labels, 1.0)])

    def value(self, *labels: str) -> float:
        """What the series counted so far, shown or not (0 if it has no series)."""
        with self._series.lock:
            found = self._values.get(labels)
            return 0.0 if found is None else found[_VALUE] + found[_HELD]

    def __len__(self) -> int:
        return len(self._values)

    def drop_if_shown(self, labels: tuple[str, ...]) -> bool:
        """Remove the series if its value was shown as it is (the lock held)."""
        found = self._values.get(labels)
        if found is None:
            return True
        if found[_HELD] or found[_SHOWN] != found[_VALUE]:
            return False
        del self._values[labels]
        return True

    def collect(self) -> Iterator[Metric]:
        """Every series as it is; notes what was shown, then adds what was held."""
        family = CounterMetricFamily(self._name, self._documentation, labels=self._labelnames)
        series = self._series
        # As prometheus-client's own counters: no _created samples if it was told so.
        created = getattr(_prometheus_metrics, "_use_created", True)
        with series.lock:
            for labels, found in self._values.items():
                family.add_metric(labels, found[_VALUE],
                                  created=found[_CREATED] if created else None)
                found[_SHOWN] = found[_VALUE]
                if found[_HELD]:
                    found[_VALUE] += found[_HELD]
                    found[_HELD] = 0.0
            series.shown()
        yield family
