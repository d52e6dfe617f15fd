"""Metrics: what one attempt counts, worker exceptions, failing endpoints read at scrape time."""

from __future__ import annotations

import time
from typing import Any

from hookseal_sender import Sender
from hookseal_sender.metrics import EXCEPTION_SITES, Metrics
from prometheus_client.parser import text_string_to_metric_families

from ._receiver import Receiver
from .conftest import wait_for
from .test_worker import final, send_one


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every rendered sample: (name, labels) -> value."""
    out = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return samples(metrics).get((name, frozenset(labels.items())))


def test_attempt_counts_outcome_latency_and_failure_reason() -> None:
    m = Metrics()
    m.attempt("t1", "ep_a", "delivered", 0.02, 200, None)
    m.attempt("t1", "ep_a", "retry", 0.3, 503, None)
    m.attempt("t1", "ep_b", "retry", 10.0, None, "timeout")
    m.attempt("t2", "ep_c", "failed", 0.004, 400, None)
    m.attempt("t2", "ep_c", "retry", 0.004, 503, None)
    # A new endpoint series is shown at 0 by the first scrape, with its counts after it.
    assert value(m, "hookseal_attempts_total", outcome="delivered", endpoint_id="ep_a",
                 tenant_id="t1") == 0
    assert value(m, "hookseal_attempts_total", outcome="delivered", endpoint_id="ep_a",
                 tenant_id="t1") == 1
    assert value(m, "hookseal_attempts_total", outcome="retry", endpoint_id="ep_b",
                 tenant_id="t1") == 1
    failures = {(dict(labels)["tenant_id"], dict(labels)["reason"], v)
                for (name, labels), v in samples(m).items()
                if name == "hookseal_attempt_failures_total"}
    # A delivered attempt is no failure; a response is named by its status, else the error.
    assert failures == {("t1", "http_503", 1.0), ("t1", "timeout", 1.0),
                        ("t2", "http_400", 1.0), ("t2", "http_503", 1.0)}
    assert value(m, "hookseal_attempt_latency_seconds_count", tenant_id="t1") == 3
    assert value(m, "hookseal_attempt_latency_seconds_count", tenant_id="t2") == 2
    # 0.02 s is in the 0.025 bucket, 0.3 s and 10 s are not.
    assert value(m, "hookseal_attempt_latency_seconds_bucket", tenant_id="t1", le="0.025") == 1
    assert value(m, "hookseal_attempt_latency_seconds_bucket", tenant_id="t1", le="10.0") == 3


def test_every_exception_site_is_rendered_at_zero_before_the_first() -> None:
    m = Metrics()
    for site in EXCEPTION_SITES:
        assert value(m, "hookseal_worker_exceptions_total", where=site) == 0
    m.exception("claim")
    m.exception("claim")
    assert value(m, "hookseal_worker_exceptions_total", where="claim") == 2
    assert value(m, "hookseal_worker_exceptions_total", where="notify") == 0


def test_failing_endpoints_are_read_at_each_scrape() -> None:
    failing: list[tuple[str, str, float]] = [("ep_a", "t1", 1000.0)]
    m = Metrics(failing_endpoints=lambda: list(failing))
    assert value(m, "hookseal_endpoint_failing_since_seconds", endpoint_id="ep_a",
                 tenant_id="t1") == 1000.0
    failing[:] = [("ep_b", "t2", 2000.0)]
    got = {k: v for k, v in samples(m).items()
           if k[0] == "hookseal_endpoint_failing_since_seconds"}
    assert got == {("hookseal_endpoint_failing_since_seconds",
                    frozenset({("endpoint_id", "ep_b"), ("tenant_id", "t2")})): 2000.0}
    # Without a reader the metric is not rendered at all (no empty family to mislead).
    assert "hookseal_endpoint_failing_since_seconds" not in Metrics().render().decode()


def test_a_worker_fills_every_metric_the_alerts_read(sender: Sender, receiver: Receiver,
                                                    worker: Any) -> None:
    class Broken:
        def notify(self, notice: Any) -> None:
            raise RuntimeError("smtp down")

    sender.notifier = Broken()
    ok = sender.create_endpoint("t1", receiver.route("/ok"), allow_local=True).endpoint.id
    down = sender.create_endpoint("t2", receiver.route("/down", statuses=[503]),
                                  allow_local=True, retry_schedule=[0.05, 0.05]).endpoint.id
    worker()
    before = time.time()
    delivered = send_one(sender, "t1")
    dead = send_one(sender, "t2")
    assert final(sender, delivered).status == "delivered"
    assert final(sender, dead, "t2").status == "dead_lettered"
    m = sender.metrics
    m.render()  # shows the new endpoint series at 0; the next scrape, their counts
    assert value(m, "hookseal_attempts_total", outcome="delivered", endpoint_id=ok,
                 tenant_id="t1") == 1
    assert value(m, "hookseal_attempts_total", outcome="retry", endpoint_id=down,
                 tenant_id="t2") == 3
    assert value(m, "hookseal_attempt_failures_total", tenant_id="t2", reason="http_503") == 3
    assert value(m, "hookseal_attempt_failures_total", tenant_id="t1", reason="http_503") is None
    assert value(m, "hookseal_attempt_latency_seconds_count", tenant_id="t2") == 3
    # Recorded after the write-back, with the notice that fails: wait for both.
    wait_for(lambda: value(m, "hookseal_worker_exceptions_total", where="notify") == 1)
    assert value(m, "hookseal_dead_letters_total", endpoint_id=down, tenant_id="t2") == 1
    failing = {dict(labels)["endpoint_id"]: v for (name, labels), v in samples(m).items()
               if name == "hookseal_endpoint_failing_since_seconds"}
    assert list(failing) == [down]
    assert before <= failing[down] <= time.time()
    # A paused endpoint is not "down": the alert would only nag about a deliberate pause.
    sender.pause_endpoint("t2", down)
    assert not any(name == "hookseal_endpoint_failing_since_seconds"
                   for name, _ in samples(m))


def test_a_flush_renders_what_counting_one_at_a_time_did() -> None:
    # The reference: prometheus-client's own metrics, one inc/observe per attempt, as
    # Metrics.attempt did before it queued them.
    from prometheus_client import CollectorRegistry, Counter, Histogram

    ref = CollectorRegistry()
    attempts = Counter("hookseal_attempts", "", ["outcome", "endpoint_id", "tenant_id"],
                       registry=ref)
    failures = Counter("hookseal_attempt_failures", "", ["tenant_id", "reason"], registry=ref)
    latency = Histogram("hookseal_attempt_latency_seconds", "", ["tenant_id"], registry=ref,
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
    m = Metrics()
    # Values on bucket bounds too (a bound is "less than or equal"), and past the last.
    cases = [("t1", "ep_a", "delivered", 0.005, 200, None), ("t1", "ep_a", "delivered", 0.0051, 200, None),
             ("t1", "ep_a", "retry", 0.25, 503, None), ("t2", "ep_b", "retry", 31.0, None, "timeout"),
             ("t2", "ep_b", "failed", 1.0, 400, None), ("t1", "ep_c", "gone", 0.0, 410, None),
             ("t2", "ep_b", "retry", 10.0, None, None)] * 3
    for i, (tenant, ep, outcome, lat, status, error) in enumerate(cases):
        m.attempt(tenant, ep, outcome, lat, status, error)
        attempts.labels(outcome, ep, tenant).inc()
        latency.labels(tenant).observe(lat)
        if outcome != "delivered":
            reason = error if status is None else f"http_{status}"
            failures.labels(tenant, reason or "unknown").inc()
        if i % 5 == 4:
            m.flush()  # in several batches, as write-backs flush them

    def rendered(families: Any) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        return {(s.name, frozenset(s.labels.items())): s.value for f in families
                for s in f.samples if not s.name.endswith("_created")}

    m.render()  # the endpoint series' first scrape shows them at 0
    mine = {k: v for k, v in samples(m).items()
            if k[0].startswith(("hookseal_attempt", "hookseal_attempts")) and not k[0].endswith("_created")}
    assert mine == rendered(ref.collect())
    assert value(m, "hookseal_attempt_latency_seconds_bucket", tenant_id="t1", le="0.005") == 6


def test_flushes_on_two_threads_count_each_attempt_once() -> None:
    import threading

    m = Metrics()
    n = 20_000

    def count() -> None:
        for _ in range(n):
            m.attempt("t1", "ep_a", "delivered", 0.001, 200, None)

    writer = threading.Thread(target=count)
    flushers = [threading.Thread(target=lambda: [m.flush() for _ in range(2000)])
                for _ in range(2)]
    for t in (writer, *flushers):
        t.start()
    for t in (writer, *flushers):
        t.join()
    m.render()  # the series' first scrape shows it at 0
    assert value(m, "hookseal_attempts_total", outcome="delivered", endpoint_id="ep_a",
                 tenant_id="t1") == n
    assert value(m, "hookseal_attempt_latency_seconds_count", tenant_id="t1") == n
