"""Samples the process's memory once a second: RSS, the cgroup limit, the growth slope and the time left."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from prometheus_client import Gauge

from backpressure_lab.common.memory import GrowthEstimator, current_rss_bytes, memory_limit_bytes


@dataclass
class MemoryGauges:
    rss: Gauge
    limit: Gauge
    growth: Gauge
    seconds_to_limit: Gauge


@dataclass
class MemoryWatch:
    gauges: MemoryGauges
    estimator: GrowthEstimator = field(default_factory=GrowthEstimator)
    rss_bytes: int = 0
    limit_bytes: int | None = None

    def sample(self) -> None:
        self.rss_bytes = current_rss_bytes()
        self.limit_bytes = memory_limit_bytes()
        self.estimator.add(time.monotonic(), self.rss_bytes)
        self.gauges.rss.set(self.rss_bytes)
        self.gauges.limit.set(math.nan if self.limit_bytes is None else self.limit_bytes)
        self.gauges.growth.set(self.estimator.bytes_per_second())
        left = self.seconds_to_limit()
        self.gauges.seconds_to_limit.set(math.inf if left is None else left)

    def growth_bytes_per_second(self) -> float:
        return self.estimator.bytes_per_second()

    def seconds_to_limit(self) -> float | None:
        return self.estimator.seconds_to_limit(self.rss_bytes, self.limit_bytes)
