"""The consumer's Prometheus metrics: the original lab's names (label service="consumer") and what the fixes add."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from prometheus_client import CollectorRegistry, Counter

from backpressure_lab.common.metrics import (
    DURATION_BUCKETS,
    SERVICE_LABEL,
    ScrapedHistogram,
    ServiceMetricFactory,
    TotalsCollector,
)

SERVICE = "consumer"
# The status the consumer pushes back with when all its slots are busy.
OVERLOAD_STATUS = 503
COUNTERS = {
    "processed": ("backpressure_items_processed", "Items processed"),
    "failed": ("backpressure_items_failed", "Items that could not be processed (bad request body)"),
    "duplicates": (
        "backpressure_items_duplicate",
        "Items processed again: a retried send whose first copy was processed",
    ),
    "late": ("backpressure_items_late", "Items processed after their deadline: throughput that is not goodput"),
    "expired": (
        "backpressure_items_expired",
        "Items not processed because they could not finish by their deadline (drop_late_work)",
    ),
}
"""The consumer's counts (keys of `Consumer.counts()`) and their Prometheus counters: the original lab's names."""


class ConsumerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry
        gauge = ServiceMetricFactory(registry, SERVICE).gauge

        self.in_flight = gauge("backpressure_items_in_flight", "Items being processed now")
        self.configured_processing_time = gauge(
            "backpressure_configured_processing_time_ms", "Mean processing time per item, slow-down included"
        )
        self.throughput = gauge("backpressure_consumer_throughput", "Items processed per second (last 5 s)")
        self.processing_duration = ScrapedHistogram(
            registry,
            SERVICE,
            "backpressure_processing_duration_seconds",
            "Time spent processing one item",
            DURATION_BUCKETS,
        )
        self.overload_responses = Counter(
            "backpressure_overload_responses",
            "Requests this service answered with 429 or 503 to push back",
            [*SERVICE_LABEL, "code"],
            registry=registry,
        )
        # At 0 from the start (Prometheus' instrumentation advice): the retry-amplification panel divides by it.
        self.overload_responses.labels(SERVICE, str(OVERLOAD_STATUS))
        self.concurrency = gauge("backpressure_consumer_concurrency", "Items the consumer processes at once")
        self.max_throughput = gauge(
            "backpressure_consumer_max_throughput", "Items per second the consumer can finish at full concurrency"
        )

    def export_counts(self, counts: Callable[[], Mapping[str, float]]) -> None:
        """Export the consumer's own counts, read at each scrape: /status and /metrics show the same numbers."""
        self._registry.register(TotalsCollector(SERVICE, counts, COUNTERS))

    def pushed_back(self) -> None:
        self.overload_responses.labels(SERVICE, str(OVERLOAD_STATUS)).inc()
