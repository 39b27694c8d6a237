"""The producer's Prometheus metrics: the original lab's names (label service="producer") and what the fixes add."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from backpressure_lab.common.metrics import (
    DURATION_BUCKETS,
    SERVICE_LABEL,
    WAIT_BUCKETS,
    LabelledCounts,
    ScrapedHistogram,
    ServiceMetricFactory,
)

SERVICE = "producer"

# The answers a send can get that are known in advance (any other HTTP status is counted too, as it happens).
SEND_CODES = ("2xx", "429", "503", "error", "timeout")
# The status POST /produce pushes back with when produce_overload_status asks for push-back.
PUSH_BACK_STATUS = 429
PRIORITIES = ("high", "low")
PRIORITY_OUTCOMES = ("produced", "rejected", "expired")


class ProducerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        """The counts of items' fates register their own collector here (tallies.py)."""
        make = ServiceMetricFactory(registry, SERVICE)
        gauge = make.gauge

        # The original lab's metrics, same names and meaning.
        self.queue_depth = gauge("backpressure_queue_depth", "Items waiting in the producer's queue")
        self.queue_memory = gauge("backpressure_queue_memory_bytes", "Measured bytes held by the queued items")
        self.process_memory = gauge("backpressure_process_memory_bytes", "Current resident memory (RSS, not peak)")
        self.items_in_flight = gauge("backpressure_items_in_flight", "Sends awaiting the consumer's answer")
        self.oldest_wait = gauge(
            "backpressure_queue_oldest_wait_seconds", "How long the item that has waited longest has been queued"
        )
        # Observed per item: counted in plain Python and read at each scrape (common/metrics.py).
        self.send_duration = ScrapedHistogram(
            registry,
            SERVICE,
            "backpressure_send_duration_seconds",
            "Time of one send attempt to the consumer",
            DURATION_BUCKETS,
        )
        self.queue_wait = ScrapedHistogram(
            registry,
            SERVICE,
            "backpressure_queue_wait_seconds",
            "Time from enqueue to dequeue, on the producer's monotonic clock",
            WAIT_BUCKETS,
        )

        # What the fixes add.
        self.rate_limit_tokens = gauge("backpressure_rate_limit_tokens", "Tokens in the rate limiter's bucket")
        self.send_responses = LabelledCounts(
            registry,
            SERVICE,
            "backpressure_send_responses",
            "Send attempts by the consumer's answer (2xx, 429, 503, error, timeout)",
            ["code"],
            known=[(code,) for code in SEND_CODES],
        )
        self.overload_responses = Counter(
            "backpressure_overload_responses",
            "Requests this service answered with 429 or 503 to push back",
            [*SERVICE_LABEL, "code"],
            registry=registry,
        )
        self.overload_responses.labels(SERVICE, str(PUSH_BACK_STATUS))  # at 0 from the start, as LabelledCounts' known
        self.memory_limit = gauge("backpressure_memory_limit_bytes", "The cgroup memory limit (NaN: no limit)")
        self.memory_growth = gauge("backpressure_memory_growth_bytes_per_second", "Slope of RSS over the last 10 s")
        self.seconds_to_limit = gauge(
            "backpressure_seconds_to_memory_limit",
            "Seconds until RSS reaches the limit at the current growth (+Inf: never)",
        )
        self.sender_concurrency = gauge("backpressure_sender_concurrency", "Sends the producer allows at once")
        self.max_queue_size = gauge("backpressure_max_queue_size", "Queue capacity in bounded and block modes")
        self.production_rate = gauge("backpressure_production_rate", "Configured items per second")

        # Beyond the original: CoDel, priorities, watermarks, Little's law.
        # Every other way an admitted item leaves, so that produced = sent + dropped + expired + evicted + cleared +
        # queued + in delivery holds from /metrics alone (tallies.py).
        self.in_delivery = gauge(
            "backpressure_items_in_delivery",
            "Items taken from the queue whose delivery has not ended (sending, waiting for a send slot or to retry)",
        )
        self.by_priority = LabelledCounts(
            registry,
            SERVICE,
            "backpressure_priority_items",
            "Items by priority and what happened to them (produced, rejected, expired)",
            ["priority", "outcome"],
            known=[(priority, outcome) for priority in PRIORITIES for outcome in PRIORITY_OUTCOMES],
        )
        self.codel_overloaded = gauge("backpressure_codel_overloaded", "1 while CoDel sees a standing backlog")
        self.watermark_paused = gauge("backpressure_watermark_paused", "1 while the generator is paused (watermarks)")
        self.high_watermark = gauge("backpressure_high_watermark", "Depth at which the generator pauses")
        self.low_watermark = gauge("backpressure_low_watermark", "Depth at which the generator resumes")
        self.littles_depth = gauge("backpressure_littles_law_depth", "L: mean queue depth over the last 30 s")
        self.littles_arrival_rate = gauge(
            "backpressure_littles_law_arrival_rate", "λ: items admitted per second over the last 30 s"
        )
        self.littles_wait = gauge(
            "backpressure_littles_law_wait_seconds", "W: mean queue wait of items that left over the last 30 s"
        )
        self.littles_predicted_depth = gauge("backpressure_littles_law_predicted_depth", "λW: the predicted depth")
        self.concurrency_limit = gauge(
            "backpressure_concurrency_limit", "Sends allowed in flight now (adaptive modes learn it; else the setting)"
        )
        self.consumers = gauge(
            "backpressure_consumers", "Consumers the producer sends to (the ready pods the operator lists; else 1)"
        )
        self.rtt = Gauge(
            "backpressure_rtt_seconds",
            "Round-trip time of successful sends: short- and long-term averages",
            [*SERVICE_LABEL, "window"],
            registry=registry,
        )

    def priority_outcome(self, priority: str, outcome: str, amount: int = 1) -> None:
        self.by_priority.add((priority, outcome), amount)

    def responded(self, code: str) -> None:
        self.send_responses.add((code,))

    def pushed_back(self) -> None:
        self.overload_responses.labels(SERVICE, str(PUSH_BACK_STATUS)).inc()
