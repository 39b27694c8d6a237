"""The real monitoring stack on the real node: kube-prometheus-stack (prometheus-operator, Prometheus,
kube-state-metrics, all built here from their pinned Go modules) as `make up CLUSTER=node` installs it, asked over
Prometheus' HTTP API on its NodePort after the e2e run (package fixture `e2e`) walked the lessons: exercises 4 and 14
checked, 15 solved and reset, the producer OOM-killed (exercise 3) and the baseline applied again.

Nothing here is a stand-in: the targets are the ones prometheus-operator made of the chart's ServiceMonitors, the rules
the ones it loaded from the chart's PrometheusRule, the OOM kill the one the kernel made and kube-state-metrics read
from the Pod's status.
"""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.chart.helm import Helm, prometheus_rule_groups
from tests.controlplane.cluster import read_versions
from tests.node.conftest import FIGURES, NODE_IP, E2eRun
from tests.node.test_e2e import node_kubectl
from tests.prometheus.prometheus import RemotePrometheus, grafana_expr, has_data, numbers
from tests.tool_cache import cached_binary, require_helm
from tests.waiting import poll
from tools.dashboard import all_queries

pytestmark = [pytest.mark.node, pytest.mark.timeout(600)]

PROMETHEUS = RemotePrometheus(f"http://{NODE_IP}:30909")  # deploy/kube-prometheus-stack.yaml's NodePort
NAMESPACE = "backpressure-lab"
OOM_ALERT = "BackpressureProducerOOMKilled"
# From the kernel's kill to the alert firing: the kubelet restarts the container after its 10 s back-off, and
# kube-state-metrics is scraped and the rules evaluated every 5 s (deploy/kube-prometheus-stack.yaml), so about 20 s;
# 90 s holds on a loaded 2-core machine.
OOM_ALERT_WITHIN_SECONDS = 90.0
RANGE_STEP_SECONDS = 5.0


def timestamp(text: str) -> float:
    """An RFC 3339 time as Kubernetes and Prometheus write it (Prometheus with nanoseconds), as a Unix time."""
    whole, _, fraction = text.removesuffix("Z").partition(".")
    parsed = datetime.datetime.fromisoformat(whole).replace(tzinfo=datetime.UTC)
    return parsed.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)


def lab_targets() -> dict[str, dict[str, Any]]:
    """container -> the active target prometheus-operator made of the chart's ServiceMonitor for it."""
    targets = PROMETHEUS.api("targets", state="active")["activeTargets"]
    return {
        target["labels"]["container"]: target
        for target in targets
        if target["scrapePool"].startswith(f"serviceMonitor/{NAMESPACE}/")
    }


