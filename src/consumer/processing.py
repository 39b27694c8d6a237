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


# The original's speed-up never took the processing time below 10 ms.
FASTEST_SPEED_UP_MS = 10.0


def effective_processing_ms(settings: ConsumerSettings) -> float:
    """What the original lab called processing_time_ms: the time per item with the slow-down factor applied."""
    return settings.processing_time_ms * settings.slow_down_factor


def max_throughput_text(settings: ConsumerSettings) -> str:
    """The original's `max_throughput`: items per second one at a time, as "10.00 items/sec"."""
    mean = mean_processing_seconds(settings)
    return "unlimited" if mean <= 0 else f"{1 / mean:.2f} items/sec"


def slowed_changes(settings: ConsumerSettings, factor: float) -> dict[str, Any]:
    """The settings change that /admin/slow-down asks for: the slow-down factor multiplied by `factor`."""
    return {"slow_down_factor": settings.slow_down_factor * factor}


def sped_up_changes(settings: ConsumerSettings, factor: float) -> dict[str, Any]:
    """/admin/speed-up: the factor divided by `factor`, but, as in the original, never below 10 ms per item unless
    the time was below that already."""
    wanted = settings.slow_down_factor / factor
    base = settings.processing_time_ms
    if base > 0 and base * wanted < FASTEST_SPEED_UP_MS <= effective_processing_ms(settings):
        wanted = FASTEST_SPEED_UP_MS / base
    return {"slow_down_factor": wanted}


def config_changes(settings: ConsumerSettings, changes: dict[str, Any]) -> dict[str, Any]:
    """An /admin/config change. `processing_time_ms` sets the time per item, as in the original lab: a slow-down
    factor still in force would silently multiply it, so it is reset unless the same request sets it."""
    if "processing_time_ms" in changes and "slow_down_factor" not in changes:
        return {**changes, "slow_down_factor": 1.0}
    return changes
