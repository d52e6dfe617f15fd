"""The shipped alert rules and dashboard: promtool unit tests of each alert, and every query
checked against the metrics a real sender renders after real deliveries."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from hookseal_sender import Sender, ops
from hookseal_sender.cli import main
from hookseal_sender.errors import InvalidRequestError
from prometheus_client.parser import text_string_to_metric_families

from ._receiver import Receiver
from .conftest import wait_for
from .test_worker import final, send_one

#: Labels Prometheus itself adds to every scraped series.
TARGET_LABELS = {"instance", "job"}
#: Grafana's variables, as a dashboard query would see them.
GRAFANA_VARS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h",
                "$tenant": ".*"}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: .ci/run installs Debian's prometheus package")
        pytest.skip("promtool not installed (Debian package prometheus)")
    return found


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(ops.read(ops.RULES))
    return [rule for group in doc["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    return json.loads(ops.read(ops.DASHBOARD))  # type: ignore[no-any-return]


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, query) of every panel target, Grafana variables filled in."""
    out = []
    for panel in dashboard()["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for var, val in GRAFANA_VARS.items():
                expr = expr.replace(var, val)
            out.append((panel["title"], expr))
    return out


def all_queries() -> list[tuple[str, str]]:
    return [(r["alert"], r["expr"]) for r in rules()] + dashboard_queries()


# The series a real sender exports ------------------------------------------------------
@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sender.db'}"  # what is rendered does not depend on it


@pytest.fixture
def exported(sender: Sender, receiver: Receiver, worker: Any) -> str:
    """The exposition text of a sender after a delivered, a dead-lettered and a rejected
    delivery and a failed notice: every series the rules and dashboard read is there."""
    class Broken:
        def notify(self, notice: Any) -> None:
            raise RuntimeError("smtp down")

    sender.notifier = Broken()
    sender.create_endpoint("t1", receiver.route("/ok"), allow_local=True)
    sender.create_endpoint("t2", receiver.route("/down", statuses=[503]), allow_local=True,
                           retry_schedule=[0.05])
    sender.create_endpoint("t3", receiver.route("/bad", statuses=[400]), allow_local=True)
    worker()
    ids = [(t, send_one(sender, t)) for t in ("t1", "t2", "t3")]
    for tenant, did in ids:
        final(sender, did, tenant)
    wait_for(lambda: b'where="notify"} 1.0' in sender.metrics.render())
    return sender.metrics.render().decode()


def exported_names(text: str) -> tuple[set[str], set[str]]:
    """Sample names (with _bucket, _sum, _count, _total suffixes) and label names."""
    names: set[str] = set()
    labels = set(TARGET_LABELS)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            names.add(s.name)
            labels.update(s.labels)
    return names, labels


def used(expr: str) -> tuple[set[str], set[str]]:
    """Metric names and label names an expression reads."""
    names: set[str] = set()
    labels: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            labels.update(m.name for m in node.matchers.matchers)
        elif isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            labels.update(node.modifier.labels)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names, labels


def test_every_query_reads_only_what_the_sender_exports(exported: str) -> None:
    names, labels = exported_names(exported)
    assert {"hookseal_attempt_latency_seconds_bucket", "hookseal_attempts_total",
            "hookseal_endpoint_failing_since_seconds"} <= names
    queries = all_queries()
    assert len(queries) >= 20
    for where, expr in queries:
        read, by = used(expr)
        assert read, f"{where}: reads no metric: {expr}"
        assert read <= names, f"{where}: {sorted(read - names)} not exported: {expr}"
        assert by <= labels, f"{where}: labels {sorted(by - labels)} not exported: {expr}"
    variable = dashboard()["templating"]["list"][1]["query"]["query"]
    metric, label = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable).groups()  # type: ignore[union-attr]
    assert metric in names and label in labels


def test_the_name_check_catches_a_missing_metric_and_label(exported: str) -> None:
    names, labels = exported_names(exported)
    read, by = used('sum by (tenant) (rate(hookseal_attempt_total{outcome="retry"}[5m]))')
    assert read - names == {"hookseal_attempt_total"} and by - labels == {"tenant"}


