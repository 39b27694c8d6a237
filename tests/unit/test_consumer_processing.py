from __future__ import annotations

import pytest

from backpressure_lab.common.rate import RateMeter
from backpressure_lab.common.settings import apply_changes
from backpressure_lab.consumer.processing import (
    config_changes,
    max_throughput,
    processing_seconds,
    slowed_changes,
)
from backpressure_lab.consumer.settings import ConsumerSettings


def test_processing_time_with_slow_down() -> None:
    settings = ConsumerSettings(slow_down_factor=5.0)
    assert processing_seconds(settings, 0.3) == pytest.approx(0.5)


def test_variable_processing_spans_min_to_max() -> None:
    settings = ConsumerSettings(variable_processing=True, processing_min_ms=50, processing_max_ms=500)
    assert processing_seconds(settings, 0.0) == pytest.approx(0.05)
    assert processing_seconds(settings, 1.0) == pytest.approx(0.5)


def test_max_throughput() -> None:
    assert max_throughput(ConsumerSettings(concurrency=1, slow_down_factor=5.0)) == pytest.approx(2.0)
    assert max_throughput(ConsumerSettings(processing_time_ms=0)) is None


def test_slow_down_and_speed_up_multiply_the_factor() -> None:
    settings = apply_changes(ConsumerSettings(), slowed_changes(ConsumerSettings(), 5))
    assert settings.slow_down_factor == 5.0
    settings = apply_changes(settings, slowed_changes(settings, 1 / 5))
    assert settings.slow_down_factor == pytest.approx(1.0)


def test_setting_processing_time_clears_the_slow_down_as_in_the_original() -> None:
    slowed = ConsumerSettings(slow_down_factor=5.0)
    assert config_changes(slowed, {"processing_time_ms": 100}) == {"processing_time_ms": 100, "slow_down_factor": 1.0}
    both = {"processing_time_ms": 100, "slow_down_factor": 3}
    assert config_changes(slowed, both) == both


def test_rate_meter() -> None:
    meter = RateMeter(window_seconds=5)
    for tick in range(100):
        meter.add(10.0 + tick * 0.1)
    assert meter.per_second(20.0) == pytest.approx(10.0)
    assert meter.per_second(40.0) == 0.0