@pytest.fixture(scope="module")
def rule_groups(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return prometheus_rule_groups(Helm(require_helm(), tmp_path_factory.mktemp("helm-home")), NAMESPACE)


def test_the_labs_service_monitors_are_targets_that_are_up_with_the_labels_the_dashboard_uses(e2e: E2eRun) -> None:
    targets = poll(lab_targets, timeout=60, interval=2,
                   until=lambda found: {"producer", "consumer"} <= set(found)).last  # fmt: skip
    assert targets is not None
    assert {"producer", "consumer"} <= set(targets), PROMETHEUS.api("targets")
    for container in ("producer", "consumer"):
        target = targets[container]
        assert target["health"] == "up", target
        assert target["scrapePool"] == f"serviceMonitor/{NAMESPACE}/backpressure-lab-{container}/0", target
        assert target["labels"]["namespace"] == NAMESPACE, target
        assert target["labels"]["pod"].startswith(f"backpressure-lab-{container}-"), target
        # honorLabels: the services' own `service` label, which every dashboard query and alert selects on, is kept
        series = PROMETHEUS.query(
            f'count({{__name__=~"backpressure_.+",service="{container}",namespace="{NAMESPACE}"}})'
        )
        assert numbers(series), series
        assert numbers(series)[0] > 10, series


def test_the_charts_prometheus_rule_is_loaded(e2e: E2eRun, rule_groups: list[dict[str, Any]]) -> None:
    loaded = {group["name"]: group for group in PROMETHEUS.api("rules")["groups"]}
    for group in rule_groups:
        assert group["name"] in loaded, sorted(loaded)
        assert [rule["name"] for rule in loaded[group["name"]]["rules"]] == [rule["alert"] for rule in group["rules"]]
        assert {rule["health"] for rule in loaded[group["name"]]["rules"]} == {"ok"}, loaded[group["name"]]


def producer_oom_kill() -> tuple[str, float]:
    """The producer pod the e2e run's OOM lesson killed, and when its container was killed (the Pod's status)."""
    pods = json.loads(node_kubectl("-n", NAMESPACE, "get", "pods", "-l", "app.kubernetes.io/component=producer",
                                   "-o", "json").stdout)["items"]  # fmt: skip
    for pod in pods:
        for status in pod["status"].get("containerStatuses", []):
            terminated = status.get("lastState", {}).get("terminated", {})
            if terminated.get("reason") == "OOMKilled":
                return pod["metadata"]["name"], timestamp(terminated["finishedAt"])
    pytest.fail(f"no producer pod with lastState.terminated.reason OOMKilled: {pods}", pytrace=False)


def test_kube_state_metrics_reports_the_oom_kill_and_the_restart(e2e: E2eRun) -> None:
    pod, _ = producer_oom_kill()
    selector = f'namespace="{NAMESPACE}",pod="{pod}",container="producer"'
    killed = PROMETHEUS.query(f'kube_pod_container_status_last_terminated_reason{{{selector},reason="OOMKilled"}} == 1')
    assert has_data(killed), f"no OOMKilled series for {pod}"
    assert {series["metric"]["job"] for series in killed} == {"kube-state-metrics"}, killed
    restarts = PROMETHEUS.query_range(f"kube_pod_container_status_restarts_total{{{selector}}}",
                                      e2e.started_at, time.time(), RANGE_STEP_SECONDS)  # fmt: skip
    counts = numbers(restarts)
    assert counts, f"no restart count for {pod}"
    assert max(counts) > min(counts), f"the restart count of {pod} never rose: {restarts}"


def test_the_oom_alert_fires_within_its_stated_time_of_the_kill(e2e: E2eRun) -> None:
    assert e2e.fact("Prometheus:") == f"{OOM_ALERT} firing"  # what `make e2e CLUSTER=node` waits for, too
    _, killed_at = producer_oom_kill()

    def oom_alert() -> dict[str, Any] | None:
        alerts = [alert for alert in PROMETHEUS.api("alerts")["alerts"] if alert["labels"]["alertname"] == OOM_ALERT]
        return alerts[0] if alerts else None

    # The alert is active from its first evaluation that saw the kill; waiting lets a slow run's alert arrive.
    waited = OOM_ALERT_WITHIN_SECONDS - (time.time() - killed_at)
    alert = poll(oom_alert, timeout=max(waited, 1.0), interval=2, until=lambda seen: seen is not None).last
    assert alert is not None, f"{OOM_ALERT} not active {time.time() - killed_at:.0f} s after the kill"
    assert alert["state"] == "firing", alert  # the rule has no `for:`: active is firing
    delay = timestamp(alert["activeAt"]) - killed_at
    FIGURES["OOM kill (the Pod's finishedAt) to BackpressureProducerOOMKilled active"] = f"{delay:.1f} s"
    assert -1.0 <= delay <= OOM_ALERT_WITHIN_SECONDS, f"{OOM_ALERT} active {delay:.1f} s after the kill"
    assert (alert["labels"]["namespace"], alert["labels"]["container"]) == (NAMESPACE, "producer"), alert


@pytest.mark.parametrize(("panel", "expr"), all_queries(), ids=[f"{t}: {e[:60]}" for t, e in all_queries()])
def test_every_dashboard_query_returns_data_from_the_nodes_prometheus(e2e: E2eRun, panel: str, expr: str) -> None:
    result = PROMETHEUS.query_range(grafana_expr(expr), e2e.started_at, time.time(), RANGE_STEP_SECONDS)
    assert has_data(result), f"panel {panel!r}: no data for {expr} over the e2e run"


def test_no_target_of_the_stack_is_down(e2e: E2eRun) -> None:
    """The Targets page a learner is sent to shows nothing DOWN: every ServiceMonitor the stack installs on this
    profile scrapes something that answers."""
    targets = PROMETHEUS.api("targets", state="active")["activeTargets"]
    down = [(target["scrapePool"], target["scrapeUrl"], target["lastError"]) for target in targets
            if target["health"] != "up"]  # fmt: skip
    assert targets
    assert not down, down


def test_the_stack_runs_the_builds_of_the_pinned_versions(e2e: E2eRun) -> None:
    """Each image runs the binary `make tools` built from versions.env's pin, version-stamped as upstream stamps it."""
    pins = read_versions()
    assert PROMETHEUS.api("status/buildinfo")["version"] == pins["PROMETHEUS_RELEASE"].removeprefix("v")
    operator = PROMETHEUS.query('prometheus_operator_build_info{namespace="monitoring"}')
    assert {series["metric"]["version"] for series in operator} == {
        pins["PROMETHEUS_OPERATOR_VERSION"].removeprefix("v")
    }, operator
    binary = cached_binary("kube-state-metrics", "KUBE_STATE_METRICS_VERSION")
    printed = subprocess.run([str(binary), "version"], capture_output=True, text=True, timeout=30, check=True)
    assert f"version {pins['KUBE_STATE_METRICS_VERSION']} " in printed.stdout + printed.stderr, printed


def test_the_readme_and_up_print_the_prometheus_url(e2e: E2eRun) -> None:
    assert re.search(rf"^ +Prometheus +http://{re.escape(NODE_IP)}:30909/", e2e.log, re.MULTILINE), e2e.tail()
    assert f"http://{NODE_IP}:30909" in (Path(__file__).resolve().parents[2] / "docs" / "node.md").read_text()
