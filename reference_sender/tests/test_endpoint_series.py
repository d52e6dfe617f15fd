"""Counters labelled by endpoint: bounded, dropped when idle, and read right by rate()."""

from __future__ import annotations

import random

from hookseal_sender._endpoint_series import OTHER_ENDPOINTS
from hookseal_sender.metrics import Metrics
from prometheus_client.parser import text_string_to_metric_families

Key = tuple[str, frozenset[tuple[str, str]]]


def scrape(m: Metrics) -> dict[Key, float]:
    """One scrape: every ``*_total`` sample of the counters labelled by endpoint."""
    out = {}
    for family in text_string_to_metric_families(m.render().decode()):
        for s in family.samples:
            if s.name in ("hookseal_attempts_total", "hookseal_dead_letters_total"):
                out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


class Prometheus:
    """What ``increase()`` over the whole run adds up, as Prometheus computes it: per
    series, each sample against the previous one of the same labels (a drop is a counter
    reset: the new value counts in full; the first sample counts nothing)."""

    def __init__(self) -> None:
        self.last: dict[Key, float] = {}
        self.increase: dict[Key, float] = {}

    def scrape(self, m: Metrics) -> dict[Key, float]:
        got = scrape(m)
        for key, v in got.items():
            if key in self.last:
                prev = self.last[key]
                self.increase[key] = self.increase.get(key, 0.0) + (v - prev if v >= prev
                                                                    else v)
            self.last[key] = v
        return got

    def total(self, name: str, **match: str) -> float:
        return sum(v for (n, labels), v in self.increase.items()
                   if n == name and match.items() <= dict(labels).items())


def test_a_new_series_is_shown_at_zero_then_counts() -> None:
    m = Metrics()
    m.attempt("t1", "ep_a", "delivered", 0.01, 200, None)
    key = ("hookseal_attempts_total", frozenset(
        {("outcome", "delivered"), ("endpoint_id", "ep_a"), ("tenant_id", "t1")}))
    assert scrape(m)[key] == 0
    assert scrape(m)[key] == 1
    m.attempt("t1", "ep_a", "delivered", 0.01, 200, None)
    assert scrape(m)[key] == 2  # shown already: counts at once


def test_an_idle_endpoints_series_is_dropped_once_its_last_value_was_shown() -> None:
    m = Metrics()
    m.attempt("t1", "ep_a", "retry", 0.01, 503, None)
    m.dead_letter("t1", "ep_a")
    m.flush()
    # Counted, never shown: dropping now would lose it, so it stays until a scrape.
    assert m.forget_endpoints(["ep_a"]) == 0
    assert len(m.attempts) == len(m.dead_letters) == 1
    scrape(m)  # shows 0 (the counts were held): still not their last value
    assert len(m.attempts) == 1
    got = scrape(m)  # shows 1, then drops them (the sweep asked)
    assert sorted(v for v in got.values()) == [1.0, 1.0]
    assert len(m.attempts) == len(m.dead_letters) == 0
    assert scrape(m) == {}
    assert m.endpoint_series.count == 0 and m.endpoint_series.by_endpoint == {}


def test_a_series_counted_after_the_sweep_asked_is_kept() -> None:
    m = Metrics()
    m.attempt("t1", "ep_a", "delivered", 0.01, 200, None)
    scrape(m), scrape(m)
    m.forget_endpoints(["ep_b"])  # another endpoint: nothing of ep_a goes
    assert len(m.attempts) == 1
    m.attempt("t1", "ep_a", "delivered", 0.01, 200, None)
    m.flush()
    assert m.forget_endpoints(["ep_a"]) == 0  # its 2 not shown yet
    m.attempt("t1", "ep_a", "delivered", 0.01, 200, None)  # used again meanwhile
    got = scrape(m)
    assert list(got.values()) == [3.0] and len(m.attempts) == 0  # shown: dropped now


def test_the_cap_sends_further_endpoints_to_other() -> None:
    m = Metrics(endpoint_series=3)
    for i in range(10):
        m.attempt("t1", f"ep_{i}", "delivered", 0.01, 200, None)
        m.attempt("t2", f"ep_{i}", "retry", 0.01, 503, None)
    scrape(m)
    got = scrape(m)
    per_endpoint = {dict(labels)["endpoint_id"] for _, labels in got}
    assert len(per_endpoint - {OTHER_ENDPOINTS}) == 2  # 3 series: ep_0 twice, ep_1 once
    assert m.endpoint_series.count == 3
    assert sum(got.values()) == 20  # nothing lost: the rest in "_other"
    other = {dict(labels)["tenant_id"]: v for (_, labels), v in got.items()
             if dict(labels)["endpoint_id"] == OTHER_ENDPOINTS}
    assert other == {"t1": 8.0, "t2": 9.0}
    # Dropped endpoints make room again.
    m.forget_endpoints(["ep_0", "ep_1"])
    assert m.endpoint_series.count == 0
    m.attempt("t1", "ep_9", "delivered", 0.01, 200, None)
    m.flush()
    assert m.endpoint_series.count == 1


def test_a_cap_of_zero_counts_every_endpoint_in_other() -> None:
    m = Metrics(endpoint_series=0)
    m.attempt("t1", "ep_a", "delivered", 0.01, 200, None)
    m.dead_letter("t1", "ep_a")
    scrape(m)
    assert {dict(labels)["endpoint_id"] for _, labels in scrape(m)} == {OTHER_ENDPOINTS}


def test_rate_misses_nothing_while_series_come_and_go() -> None:
    """Counts, sweeps and scrapes in any order: what Prometheus adds up over the run is
    every attempt counted, per tenant and outcome, while series never exceed the cap."""
    rnd = random.Random(25)
    for cap in (0, 5, 40, 1000):
        m = Metrics(endpoint_series=cap)
        prom = Prometheus()
        counted: dict[tuple[str, str], int] = {}
        dead = 0
        prom.scrape(m)
        for _ in range(3000):
            r = rnd.random()
            ep = f"ep_{rnd.randrange(60)}"
            if r < 0.6:
                tenant, outcome = f"t{rnd.randrange(3)}", rnd.choice(["delivered", "retry"])
                m.attempt(tenant, ep, outcome, 0.01, 200, None)
                counted[(tenant, outcome)] = counted.get((tenant, outcome), 0) + 1
            elif r < 0.65:
                m.dead_letter("t0", ep)
                dead += 1
            elif r < 0.75:
                m.flush()
            elif r < 0.9:
                m.forget_endpoints(rnd.sample([f"ep_{i}" for i in range(60)], 10))
            else:
                prom.scrape(m)
            assert m.endpoint_series.count <= cap
            assert len(m.attempts) + len(m.dead_letters) <= cap + 3 * 2 + 1
        prom.scrape(m), prom.scrape(m)
        for (tenant, outcome), n in counted.items():
            assert prom.total("hookseal_attempts_total", tenant_id=tenant, outcome=outcome) == n
        assert prom.total("hookseal_dead_letters_total") == dead

