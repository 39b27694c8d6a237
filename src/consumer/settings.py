"""The consumer's runtime settings, declared once (see common/settings.py for what is derived from this)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from backpressure_lab.common.settings import CrossFieldRule, setting


@dataclass(frozen=True)
class ConsumerSettings:
    processing_time_ms: float = setting(
        100.0,
        "Time the consumer spends on one item (before the slow-down factor)",
        unit="ms",
        minimum=0,
        maximum=60000,
    )
    variable_processing: bool = setting(
        False, "Draw each item's processing time uniformly between processing_min_ms and processing_max_ms"
    )
    processing_min_ms: float = setting(
        50.0, "Shortest processing time when variable_processing is on", unit="ms", minimum=0, maximum=60000
    )
    processing_max_ms: float = setting(
        200.0, "Longest processing time when variable_processing is on", unit="ms", minimum=0, maximum=60000
    )
    slow_down_factor: float = setting(
        1.0,
        "Multiplies every processing time (5 makes the consumer 5x slower)",
        unit="x",
        minimum=0,
        exclusive_minimum=True,
        maximum=1000,
    )
    concurrency: int = setting(
        8,
        "Items the consumer processes at once; past this it answers 503 with Retry-After",
        unit="items",
        minimum=1,
        maximum=1024,
    )

    drop_late_work: bool = setting(
        False,
        "Do not process an item that cannot finish by its deadline (past already, or before its processing time "
        "would end): answer it at once as expired and count it, so the time goes to items that can still make it",
    )

    RULES: ClassVar[tuple[CrossFieldRule, ...]] = (CrossFieldRule("processing_min_ms", "<=", "processing_max_ms"),)
