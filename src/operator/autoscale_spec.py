"""`spec.consumer.autoscale`, declared once like the services' settings: the CRD schema, its CEL rule, the chart's
values schema and the operator's own check all come from this declaration."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from backpressure_lab.common.settings import CrossFieldRule, setting

MAX_CONSUMERS = 20


class ScalingMetric(StrEnum):
    QUEUE_DEPTH = "queue_depth"
    QUEUE_WAIT = "queue_wait"


@dataclass(frozen=True)
class AutoscaleSettings:
    min_replicas: int = setting(
        1, "Fewest consumer pods the operator scales to", unit="pods", minimum=1, maximum=MAX_CONSUMERS
    )
    max_replicas: int = setting(
        4, "Most consumer pods the operator scales to", unit="pods", minimum=1, maximum=MAX_CONSUMERS
    )
    metric: str = setting(
        ScalingMetric.QUEUE_DEPTH.value,
        "What the operator scales on: the producer's queue depth per consumer (queue_depth) or the p99 wait of the "
        "items it sent recently (queue_wait)",
        choices=[metric.value for metric in ScalingMetric],
    )
    target: float = setting(
        20.0,
        "The metric's target: items waiting per consumer pod (queue_depth) or milliseconds of p99 wait (queue_wait)",
        minimum=0,
        exclusive_minimum=True,
        maximum=1_000_000,
    )
    cooldown_seconds: float = setting(
        15.0,
        "Least time between two scalings; a scale-down also needs the load to have fitted fewer consumers that long",
        unit="s",
        minimum=0,
        maximum=3600,
    )

    RULES: ClassVar[tuple[CrossFieldRule, ...]] = (CrossFieldRule("min_replicas", "<=", "max_replicas"),)

    @property
    def scaling_metric(self) -> ScalingMetric:
        return ScalingMetric(self.metric)
