"""The consumer's Prometheus metrics: the original lab's names (label service="consumer") and what the fixes add."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from backpressure_lab.common.metrics import DURATION_BUCKETS, SERVICE_LABEL, ServiceMetricFactory

SERVICE = "consumer"


class ConsumerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        make = ServiceMetricFactory(registry, SERVICE)
        counter, gauge = make.counter, make.gauge

        self.processed = counter("backpressure_items_processed", "Items processed")
        self.failed = counter("backpressure_items_failed", "Items that could not be processed (bad request body)")
        self.duplicates = counter(
            "backpressure_items_duplicate", "Items processed again: a retried send whose first copy was processed"
        )
        self.in_flight = gauge("backpressure_items_in_flight", "Items being processed now")
        self.configured_processing_time = gauge(
            "backpressure_configured_processing_time_ms", "Mean processing time per item, slow-down included"
        )
        self.throughput = gauge("backpressure_consumer_throughput", "Items processed per second (last 5 s)")
        self.processing_duration = Histogram(
            "backpressure_processing_duration_seconds",
            "Time spent processing one item",
            SERVICE_LABEL,
            buckets=DURATION_BUCKETS,
            registry=registry,
        ).labels(SERVICE)
        self.overload_responses = Counter(
            "backpressure_overload_responses",
            "Requests this service answered with 429 or 503 to push back",
            [*SERVICE_LABEL, "code"],
            registry=registry,
        )
        self.concurrency = gauge("backpressure_consumer_concurrency", "Items the consumer processes at once")
        self.max_throughput = gauge(
            "backpressure_consumer_max_throughput", "Items per second the consumer can finish at full concurrency"
        )
