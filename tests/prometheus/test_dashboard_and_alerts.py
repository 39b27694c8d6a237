"""Every dashboard query and every alert of the chart, run by a real Prometheus against real producer and consumer
processes on loopback.

One scenario per module: Prometheus (Debian's binary, 1 s scrapes and rule evaluations, the chart's PrometheusRule
loaded as its rules file) scrapes the producer, the consumer and kube-state-metrics' container-status series. The
producer runs in a memory cgroup whose limit sits just above its RSS, so the limit it reports is real. The scenario
then walks the lab's lessons, each until the alert that belongs to it is active:

  bounded queue, slowed consumer, 8 senders on 1 slot  -> rejections, 429s, 503s  (ItemsRejected, ConsumerSaturated)
  RSS / cgroup limit > 0.8                              -> (ProducerMemoryNearLimit)
  rate_limited, then block                              -> rate-limit waits, queue-full waits
  unbounded queue outpacing the consumer                -> (QueueGrowing)
  the producer's Pod status says OOMKilled, restart 1   -> (ProducerOOMKilled)

and finally every dashboard query runs as Grafana runs it (a range query over the scenario) and must return data.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.prometheus.conftest import NAMESPACE
from tests.prometheus.prometheus import (
    KubeStateMetricsStandIn,
    MemoryCgroup,
    Prometheus,
    PrometheusError,
    ScrapeTarget,
    grafana_expr,
    has_data,
    memory_cgroup,
    oom_killed,
    pod_object,
    prometheus_config,
    writable_memory_parent,
)
from tests.services.lab import Lab, running_lab, settings_env
from tests.tiers import require, unavailable
from tests.waiting import poll
from tools.dashboard import all_queries

pytestmark = [pytest.mark.services, pytest.mark.timeout(240)]

ALERT_TIMEOUT = 40.0
# RSS over limit at the start: above the alert's 0.8, far from the kernel's OOM kill (moving a process into a cgroup
# does not move its memory charge, so the cgroup itself holds only what the producer allocates afterwards).
MEMORY_USED_OF_LIMIT = 0.9
PAGE = 4096
PRODUCER_POD = "lab-backpressure-lab-producer-7d9c6b5f4-x2x7q"
CONSUMER_POD = "lab-backpressure-lab-consumer-5b8f9d7c6-k4m2n"

START_SETTINGS = """
producer: {production_rate: 60, queue_mode: bounded, max_queue_size: 20, sender_concurrency: 8, payload_bytes: 1024,
           produce_overload_status: 429}
consumer: {processing_time_ms: 100, concurrency: 1}
"""


@dataclass
class AlertSeen:
    state: str | None
    """pending or firing once Prometheus' rule evaluation made it active; None if it never did."""
    result: list[dict[str, Any]]
    """The alert expression's instant result at that moment."""


@dataclass
class Scenario:
    prometheus: Prometheus
    started: float
    memory_limited: bool
    alerts: dict[str, AlertSeen] = field(default_factory=dict)
    active_before_oom: dict[str, str] = field(default_factory=dict)


