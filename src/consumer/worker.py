"""The consumer's live state: its settings, the items in flight, and the processing of one item."""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

from backpressure_lab.common.rate import RateMeter
from backpressure_lab.common.settings import apply_changes
from backpressure_lab.common.telemetry import Spans
from backpressure_lab.consumer.metrics import ConsumerMetrics
from backpressure_lab.consumer.processing import (
    max_throughput,
    mean_processing_seconds,
    processing_seconds,
)
from backpressure_lab.consumer.recent_ids import RecentIds
from backpressure_lab.consumer.settings import ConsumerSettings


@dataclass
class ConsumerConfig:
    admin_token: str | None = None
    settings: ConsumerSettings = field(default_factory=ConsumerSettings)


class Consumer:
    def __init__(self, config: ConsumerConfig, metrics: ConsumerMetrics) -> None:
        self.config = config
        self.settings = config.settings
        self.metrics = metrics
        self.in_flight = 0
        self.processed = 0
        self.failed = 0
        self.rejected = 0
        self.interrupted = 0  # items whose processing a stop cut off past its grace, for the stop's log line
        self.duplicates = 0
        self.late = 0
        """Items processed after their deadline."""
        self.expired = 0
        """Items refused unprocessed because they could not finish by their deadline (drop_late_work)."""
        self._recent_ids = RecentIds()
        self.meter = RateMeter()
        self.on_time = RateMeter()
        """Items processed by their deadline, or without one: the goodput."""
        self._random = random.Random()
        self._spans = Spans("backpressure_lab.consumer")
        self.metrics.in_flight.set_function(lambda: self.in_flight)  # read when /metrics is scraped
        metrics.export_counts(self.counts)
        self._publish()

    def update(self, changes: dict[str, Any]) -> ConsumerSettings:
        """Validate and apply `changes` (raises SettingsError, changing nothing, when any part is bad)."""
        self.settings = apply_changes(self.settings, changes)
        self._publish()
        return self.settings

    def _publish(self) -> None:
        self.metrics.configured_processing_time.set(mean_processing_seconds(self.settings) * 1000.0)
        self.metrics.concurrency.set(self.settings.concurrency)
        self.metrics.max_throughput.set(max_throughput(self.settings) or math.inf)

    def try_enter(self) -> bool:
        """Take a slot for one item, or say the consumer is full. The slot is taken at once, before the request body
        is read: checking first and counting later let several requests past the limit while their bodies arrived."""
        if self.in_flight >= self.settings.concurrency:
            return False
        self.in_flight += 1
        return True

    def leave(self) -> None:
        self.in_flight -= 1

    def refuse(self) -> int:
        """Count a 503 and return the Retry-After to send: about one processing time, in whole seconds."""
        self.rejected += 1
        self.metrics.pushed_back()
        return max(1, math.ceil(mean_processing_seconds(self.settings)))

    def count_failure(self) -> None:
        self.failed += 1

    async def process(self, item_id: str, deadline: float | None = None) -> float | None:
        """Process one item in a slot taken with `try_enter`: the seconds it took, or None when `drop_late_work`
        refused it because it could not finish by its deadline (wall-clock seconds)."""
        seconds = processing_seconds(self.settings, self._random.random())
        if deadline is not None and self.settings.drop_late_work and time.time() + seconds > deadline:
            self.expired += 1
            return None
        started = time.monotonic()
        with self._spans.start("process_item") as span:
            if span is not None and span.is_recording():
                span.set_attributes({"item.id": item_id, "processing.seconds": seconds})
            if seconds > 0:  # no processing time is no processing: asyncio.sleep(0) would still yield to the loop
                await asyncio.sleep(seconds)
        finished = time.monotonic()
        self.processed += 1
        if deadline is not None and time.time() > deadline:
            self.late += 1  # processed, but after its deadline: throughput that is not goodput
        else:
            self.on_time.add(finished)
        if self._recent_ids.seen_before(item_id):
            self.duplicates += 1
        self.metrics.processing_duration.observe(finished - started)
        self.meter.add(finished)
        return finished - started

    def counts(self) -> dict[str, int]:
        return {
            "processed": self.processed,
            "failed": self.failed,
            "duplicates": self.duplicates,
            "late": self.late,
            "expired": self.expired,
        }

    def throughput(self) -> float:
        rate = self.meter.per_second(time.monotonic())
        self.metrics.throughput.set(rate)
        return rate
