from __future__ import annotations

import pytest

from backpressure_lab.producer.codel import Codel
from backpressure_lab.producer.littles_law import LittlesLawMeter
from backpressure_lab.producer.watermarks import WatermarkGate


def test_codel_drops_nothing_while_waits_dip_below_target() -> None:
    codel = Codel(target=0.1, interval=1.0)
    drops = [codel.should_drop(wait, now) for now, wait in ((0.0, 0.05), (0.5, 0.5), (1.1, 0.3), (1.5, 0.5))]
    assert drops == [False, False, False, False]


def test_codel_sheds_only_past_twice_the_target_once_a_whole_interval_stayed_above() -> None:
    codel = Codel(target=0.1, interval=1.0)
    assert not codel.should_drop(0.15, 0.0)
    assert not codel.should_drop(0.3, 0.5)
    assert codel.should_drop(0.3, 1.01)
    assert not codel.should_drop(0.15, 1.2)
    assert codel.should_drop(0.21, 1.3)


def test_codel_sheds_low_priority_first() -> None:
    codel = Codel(target=0.1, interval=1.0)
    codel.should_drop(0.5, 0.0)
    assert codel.should_drop(0.15, 1.5, low_priority=True)
    assert not codel.should_drop(0.15, 1.6, low_priority=False)


def test_codel_recovers_when_the_backlog_is_gone() -> None:
    codel = Codel(target=0.1, interval=1.0)
    codel.should_drop(0.5, 0.0)
    assert codel.should_drop(0.5, 1.5)
    codel.should_drop(0.01, 2.0)
    assert not codel.should_drop(0.5, 2.6)


def test_watermarks_pause_at_high_and_resume_at_low() -> None:
    gate = WatermarkGate()
    depths = [10, 50, 80, 60, 30, 20, 40, 80]
    assert [gate.update(d, low=20, high=80) for d in depths] == [False, False, True, True, True, False, False, True]


def test_littles_law_in_a_steady_state() -> None:
    meter = LittlesLawMeter(window_seconds=30)
    now = 0.0
    for tick in range(600):
        now = tick * 0.1
        meter.arrived(now)
        meter.departed(now, 5.0)
        if tick % 10 == 0:
            meter.sample_depth(now, 50)
    law = meter.measure(now)
    assert law.arrival_rate == pytest.approx(10.0, rel=0.05)
    assert law.predicted_depth == pytest.approx(50, rel=0.05)
    assert law.error is not None
    assert abs(law.error) < 0.05


def test_littles_law_empty() -> None:
    law = LittlesLawMeter().measure(10.0)
    assert (law.depth, law.arrival_rate, law.mean_wait, law.error) == (0.0, 0.0, 0.0, None)
