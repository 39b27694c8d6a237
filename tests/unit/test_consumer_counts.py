"""The consumer's counts are one set of numbers: /status shows them and /metrics exports them, read at the scrape."""

from __future__ import annotations

import asyncio

from backpressure_lab.common.metrics import new_registry
from backpressure_lab.consumer.metrics import ConsumerMetrics
from backpressure_lab.consumer.settings import ConsumerSettings
from backpressure_lab.consumer.worker import Consumer, ConsumerConfig


def test_status_and_metrics_show_the_same_counts() -> None:
    registry = new_registry()
    consumer = Consumer(ConsumerConfig(settings=ConsumerSettings(processing_time_ms=0)), ConsumerMetrics(registry))

    async def process(ids: list[str]) -> None:
        for item_id in ids:
            assert consumer.try_enter()
            try:
                await consumer.process(item_id)
            finally:
                consumer.leave()

    asyncio.run(process(["a", "b", "a", "c"]))
    consumer.count_failure()

    def exported(name: str) -> float | None:
        return registry.get_sample_value(name, {"service": "consumer"})

    state = consumer.status()["state"]
    assert (state["items_processed"], state["duplicates"], state["items_failed"]) == (4, 1, 1)
    assert exported("backpressure_items_processed_total") == 4
    assert exported("backpressure_items_duplicate_total") == 1
    assert exported("backpressure_items_failed_total") == 1
    assert exported("backpressure_items_in_flight") == 0
