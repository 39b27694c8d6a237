"""How long an item takes and how many the consumer can finish per second. Pure: the caller passes the draw."""

from __future__ import annotations

from typing import Any

from backpressure_lab.consumer.settings import ConsumerSettings


def processing_seconds(settings: ConsumerSettings, random_fraction: float) -> float:
    if settings.variable_processing:
        low, high = settings.processing_min_ms, settings.processing_max_ms
        base = low + (high - low) * random_fraction
    else:
        base = settings.processing_time_ms
    return base * settings.slow_down_factor / 1000.0


def mean_processing_seconds(settings: ConsumerSettings) -> float:
    return processing_seconds(settings, 0.5)


def max_throughput(settings: ConsumerSettings) -> float | None:
    """Items per second at full concurrency (None: no processing time, so no limit from this side)."""
    mean = mean_processing_seconds(settings)
    return None if mean <= 0 else settings.concurrency / mean


def slowed_changes(settings: ConsumerSettings, factor: float) -> dict[str, Any]:
    """The settings change that /admin/slow-down (factor > 1 slows) or /admin/speed-up (1/factor) asks for."""
    return {"slow_down_factor": settings.slow_down_factor * factor}


def config_changes(settings: ConsumerSettings, changes: dict[str, Any]) -> dict[str, Any]:
    """An /admin/config change. `processing_time_ms` sets the time per item, as in the original lab: a slow-down
    factor still in force would silently multiply it, so it is reset unless the same request sets it."""
    if "processing_time_ms" in changes and "slow_down_factor" not in changes:
        return {**changes, "slow_down_factor": 1.0}
    return changes
