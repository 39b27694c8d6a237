from __future__ import annotations

import asyncio
import time

from prometheus_client import CollectorRegistry

from backpressure_lab.producer.littles_law import LittlesLawMeter, RecentWaits
from backpressure_lab.producer.metrics import ProducerMetrics
from backpressure_lab.producer.pipeline import Pipeline
from backpressure_lab.producer.settings import ProducerSettings


def test_percentile_of_recent_waits_forgets_old_ones() -> None:
    waits = RecentWaits(window_seconds=10)
    for tick in range(100):
        waits.add(float(tick) / 10, 5.0 if tick < 50 else 0.1)
    assert waits.percentile(9.9, 0.99) == 5.0
    waits.add(30.0, 0.2)
    assert waits.percentile(30.0, 0.99) == 0.2
    assert RecentWaits().percentile(0.0, 0.5) is None


def test_littles_law_reset_starts_a_new_regime() -> None:
    meter = LittlesLawMeter()
    meter.arrived(1.0, 100)
    meter.sample_depth(1.0, 50)
    meter.reset()
    meter.sample_depth(2.0, 3)
    law = meter.measure(2.0)
    assert law.depth == 3
    assert law.arrival_rate == 0.0


def test_a_cleared_queue_forgets_the_waits_of_the_items_before_it() -> None:
    """The p99 wait is of the items sent in the last 10 s: after a clear the old regime's waits are not shown as the
    new one's (a report drawn from the baseline showed the previous exercise's 12 s for its first seconds)."""
    pipeline = Pipeline(ProducerSettings(queue_mode="unbounded"), ProducerMetrics(CollectorRegistry()))
    pipeline.intake.admit_burst(3)
    asyncio.run(pipeline.dispatch.next_item())
    assert pipeline.dispatch.served_waits.percentile(time.monotonic(), 0.99) is not None
    pipeline.dispatch.clear_queue()
    assert pipeline.dispatch.served_waits.percentile(time.monotonic(), 0.99) is None
