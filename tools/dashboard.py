"""Generates the Grafana dashboard "Backpressure Lab" (uid backpressure-lab) that the chart ships.

ROWS is the one table of panels and queries (titles, descriptions, PromQL, legends, units); Grafana's typed builders
(grafana-foundation-sdk, its Grafana 11.6 models, pinned in pyproject.toml's dev group) turn it into the JSON model.
Run `python tools/dashboard.py > charts/backpressure-lab/dashboards/backpressure-lab.json` (make chart-files);
tests/unit/test_chart_files.py fails when the committed file differs, and tests/prometheus/ runs every query here
against a real Prometheus scraping real processes.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

from grafana_foundation_sdk.builders import common, gauge, prometheus, stat, timeseries
from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dashboard_model
from grafana_foundation_sdk.models.common import LegendDisplayMode, LegendPlacement
from grafana_foundation_sdk.models.dashboard import (
    DashboardLinkType,
    DataSourceRef,
    Threshold,
    ThresholdsMode,
    VariableRefresh,
)

NS = 'namespace=~"$namespace"'
PRODUCER = f'service="producer",{NS}'
WORKLOADS = f'container=~"producer|consumer",{NS}'
CONSUMER = f'service="consumer",{NS}'
RATE = "$__rate_interval"
JAEGER_URL = "__JAEGER_URL__"  # replaced by the chart with .Values.dashboards.jaegerUrl


@dataclass
class Target:
    expr: str
    legend: str


@dataclass
class Limits:
    min: float
    max: float


@dataclass
class Panel:
    title: str
    description: str
    targets: list[Target]
    kind: str = "timeseries"
    unit: str = "short"
    width: int = 12
    height: int = 8
    limits: Limits | None = None
    # (value, color) steps from the base (None) up, absolute values.
    thresholds: list[tuple[float | None, str]] = field(default_factory=list)


def quantiles(metric: str, selector: str) -> list[Target]:
    return [
        Target(
            f"histogram_quantile({q}, sum by (le) (rate({metric}_bucket{{{selector}}}[{RATE}])))", f"p{int(q * 100)}"
        )
        for q in (0.5, 0.95, 0.99)
    ]


ROWS: list[tuple[str, list[Panel]]] = [
    (
        "The queue",
        [
            Panel(
                "Queue Depth",
                "Items waiting in the producer's queue, and the capacity in bounded and block modes.",
                [
                    Target(f"sum(backpressure_queue_depth{{{PRODUCER}}})", "queue depth"),
                    Target(f"max(backpressure_max_queue_size{{{PRODUCER}}})", "max queue size"),
                ],
            ),
            Panel(
                "Throughput",
                "Items per second produced (admitted), sent and processed. A gap between produced and "
                "processed is the queue's growth rate.",
                [
                    Target(f"sum(rate(backpressure_items_produced_total{{{PRODUCER}}}[{RATE}]))", "produced"),
                    Target(f"sum(rate(backpressure_items_sent_total{{{PRODUCER}}}[{RATE}]))", "sent"),
                    Target(f"sum(rate(backpressure_items_processed_total{{{CONSUMER}}}[{RATE}]))", "processed"),
                ],
                unit="reqps",
            ),
            Panel(
                "Rejected and Dropped",
                "Items refused at admission or evicted (rejected), and items given up after "
                "their retry budget (dropped), per second.",
                [
                    Target(f"sum(rate(backpressure_items_rejected_total{{{PRODUCER}}}[{RATE}]))", "rejected"),
                    Target(f"sum(rate(backpressure_items_dropped_total{{{PRODUCER}}}[{RATE}]))", "dropped"),
                ],
                unit="reqps",
            ),
            Panel(
                "Queue Wait (p50/p95/p99)",
                "Time from enqueue to dequeue, on the producer's monotonic clock.",
                quantiles("backpressure_queue_wait_seconds", PRODUCER),
                unit="s",
            ),
            Panel(
                "Goodput vs Throughput",
                "Items processed per second, those finished by their deadline (goodput: itemDeadlineMs), and those the "
                "consumer refused unprocessed because they could not make it (dropLateWork). Throughput can stay "
                "high while goodput collapses.",
                [
                    Target(f"sum(rate(backpressure_items_processed_total{{{CONSUMER}}}[{RATE}]))", "throughput"),
                    Target(
                        f"sum(rate(backpressure_items_processed_total{{{CONSUMER}}}[{RATE}])) - "
                        f"sum(rate(backpressure_items_late_total{{{CONSUMER}}}[{RATE}]))",
                        "goodput",
                    ),
                    Target(f"sum(rate(backpressure_items_expired_total{{{CONSUMER}}}[{RATE}]))", "refused as expired"),
                ],
                unit="reqps",
            ),
            Panel(
                "Retry Amplification",
                "Requests a consumer received for each item it accepted: 1 when nothing is retried. Retrying every "
                "refused send at once (retryBackoffMs 0, honourRetryAfter false) multiplies it; a retry budget "
                "(retryBudgetRatio) and client-side throttling (clientThrottleK) bring it back towards 1 and K.",
                [
                    Target(
                        f"sum(rate(backpressure_send_responses_total{{{PRODUCER}}}[{RATE}])) / "
                        f'sum(rate(backpressure_send_responses_total{{{PRODUCER},code="2xx"}}[{RATE}]))',
                        "producer: attempts sent per accepted item",
                    ),
                    Target(
                        f"(sum(rate(backpressure_items_processed_total{{{CONSUMER}}}[{RATE}])) + "
                        f"sum(rate(backpressure_overload_responses_total{{{CONSUMER}}}[{RATE}]))) / "
                        f"sum(rate(backpressure_items_processed_total{{{CONSUMER}}}[{RATE}]))",
                        "consumer: requests per item processed",
                    ),
                ],
            ),
            Panel(
                "Oldest Waiting Item",
                "How long the item that has waited longest has been queued. The wait percentiles are of the "
                "items served; with LIFO (dequeueOrder: lifo) they stay short under overload while this age grows: "
                "the oldest items starve.",
                [Target(f"max(backpressure_queue_oldest_wait_seconds{{{PRODUCER}}})", "oldest item's wait")],
                unit="s",
            ),
            Panel(
                "Little's Law: L vs λW",
                "Queue depth L against arrival rate λ times mean wait W. In a steady state "
                "they agree; while the queue grows, L runs ahead of λW (the wait is measured at dequeue).",
                [
                    Target(f"sum(backpressure_queue_depth{{{PRODUCER}}})", "L (queue depth)"),
                    Target(
                        f"sum(rate(backpressure_items_produced_total{{{PRODUCER}}}[1m])) * "
                        f"(sum(rate(backpressure_queue_wait_seconds_sum{{{PRODUCER}}}[1m])) / "
                        f"sum(rate(backpressure_queue_wait_seconds_count{{{PRODUCER}}}[1m])))",
                        "λW (arrival rate times wait)",
                    ),
                    Target(
                        f"sum(backpressure_littles_law_predicted_depth{{{PRODUCER}}})", "λW (producer, 30 s window)"
                    ),
                ],
            ),
            Panel(
                "Totals",
                "Items produced, sent, processed, rejected and dropped since the pods started.",
                [
                    Target(f"sum(backpressure_items_produced_total{{{PRODUCER}}})", "produced"),
                    Target(f"sum(backpressure_items_sent_total{{{PRODUCER}}})", "sent"),
                    Target(f"sum(backpressure_items_processed_total{{{CONSUMER}}})", "processed"),
                    Target(f"sum(backpressure_items_rejected_total{{{PRODUCER}}})", "rejected"),
                    Target(f"sum(backpressure_items_dropped_total{{{PRODUCER}}})", "dropped"),
                ],
                kind="stat",
            ),
        ],
    ),
    (
        "Memory and restarts",
        [
            Panel(
                "Memory Usage",
                "The producer's current RSS and the measured memory of its queued items.",
                [
                    Target(f"sum(backpressure_process_memory_bytes{{{PRODUCER}}})", "producer RSS"),
                    Target(f"sum(backpressure_queue_memory_bytes{{{PRODUCER}}})", "queue memory"),
                ],
                unit="bytes",
            ),
            Panel(
                "Memory vs Limit",
                "The producer's RSS against its cgroup memory limit: at the limit the kernel OOM-kills it.",
                [
                    Target(f"max(backpressure_process_memory_bytes{{{PRODUCER}}})", "RSS"),
                    Target(f"max(backpressure_memory_limit_bytes{{{PRODUCER}}})", "limit"),
                ],
                unit="bytes",
            ),
            Panel(
                "Time to Memory Limit",
                "Seconds until the producer reaches its limit at the current growth (∞ while memory is flat).",
                [
                    Target(f"min(backpressure_seconds_to_memory_limit{{{PRODUCER}}})", "time to limit"),
                ],
                kind="stat",
                unit="s",
                width=6,
            ),
            Panel(
                "Memory Used of Limit",
                "RSS as a fraction of the limit.",
                [
                    Target(
                        f"max(backpressure_process_memory_bytes{{{PRODUCER}}} / "
                        f"backpressure_memory_limit_bytes{{{PRODUCER}}})",
                        "used",
                    ),
                ],
                kind="gauge",
                unit="percentunit",
                width=6,
                limits=Limits(0, 1),
                thresholds=[(None, "green"), (0.7, "orange"), (0.9, "red")],
            ),
            Panel(
                "Restarts and OOM Kills",
                "Container restarts, and containers whose last termination was an OOM kill (kube-state-metrics).",
                [
                    Target(
                        f"sum by (container) (kube_pod_container_status_restarts_total{{{WORKLOADS}}})",
                        "{{container}} restarts",
                    ),
                    Target(
                        f'sum by (container) (kube_pod_container_status_last_terminated_reason{{reason="OOMKilled",'
                        f'container=~"producer|consumer",{NS}}})',
                        "{{container}} last terminated: OOMKilled",
                    ),
                ],
            ),
        ],
    ),
    (
        "Backpressure signals",
        [
            Panel(
                "Rate-Limit Delays",
                "How often the generator had to wait for a token, and the fraction of each second it spent waiting.",
                [
                    Target(f"sum(rate(backpressure_rate_limit_delays_total{{{PRODUCER}}}[{RATE}]))", "delays/s"),
                    Target(
                        f"sum(rate(backpressure_rate_limit_wait_seconds_total{{{PRODUCER}}}[{RATE}]))",
                        "seconds waited per second",
                    ),
                    Target(
                        f"sum(rate(backpressure_queue_full_wait_seconds_total{{{PRODUCER}}}[{RATE}]))",
                        "block mode: seconds waited per second",
                    ),
                ],
            ),
            Panel(
                "429 and 503 Rates",
                "Push-back: the producer's 429s to /produce callers and the consumer's 503s "
                "(concurrency limit), as sent and as seen by the producer's sender.",
                [
                    Target(
                        f"sum by (service, code) (rate(backpressure_overload_responses_total{{{NS}}}[{RATE}]))",
                        "{{service}} answered {{code}}",
                    ),
                    Target(
                        "sum by (code) (rate(backpressure_send_responses_total"
                        f'{{code=~"429|503",{PRODUCER}}}[{RATE}]))',
                        "sender got {{code}}",
                    ),
                    Target(f"sum(rate(backpressure_send_retries_total{{{PRODUCER}}}[{RATE}]))", "retries"),
                ],
                unit="reqps",
            ),
            Panel(
                "Items in Flight",
                "Sends awaiting the consumer (producer) and items being processed (consumer).",
                [
                    Target(f"sum by (service) (backpressure_items_in_flight{{{NS}}})", "{{service}}"),
                    Target(f"sum(backpressure_consumer_concurrency{{{CONSUMER}}})", "consumer concurrency limit"),
                ],
            ),
            Panel(
                "Processing Time (p50/p95/p99)",
                "Time the consumer spent on each item.",
                quantiles("backpressure_processing_duration_seconds", CONSUMER),
                unit="s",
            ),
            Panel(
                "Consumer Processing Time",
                "The consumer's configured mean processing time per item, slow-down "
                "included, and its measured throughput.",
                [
                    Target(f"max(backpressure_configured_processing_time_ms{{{CONSUMER}}})", "configured ms per item"),
                    Target(f"sum(backpressure_consumer_throughput{{{CONSUMER}}})", "throughput items/s"),
                ],
            ),
            Panel(
                "Send Duration (p50/p95/p99)",
                "Time of one send attempt, producer to consumer.",
                quantiles("backpressure_send_duration_seconds", PRODUCER),
                unit="s",
            ),
        ],
    ),
    (
        "Beyond the original: CoDel, priorities, watermarks, scaling consumers",
        [
            Panel(
                "CoDel: Expired Items",
                "Items shed at dequeue because they waited past the slough limit in a standing backlog, and whether "
                "CoDel sees one (1) right now.",
                [
                    Target(f"sum(rate(backpressure_items_expired_total{{{PRODUCER}}}[{RATE}]))", "expired/s"),
                    Target(f"max(backpressure_codel_overloaded{{{PRODUCER}}})", "overloaded"),
                ],
                width=8,
            ),
            Panel(
                "Loss by Priority",
                "Items rejected or expired per second, by priority: under pressure low priority goes first.",
                [
                    Target(
                        "sum by (priority, outcome) (rate(backpressure_priority_items_total"
                        f'{{outcome=~"rejected|expired",{PRODUCER}}}[{RATE}]))',
                        "{{priority}} {{outcome}}",
                    ),
                ],
                unit="reqps",
                width=8,
            ),
            Panel(
                "Adaptive Concurrency",
                "The sender's concurrency limit (learned in the aimd and gradient modes) against the consumer's "
                "concurrency, and the round-trip times the gradient compares.",
                [
                    Target(f"max(backpressure_concurrency_limit{{{PRODUCER}}})", "sender limit"),
                    Target(f"sum(backpressure_consumer_concurrency{{{CONSUMER}}})", "consumer concurrency"),
                    Target(f"max by (window) (backpressure_rtt_seconds{{{PRODUCER}}})", "RTT {{window}} (s)"),
                ],
                width=8,
            ),
            Panel(
                "Watermarks",
                "Queue depth between the low and high watermarks; the generator pauses at the high one and resumes "
                "at the low one.",
                [
                    Target(f"sum(backpressure_queue_depth{{{PRODUCER}}})", "queue depth"),
                    Target(f"max(backpressure_high_watermark{{{PRODUCER}}})", "high watermark"),
                    Target(f"max(backpressure_low_watermark{{{PRODUCER}}})", "low watermark"),
                    Target(f"max(backpressure_watermark_paused{{{PRODUCER}}})", "paused"),
                ],
                width=8,
            ),
            Panel(
                "Scaling Consumers",
                "Consumer pods running and the ready ones the producer sends to (spec.consumer.autoscale scales "
                "them from the queue), against the items they process per second and the queue they drain.",
                [
                    Target(f"count(backpressure_consumer_concurrency{{{CONSUMER}}})", "consumer pods"),
                    Target(f"max(backpressure_consumers{{{PRODUCER}}})", "consumers the producer sends to"),
                    Target(f"sum(rate(backpressure_items_processed_total{{{CONSUMER}}}[{RATE}]))", "processed items/s"),
                    Target(f"sum(backpressure_queue_depth{{{PRODUCER}}})", "queue depth"),
                ],
                width=16,
            ),
        ],
    ),
]


def datasource() -> DataSourceRef:
    """The Prometheus that the datasource variable names: every panel, query and variable asks it."""
    return DataSourceRef(type_val="prometheus", uid="${datasource}")


def panel_builder(panel: Panel, panel_id: int) -> cogbuilder.Builder[dashboard_model.Panel]:
    """The SDK builder of one panel: its kind, unit, size and targets (refIds A, B, ... in ROWS' order)."""
    builder: timeseries.Panel | stat.Panel | gauge.Panel
    if panel.kind == "timeseries":
        builder = timeseries.Panel().legend(
            common.VizLegendOptions()
            .display_mode(LegendDisplayMode.LIST)
            .placement(LegendPlacement.BOTTOM)
            .show_legend(True)
        )
    elif panel.kind == "stat":
        builder = stat.Panel()
    elif panel.kind == "gauge":
        builder = gauge.Panel()
    else:
        raise ValueError(f"panel {panel.title!r}: no builder for kind {panel.kind!r}")
    builder = (
        builder.id(panel_id)
        .title(panel.title)
        .description(panel.description)
        .datasource(datasource())
        .unit(panel.unit)
        .span(panel.width)
        .height(panel.height)
    )
    if panel.limits is not None:
        builder = builder.min(panel.limits.min).max(panel.limits.max)
    if panel.thresholds:
        builder = builder.thresholds(
            board.ThresholdsConfig()
            .mode(ThresholdsMode.ABSOLUTE)
            .steps([Threshold(value=value, color=color) for value, color in panel.thresholds])
        )
    for index, target in enumerate(panel.targets):
        builder = builder.with_target(
            prometheus.Dataquery()
            .ref_id(chr(ord("A") + index))
            .expr(target.expr)
            .legend_format(target.legend)
            .datasource(datasource())
        )
    return builder


def dashboard_builder() -> board.Dashboard:
    """The whole dashboard as the SDK's builder: rows in ROWS' order, each followed by its panels on the grid."""
    builder = (
        board.Dashboard("Backpressure Lab")
        .uid("backpressure-lab")
        .description("What happens when a producer outpaces its consumer: queue, memory, push-back, OOM kills.")
        .tags(["backpressure-lab"])
        .timezone("browser")
        .version(1)
        .editable()
        .refresh("5s")
        .time("now-15m", "now")
        .link(
            board.DashboardLink("Jaeger: producer traces (send_to_consumer)")
            .type(DashboardLinkType.LINK)
            .target_blank(True)
            .icon("external link")
            .url(f"{JAEGER_URL}/search?service=producer&operation=send_to_consumer")
        )
        .with_variable(board.DatasourceVariable("datasource").type("prometheus").label("Prometheus"))
        .with_variable(
            board.QueryVariable("namespace")
            .label("Namespace")
            .datasource(datasource())
            .query({"query": "label_values(backpressure_queue_depth, namespace)", "refId": "namespace"})
            .include_all(True)
            .multi(True)
            .all_value(".*")
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        )
    )
    panel_id = 1
    for row_title, row_panels in ROWS:
        builder = builder.with_row(board.Row(row_title).id(panel_id).collapsed(False))
        panel_id += 1
        for panel in row_panels:
            builder = builder.with_panel(panel_builder(panel, panel_id))
            panel_id += 1
    return builder


def dashboard() -> dict[str, Any]:
    """The dashboard's JSON model, as the chart ships it."""
    encoded: dict[str, Any] = json.loads(json.dumps(dashboard_builder().build(), cls=JSONEncoder))
    return encoded


def all_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) for every target, for the tests that run them against a real Prometheus."""
    return [(panel.title, target.expr) for _, panels in ROWS for panel in panels for target in panel.targets]


if __name__ == "__main__":
    json.dump(dashboard(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
