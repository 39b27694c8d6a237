"""The consumer's /status document: the original lab's fields with their original JSON types
(docs/original-contract.md), and the figures the fixes add (rejections, duplicates, deadlines) in fields of their
own."""

from __future__ import annotations

import time
from typing import Any

from backpressure_lab.common.settings import as_dict, plain
from backpressure_lab.consumer.processing import (
    effective_processing_ms,
    max_throughput,
    max_throughput_text,
    mean_processing_seconds,
)
from backpressure_lab.consumer.worker import Consumer


def consumer_status(consumer: Consumer) -> dict[str, Any]:
    settings = consumer.settings
    limit = max_throughput(settings)
    factor = settings.slow_down_factor
    return {
        "service": "consumer",
        "config": {
            **as_dict(settings),
            # The original's meanings (docs/original-contract.md): the time per item as the consumer runs it, the
            # range as "MIN-MAX" while variable processing is on. The setting before the slow-down factor is
            # base_processing_time_ms here and processing_time_ms in GET /admin/config.
            "processing_time_ms": plain(round(effective_processing_ms(settings), 3)),
            "processing_range_ms": (
                f"{plain(round(settings.processing_min_ms * factor, 3))}-"
                f"{plain(round(settings.processing_max_ms * factor, 3))}"
                if settings.variable_processing
                else None
            ),
            "base_processing_time_ms": plain(settings.processing_time_ms),
            "effective_processing_time_ms": round(mean_processing_seconds(settings) * 1000.0, 3),
        },
        "state": {
            "items_in_flight": consumer.in_flight,
            "max_throughput": max_throughput_text(settings),
            "max_throughput_at_concurrency": None if limit is None else round(limit, 2),
            "throughput": round(consumer.throughput(), 2),
            "items_processed": consumer.processed,
            "items_failed": consumer.failed,
            "items_rejected": consumer.rejected,
            "duplicates": consumer.duplicates,
            "items_late": consumer.late,
            "items_expired": consumer.expired,
            "goodput": round(consumer.on_time.per_second(time.monotonic()), 2),
        },
    }
