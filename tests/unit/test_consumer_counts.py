"""The consumer's counts are one set of numbers: /status shows them and /metrics exports them, read at the scrape."""

from __future__ import annotations

import asyncio
import time

from backpressure_lab.common.metrics import new_registry
from backpressure_lab.consumer.metrics import ConsumerMetrics
from backpressure_lab.consumer.settings import ConsumerSettings
from backpressure_lab.consumer.status import consumer_status
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

    state = consumer_status(consumer)["state"]
    assert (state["items_processed"], state["duplicates"], state["items_failed"]) == (4, 1, 1)
    assert exported("backpressure_items_processed_total") == 4
    assert exported("backpressure_items_duplicate_total") == 1
    assert exported("backpressure_items_failed_total") == 1
    assert exported("backpressure_items_in_flight") == 0


def test_work_finished_past_its_deadline_is_late_and_work_that_cannot_make_it_can_be_refused() -> None:
    registry = new_registry()
    settings = ConsumerSettings(processing_time_ms=20)
    consumer = Consumer(ConsumerConfig(settings=settings), ConsumerMetrics(registry))

    async def process(deadline: float | None) -> float | None:
        assert consumer.try_enter()
        try:
            return await consumer.process("item", deadline)
        finally:
            consumer.leave()

    now = time.time()
    assert asyncio.run(process(now + 60)) is not None  # on time
    assert asyncio.run(process(None)) is not None  # no deadline: on time by definition
    assert asyncio.run(process(now - 1)) is not None  # processed anyway, and late
    consumer.update({"drop_late_work": True})
    assert asyncio.run(process(time.time() + 0.001)) is None  # 20 ms of work cannot end within 1 ms: refused
    assert asyncio.run(process(time.time() + 60)) is not None
    state = consumer_status(consumer)["state"]
    assert (state["items_processed"], state["items_late"], state["items_expired"]) == (4, 1, 1)
    assert registry.get_sample_value("backpressure_items_late_total", {"service": "consumer"}) == 1
    assert registry.get_sample_value("backpressure_items_expired_total", {"service": "consumer"}) == 1
    assert state["goodput"] >= 0