def read_rss(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


def wait_for_data(prometheus: Prometheus, expr: str, timeout: float = 20.0) -> bool:
    return poll(lambda: prometheus.query(expr), timeout=timeout, interval=0.5, until=has_data).done


def observe(prometheus: Prometheus, rule: dict[str, Any], timeout: float = ALERT_TIMEOUT) -> AlertSeen:
    """Wait until Prometheus has the alert active and its expression returns data."""

    def look() -> AlertSeen:
        return AlertSeen(prometheus.active_alerts().get(rule["alert"]), prometheus.query(rule["expr"]))

    polled = poll(
        look, timeout=timeout, interval=0.5, until=lambda seen: seen.state is not None and has_data(seen.result)
    )
    assert polled.last is not None  # every look returns (an error ends the wait)
    return polled.last


def limit_producer_memory(cgroup: MemoryCgroup, pid: int) -> None:
    cgroup.add(pid)
    limit = int(read_rss(pid) / MEMORY_USED_OF_LIMIT) // PAGE * PAGE + PAGE
    cgroup.set_limit(limit)


@pytest.fixture(scope="module")
def scenario(
    prometheus_binary: Path,
    rules_file: Path,
    rule_groups: list[dict[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Scenario]:
    require(sys.platform == "linux", "the scenario reads /proc and cgroups: Linux only")
    workdir = tmp_path_factory.mktemp("prometheus")
    rules = {rule["alert"]: rule for group in rule_groups for rule in group["rules"]}
    pods = [pod_object(NAMESPACE, PRODUCER_POD, "producer"), pod_object(NAMESPACE, CONSUMER_POD, "consumer")]
    settings = settings_env(workdir, START_SETTINGS)
    parent = writable_memory_parent()
    # Without a writable memory cgroup (not root) the memory-limit queries and alert are reported unavailable.
    limited: AbstractContextManager[MemoryCgroup | None] = memory_cgroup(*parent) if parent else nullcontext()
    with (
        limited as cgroup,
        running_lab(workdir, producer_env=settings, consumer_env=settings) as lab,
        KubeStateMetricsStandIn(pods) as ksm,
    ):
        if cgroup is not None:
            limit_producer_memory(cgroup, lab.producer.process.pid)
        prometheus = Prometheus(prometheus_binary, workdir)
        try:
            prometheus.start(prometheus_config(
                {
                    "backpressure-lab": [
                        ScrapeTarget(f"127.0.0.1:{lab.producer.port}",
                                     {"namespace": NAMESPACE, "pod": PRODUCER_POD, "container": "producer"}),
                        ScrapeTarget(f"127.0.0.1:{lab.consumer.port}",
                                     {"namespace": NAMESPACE, "pod": CONSUMER_POD, "container": "consumer"}),
                    ],
                    "kube-state-metrics": [ScrapeTarget(ksm.address)],
                },
                [rules_file],
            ))  # fmt: skip
            run = Scenario(prometheus, time.time(), memory_limited=cgroup is not None)
            drive(run, lab, ksm, pods[0], rules)
            yield run
        finally:
            prometheus.stop()


def drive(
    run: Scenario, lab: Lab, ksm: KubeStateMetricsStandIn, producer_pod: dict[str, Any], rules: dict[str, Any]
) -> None:
    prometheus = run.prometheus
    # Every target scraped once (up == 1 for each): the producer, the consumer and kube-state-metrics.
    assert wait_for_data(prometheus, "count(up == 1) == 3"), prometheus.api("targets")

    # A bounded queue in front of a slowed consumer that takes one item at a time while eight senders push.
    lab.consumer.admin("/admin/slow-down", {"factor": 2})
    assert lab.producer.post("/produce", {"count": 50}).status == 429
    for alert in ("BackpressureItemsRejected", "BackpressureConsumerSaturated"):
        run.alerts[alert] = observe(prometheus, rules[alert])
    if run.memory_limited:
        run.alerts["BackpressureProducerMemoryNearLimit"] = observe(
            prometheus, rules["BackpressureProducerMemoryNearLimit"]
        )

    lab.producer.admin("/admin/config", {"queue_mode": "rate_limited", "rate_limit": 5})
    assert wait_for_data(prometheus, "backpressure_rate_limit_delays_total > 0")
    lab.producer.admin("/admin/config", {"queue_mode": "block", "max_queue_size": 5})
    assert wait_for_data(prometheus, "backpressure_queue_full_wait_seconds_total > 0")

    lab.producer.admin("/admin/config", {"queue_mode": "unbounded", "production_rate": 100})
    run.alerts["BackpressureQueueGrowing"] = observe(prometheus, rules["BackpressureQueueGrowing"])

    run.active_before_oom = prometheus.active_alerts()
    with ksm.lock:
        oom_killed(producer_pod)
    run.alerts["BackpressureProducerOOMKilled"] = observe(prometheus, rules["BackpressureProducerOOMKilled"])
    assert wait_for_data(prometheus, 'kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}')


# --- the tests ------------------------------------------------------------------------------------------------------


def test_promtool_accepts_the_rules_file(promtool: Path, rules_file: Path) -> None:
    result = subprocess.run([str(promtool), "check", "rules", str(rules_file)], capture_output=True, text=True,
                            timeout=30, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 5 rules found" in result.stdout


def test_an_invalid_query_is_reported_as_invalid(scenario: Scenario) -> None:
    """The control for the checks below: a query that does not parse is an error, not an empty result."""
    with pytest.raises(PrometheusError, match="bad_data"):
        scenario.prometheus.query("sum(rate(backpressure_items_produced_total[1m])")


@pytest.mark.parametrize(
    ("alert", "scenario_step"),
    [
        ("BackpressureItemsRejected", "bounded queue full"),
        ("BackpressureConsumerSaturated", "8 senders on a consumer with concurrency 1"),
        ("BackpressureProducerMemoryNearLimit", "RSS at 90% of the producer's cgroup limit"),
        ("BackpressureQueueGrowing", "unbounded queue, production 100/s over a slowed consumer"),
        ("BackpressureProducerOOMKilled", "Pod status: lastState.terminated.reason=OOMKilled, restartCount 1"),
    ],
)
def test_alert_becomes_active_under_its_scenario(scenario: Scenario, alert: str, scenario_step: str) -> None:
    if alert == "BackpressureProducerMemoryNearLimit" and not scenario.memory_limited:
        unavailable("no writable memory cgroup for the producer (run as root on Linux)")
    seen = scenario.alerts[alert]
    assert has_data(seen.result), f"{alert} ({scenario_step}): expression returned no data"
    assert seen.state in {"pending", "firing"}, f"{alert} ({scenario_step}) never became active"
    for series in seen.result:
        assert series["metric"].get("namespace") == NAMESPACE, series


def test_oom_alert_was_quiet_until_the_oom_kill(scenario: Scenario) -> None:
    assert "BackpressureProducerOOMKilled" not in scenario.active_before_oom


@pytest.mark.parametrize(("panel", "expr"), all_queries(), ids=[f"{t}: {e[:60]}" for t, e in all_queries()])
def test_dashboard_query_returns_data(scenario: Scenario, panel: str, expr: str) -> None:
    if "memory_limit_bytes" in expr and not scenario.memory_limited:
        unavailable("no writable memory cgroup for the producer (run as root on Linux)")
    # On a loaded machine a scrape can lag the scenario's last step: give the newest series a few scrapes to arrive.
    result = poll(
        lambda: scenario.prometheus.query_range(grafana_expr(expr), scenario.started, time.time()),
        timeout=15,
        interval=1,
        until=has_data,
    ).last
    assert result is not None
    assert has_data(result), f"panel {panel!r}: no data for {expr}"
