"""``make bench``'s sender benchmark still runs: its enqueue, claim and fairness sections, at smoke
size on SQLite (the throughput section posts through httpx for tens of seconds, and every
part it drives is tested on its own), and its capacity and slow-endpoints sections at
``--quick`` size on PostgreSQL."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_sender.py"
RATIO = r"(\d+\.\d\d)x"


def _run(section: str) -> str:
    out = subprocess.run([sys.executable, str(BENCH), "--quick", "--no-postgres", "--only", section],
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("section, rows", [
    pytest.param("enqueue", [rf"\[sqlite\] enqueue, empty store: p50 [\d.]+ ms, p99 [\d.]+ ms .* p50 ratio {RATIO}",
                             rf"\[sqlite\] enqueue, 100,000 past deliveries: .* vs empty p50 {RATIO}",
                             rf"\[sqlite\] enqueue with an idempotency key: new key p50 [\d.]+ ms, .*"
                             rf"\(p50 {RATIO} a send without a key\); repeated key .* \({RATIO}\)"],
                 id="enqueue"),
    pytest.param("claims", [rf"\[sqlite\] claims .* 100,000 pending [\d,]+ rows/s \({RATIO}\); "
                            rf"10,000 pending \+ 100,000 past [\d,]+ rows/s \({RATIO}\)"],
                 id="claims"),
    pytest.param("fairness", [rf"\[sqlite\] fairness: fast endpoint p50 \d+ ms alone, \d+ ms beside "
                              rf"12 endpoints slower than their 2 s timeout; ratio {RATIO}"],
                 id="fairness"),
    pytest.param("filters", [rf"\[sqlite\] filters: enqueue to 100 endpoints with a 5-clause filter "
                             rf"each p50 [\d.]+ ms, without filters [\d.]+ ms: {RATIO} \(median"],
                 id="filters"),
])
def test_the_benchmark_section_prints_its_ratios(section: str, rows: list[str]) -> None:
    text = _run(section)
    for row in rows:
        found = re.search(row, text)
        assert found, f"no line matching {row!r} in:\n{text}"
        # A ratio of two measurements of the same kind: positive and finite, whatever the machine.
        assert all(0 < float(r) < 100 for r in found.groups())
    assert re.search(r"CPU time stolen by the host during the benchmarks: [\d.]+%", text)


@pytest.mark.postgres
@pytest.mark.slow
def test_the_capacity_section_prints_its_model() -> None:
    out = subprocess.run([sys.executable, str(BENCH), "--quick", "--only", "capacity"],
                         capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr
    for procs in (1, 2):
        assert re.search(rf"\[capacity\] {procs} worker process\(es\), [\d,]+ deliveries: "
                         r"[\d,]+/s measured; per delivery: sender \d+ us CPU, PostgreSQL \d+ us "
                         r"CPU and \d\.\d{3} transactions, receiver \d+ us CPU", out.stdout), \
            out.stdout
        assert re.search(rf"\[capacity\] {procs} process\(es\) on \d+ cores .* measured "
                         rf"[\d,]+/s; model [\d,]+/s \({RATIO}.*\), first model [\d,]+/s "
                         rf"\({RATIO}\)", out.stdout), out.stdout
        # Through the counting relay: bytes each way and round trips, both sides.
        found = re.search(rf"\[capacity\] traffic per delivery, {procs} process\(es\) \(relay\): "
                          r"PostgreSQL ([\d,]+) B sent, ([\d,]+) B received, (\d+\.\d{3}) round "
                          r"trips; receiver ([\d,]+) B sent, ([\d,]+) B received, (\d+\.\d{3}) "
                          r"round trips; the relay's own CPU \d+ us", out.stdout)
        assert found, out.stdout
        pg_up, pg_down, pg_trips, rx_up, rx_down, rx_trips = (
            float(g.replace(",", "")) for g in found.groups())
        # Every delivery posts its 1 KiB body once and gets its payload from a claim: more
        # than a KiB to the receiver and from PostgreSQL, about one HTTP round trip each.
        assert rx_up > 1024 and pg_down > 1024 and rx_down > 0 and pg_up > 0, out.stdout
        assert 0.8 < rx_trips < 1.2 and 0 < pg_trips < 5, out.stdout
    assert re.search(r"\[capacity\] model .* one PostgreSQL core carries \d+\.\d worker "
                     r"cores; the runs kept", out.stdout), out.stdout
    # One process behind the lagging receiver: slower than at full speed.
    found = re.search(r"\[capacity\] 1 process behind a receiver answering late, ([\d,]+)/s "
                      r"against ([\d,]+)/s: per delivery sender \d+ us \(\d+\.\d\dx full speed\)",
                      out.stdout)
    assert found, out.stdout
    slow, full = (float(g.replace(",", "")) for g in found.groups())
    assert slow < full, out.stdout


@pytest.mark.postgres
@pytest.mark.slow
def test_the_slow_endpoints_section_compares_with_none_slow() -> None:
    out = subprocess.run([sys.executable, str(BENCH), "--quick", "--only", "slow-endpoints"],
                         capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr
    slots = {}
    for what in ("1 % slow", "none slow"):
        found = re.search(rf"\[slow-endpoints\] 10,000 endpoints, {what}.*, 2 processes: [\d,]+ "
                          r"healthy deliveries/s over [\d,]+ .* attempts to the 1 % [\d.]+/s "
                          r"holding (\d+\.\d) slots on average; worker RSS [\d,]+ MiB at the mark, "
                          r"[\d,]+ MiB at the end \(peak [\d,]+ MiB\); ([\d,]+) endpoints sent to",
                          out.stdout)
        assert found, out.stdout
        slots[what] = float(found.group(1))
        # One event each for half the endpoints: every one of them was sent to.
        assert int(found.group(2).replace(",", "")) == 5_000, out.stdout
    # The slow endpoints' attempts hold a slot until their 1 s timeout; answered at once,
    # the same endpoints hold next to none.
    assert slots["1 % slow"] > 1.0 > slots["none slow"], out.stdout
    assert re.search(rf"with 1 % slow / none slow: {RATIO} \(median of 1 interleaved pairs",
                     out.stdout), out.stdout
    assert re.search(rf"a delivery to an endpoint not in the cache \(spread over 10,000\) / to "
                     rf"one of 64: workers' CPU {RATIO}, PostgreSQL's {RATIO}", out.stdout), out.stdout
    found = re.search(r"endpoint cache entry ([\d,]+) B, breaker ([\d,]+) B", out.stdout)
    assert found and all(int(g.replace(",", "")) > 100 for g in found.groups()), out.stdout
    # The sweep drops the metrics' endpoint series; the cap bounds them, where
    # prometheus-client's Counter kept one per endpoint.
    assert re.search(r"after the sweep dropped them, 0 endpoint series left", out.stdout), \
        out.stdout
    found = re.search(r"the sender's, cap 10,000: ([\d,]+) series.*prometheus-client's Counter "
                      r"\(as before, never dropped\): 10,000 series", out.stdout)
    assert found and int(found.group(1).replace(",", "")) <= 10_001, out.stdout
    # Claims with 1 % and 10 % of the breakers open, parked and (as before) listed.
    assert re.search(rf"their rows parked \(as now, no list sent\): none [\d.]+ ms, 100 open "
                     rf"[\d.]+ ms \({RATIO}\), 1,000 open [\d.]+ ms \({RATIO}\); the same "
                     rf"endpoints listed as left out", out.stdout), out.stdout