def _series_from(text: str) -> list[dict[str, str]]:
    """promtool input series shaped like the exported ones: counters and histograms grow
    by their exported value every minute, gauges keep theirs."""
    out = []
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.endswith("_created"):
                continue
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            grows = family.type in ("counter", "histogram")
            values = f"0+{s.value:g}x90" if grows else f"{s.value:g}x90"
            out.append({"series": f"{s.name}{{{labels}}}", "values": values})
    return out


def run_promtool(tmp_path: Path, tests: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    rules_file = tmp_path / ops.RULES
    rules_file.write_text(ops.read(ops.RULES))
    spec = tmp_path / "tests.yml"
    spec.write_text(yaml.safe_dump({"rule_files": [str(rules_file)],
                                    "evaluation_interval": "1m", "tests": tests}))
    return subprocess.run([promtool(), "test", "rules", str(spec)], capture_output=True,
                          text=True, timeout=120, check=False)


def test_every_dashboard_query_returns_data_from_the_exported_series(
        exported: str, tmp_path: Path) -> None:
    # Each query must give at least one sample when Prometheus holds exactly the series a
    # sender exports: a wrong metric, label or label value would give none.
    queries = dashboard_queries()
    test = {"interval": "1m", "input_series": _series_from(exported),
            "promql_expr_test": [
                {"expr": f"clamp_max(count({expr}), 1)", "eval_time": "90m",
                 "exp_samples": [{"labels": "{}", "value": 1}]}
                for _, expr in queries]}
    done = run_promtool(tmp_path, [test])
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_data_check_catches_a_query_that_returns_nothing(
        exported: str, tmp_path: Path) -> None:
    test = {"interval": "1m", "input_series": _series_from(exported),
            "promql_expr_test": [{
                "expr": 'clamp_max(count(rate(hookseal_attempts_total{tenant_id="nobody"}[5m])), 1)',
                "eval_time": "90m", "exp_samples": [{"labels": "{}", "value": 1}]}]}
    assert run_promtool(tmp_path, [test]).returncode != 0


# The alerts, one promtool test each ---------------------------------------------------
def alert_test(name: str, interval: str, series: dict[str, str],
               expect: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """A promtool test: these series, and at each eval time exactly these alerts."""
    return {
        "interval": interval,
        "input_series": [{"series": s, "values": v} for s, v in series.items()],
        "alert_rule_test": [{"eval_time": at, "alertname": name, "exp_alerts": alerts}
                            for at, alerts in expect.items()],
    }


def annotations(name: str, **values: str) -> dict[str, str]:
    """The rule's annotations with its summary as rendered for these values."""
    rule = next(r for r in rules() if r["alert"] == name)
    got = dict(rule["annotations"])
    got["summary"] = values.pop("summary")
    got["description"] = values.pop("description", got["description"])
    return got


def firing(name: str, summary: str, **labels: str) -> dict[str, Any]:
    rule = next(r for r in rules() if r["alert"] == name)
    return {"exp_labels": {**rule["labels"], **labels},
            "exp_annotations": annotations(name, summary=summary)}


def test_rules_are_valid() -> None:
    path = Path(ops.__file__).parent / ops.RULES
    done = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0 and "SUCCESS: 5 rules found" in done.stdout, done.stdout


def test_queue_backing_up_needs_both_depth_and_growth(tmp_path: Path) -> None:
    name = "HooksealQueueBackingUp"
    # Two workers report the same queue. It passes 10,000 at 10 min and keeps growing:
    # firing 15 min after the condition first holds. A queue at 20,000 that does not grow
    # (the workers keep up) and a growing one below the threshold never fire.
    growing = alert_test(name, "1m", {
        'hookseal_queue_depth{instance="w1"}': "9000+100x60",
        'hookseal_queue_depth{instance="w2"}': "9000+100x60",
    }, {"20m": [], "40m": [firing(name, "Hookseal queue backing up: 13k deliveries pending")]})
    flat = alert_test(name, "1m", {'hookseal_queue_depth{instance="w1"}': "20000x60"},
                      {"40m": []})
    small = alert_test(name, "1m", {'hookseal_queue_depth{instance="w1"}': "10+100x60"},
                       {"40m": []})
    done = run_promtool(tmp_path, [growing, flat, small])
    assert done.returncode == 0, done.stdout + done.stderr


def test_endpoint_down_after_24_hours_once_per_endpoint(tmp_path: Path) -> None:
    name = "HooksealEndpointDown"
    ep = 'endpoint_id="ep_1",tenant_id="t1"'
    test = alert_test(name, "10m", {
        # failing since t=0, seen by two workers; another endpoint failing since 2 h.
        f'hookseal_endpoint_failing_since_seconds{{{ep},instance="w1"}}': "0x200",
        f'hookseal_endpoint_failing_since_seconds{{{ep},instance="w2"}}': "0x200",
        'hookseal_endpoint_failing_since_seconds{endpoint_id="ep_2",tenant_id="t1",'
        'instance="w1"}': "7200x200",
    }, {"23h": [],
        "25h": [firing(name, "Endpoint ep_1 of tenant t1 down for 1d 1h 0m 0s",
                       endpoint_id="ep_1", tenant_id="t1")]})
    done = run_promtool(tmp_path, [test])
    assert done.returncode == 0, done.stdout + done.stderr


def test_provider_failure_rate_above_5_percent(tmp_path: Path) -> None:
    name = "HooksealFailureRateHigh"
    ok = 'hookseal_attempts_total{outcome="delivered",endpoint_id="e1",tenant_id="t1"}'
    bad = 'hookseal_attempts_total{outcome="retry",endpoint_id="e2",tenant_id="t2"}'
    # 100 delivered a minute; 2 failed a minute (2 %) for 20 min, then 10 (9.1 %).
    rising = alert_test(name, "1m", {ok: "0+100x40", bad: "0+2x20 50+10x20"}, {
        "15m": [],
        "35m": [firing(name, "9.091% of all delivery attempts failed in the last 5 minutes")],
    })
    # Half of 2 attempts a minute fail: 10 attempts in 5 min are too few to page anyone.
    quiet = alert_test(name, "1m", {ok: "0+1x40", bad: "0+1x40"}, {"35m": []})
    done = run_promtool(tmp_path, [rising, quiet])
    assert done.returncode == 0, done.stdout + done.stderr


def test_one_tenant_failing_more_than_half_in_an_hour(tmp_path: Path) -> None:
    name = "HooksealTenantFailureRateHigh"

    def s(outcome: str, ep: str, tenant: str) -> str:
        return f'hookseal_attempts_total{{outcome="{outcome}",endpoint_id="{ep}",tenant_id="{tenant}"}}'

    test = alert_test(name, "1m", {
        s("delivered", "e1", "t1"): "0+10x90",   # t1 healthy
        s("retry", "e1", "t1"): "0+1x90",
        s("delivered", "e2", "t2"): "0+4x90",    # t2: 6 of 10 fail, over two endpoints
        s("retry", "e2", "t2"): "0+3x90",
        s("failed", "e3", "t2"): "0+3x90",
        s("retry", "e4", "t3"): "0+0.1x90",      # t3: all fail, but 6 attempts an hour
    }, {"3m": [],
        "70m": [firing(name, "Tenant t2: 60% of attempts failed in the last hour",
                       tenant_id="t2")]})
    done = run_promtool(tmp_path, [test])
    assert done.returncode == 0, done.stdout + done.stderr


def test_any_worker_exception_fires_for_five_minutes(tmp_path: Path) -> None:
    name = "HooksealWorkerException"
    test = alert_test(name, "1m", {
        'hookseal_worker_exceptions_total{where="claim",instance="w1"}': "0x10 1x20",
        'hookseal_worker_exceptions_total{where="attempt",instance="w1"}': "0x30",
    }, {"8m": [],
        "12m": [firing(name, 'A hookseal worker caught an unexpected exception (claim) on w1',
                       where="claim", instance="w1")],
        "25m": []})
    for alert in test["alert_rule_test"][1]["exp_alerts"]:
        alert["exp_annotations"]["description"] = (
            'A worker logged an unexpected exception while working on "claim". '
            "Its log has the traceback.")
    done = run_promtool(tmp_path, [test])
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_wrong_expectation_fails_promtool(tmp_path: Path) -> None:
    # The harness itself: promtool must fail when the alert does not fire as claimed.
    name = "HooksealWorkerException"
    test = alert_test(name, "1m", {
        'hookseal_worker_exceptions_total{where="claim",instance="w1"}': "0x30",
    }, {"12m": [firing(name, "x", where="claim", instance="w1")]})
    assert run_promtool(tmp_path, [test]).returncode != 0


# The dashboard as a file ---------------------------------------------------------------
def test_dashboard_is_an_importable_grafana_dashboard() -> None:
    dash = dashboard()
    assert dash["uid"] and dash["title"] and dash["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    panels = dash["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    titles = {p["title"] for p in panels}
    for wanted in ("Success rate by tenant", "p95 latency by tenant", "Failure breakdown",
                   "Queue depth", "Deliveries per minute", "Retry rate",
                   "Dead letters per minute", "Slowest tenants (p95, 1 h)",
                   "Top failure reasons (1 h)"):
        assert wanted in titles
    for p in panels:
        pos = p["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, p["title"]
        if p["type"] == "row":
            continue
        assert p["datasource"]["uid"] == "${datasource}"
        refs = [t["refId"] for t in p["targets"]]
        assert p["targets"] and len(set(refs)) == len(refs), p["title"]


def _overlaps(panels: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    boxes = [(p["title"], p["gridPos"]) for p in panels]
    for i, (a, pa) in enumerate(boxes):
        for b, pb in boxes[i + 1:]:
            if (pa["x"] < pb["x"] + pb["w"] and pb["x"] < pa["x"] + pa["w"]
                    and pa["y"] < pb["y"] + pb["h"] and pb["y"] < pa["y"] + pa["h"]):
                yield a, b


def test_dashboard_panels_do_not_overlap() -> None:
    assert list(_overlaps(dashboard()["panels"])) == []


# Getting them out -----------------------------------------------------------------------
def test_ops_files_writes_the_shipped_files(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ops-files", "--out", str(tmp_path / "monitoring")]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(tmp_path / "monitoring" / name) for name in ops.FILES]
    for name in ops.FILES:
        assert (tmp_path / "monitoring" / name).read_text() == ops.read(name)


def test_reading_an_unknown_file_is_a_typed_error() -> None:
    with pytest.raises(InvalidRequestError) as info:
        ops.read("../metrics.py")
    assert info.value.code == "invalid_request"


# The docs page that explains them --------------------------------------------------------
DOCS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def test_every_alert_links_to_its_section_of_the_operations_page() -> None:
    page = DOCS_PAGE.read_text()
    for rule in rules():
        url = rule["annotations"]["runbook_url"]
        assert url.startswith("https://hookseal.dev/operations/#"), url
        anchor = url.rsplit("#", 1)[1]
        assert f"### {rule['alert']} {{#{anchor}}}" in page, rule["alert"]


def test_endpoint_down_states_the_real_disable_delay() -> None:
    from hookseal_sender.config import BreakerPolicy

    days = BreakerPolicy().disable_after / 86400
    rule = next(r for r in rules() if r["alert"] == "HooksealEndpointDown")
    assert f"({days:g} days by default)" in rule["annotations"]["description"]


def test_the_prometheus_config_on_the_page_is_valid(tmp_path: Path) -> None:
    block = DOCS_PAGE.read_text().split('```yaml title="prometheus.yml"\n', 1)[1].split("```", 1)[0]
    written = ops.export(tmp_path / "hookseal")
    config = tmp_path / "prometheus.yml"
    config.write_text(block.replace("/etc/prometheus/hookseal/hookseal-alerts.yml", str(written[0])))
    assert str(written[0]) in config.read_text()
    done = subprocess.run([promtool(), "check", "config", str(config)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0 and "SUCCESS" in done.stdout + done.stderr, done.stdout + done.stderr
