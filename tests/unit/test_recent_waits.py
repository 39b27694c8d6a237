from __future__ import annotations

from backpressure_lab.producer.littles_law import LittlesLawMeter, RecentWaits


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
