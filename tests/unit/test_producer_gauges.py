"""The producer's queue and delivery gauges are read when /metrics is scraped (issue R took their writes off the
per-item path): whatever happened since, a scrape shows the pipeline as it is."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from backpressure_lab.producer.metrics import ProducerMetrics
from backpressure_lab.producer.pipeline import Pipeline
from backpressure_lab.producer.settings import ProducerSettings
from backpressure_lab.producer.tallies import Tally


def test_the_queue_and_delivery_gauges_show_the_pipeline_as_it_is_when_scraped() -> None:
    registry = CollectorRegistry()
    pipeline = Pipeline(ProducerSettings(queue_mode="unbounded"), ProducerMetrics(registry))

    def gauge(name: str) -> float | None:
        return registry.get_sample_value(name, {"service": "producer"})

    pipeline.intake.admit_burst(7)
    assert gauge("backpressure_queue_depth") == 7
    assert gauge("backpressure_queue_memory_bytes") == pipeline.queue.memory_bytes > 0

    async def take_two() -> None:
        await pipeline.dispatch.next_item()
        await pipeline.dispatch.next_item()

    asyncio.run(take_two())
    pipeline.in_flight = 1
    assert (gauge("backpressure_queue_depth"), gauge("backpressure_items_in_delivery")) == (5, 2)
    assert gauge("backpressure_items_in_flight") == 1
    pipeline.dispatch.delivered(Tally.SENT)
    assert pipeline.dispatch.clear_queue() == 5
    assert (gauge("backpressure_queue_depth"), gauge("backpressure_items_in_delivery")) == (0, 1)
