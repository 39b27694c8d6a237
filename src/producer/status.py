"""The producer's /status document: the original lab's fields, plus the measured memory and the time to the limit."""

from __future__ import annotations

from typing import Any

from backpressure_lab.common.memory_watch import MemoryWatch
from backpressure_lab.common.settings import as_dict
from backpressure_lab.producer.admission import capacity
from backpressure_lab.producer.pipeline import Pipeline

MIB = 1024 * 1024


def _mb(value: float | None) -> float | None:
    return None if value is None else round(value / MIB, 2)


def producer_status(pipeline: Pipeline, consumer_url: str, memory: MemoryWatch) -> dict[str, Any]:
    settings = pipeline.settings
    rss_bytes, limit_bytes, seconds_to_limit = memory.rss_bytes, memory.limit_bytes, memory.seconds_to_limit()
    queue_memory = pipeline.queue.memory_bytes
    return {
        "service": "producer",
        "queue": {
            "mode": settings.queue_mode,
            "size": len(pipeline.queue),
            "max_size": settings.max_queue_size,
            "capacity": capacity(settings.mode, settings.max_queue_size),
            "memory_bytes": queue_memory,
            "memory_mb": _mb(queue_memory),
        },
        "config": {**as_dict(settings), "consumer_url": consumer_url},
        "process": {
            "memory_bytes": rss_bytes,
            "memory_mb": _mb(rss_bytes),
            "rss_bytes": rss_bytes,
            "memory_limit_bytes": limit_bytes,
            "memory_limit_mb": _mb(limit_bytes),
            "memory_growth_bytes_per_second": round(memory.growth_bytes_per_second(), 1),
            "seconds_to_limit": None if seconds_to_limit is None else round(seconds_to_limit, 1),
        },
        "stats": {
            **{name: round(value, 3) if isinstance(value, float) else value for name, value in pipeline.totals.items()},
            "in_flight": pipeline.in_flight,
            "rate_limit_tokens": round(pipeline.bucket.tokens, 2),
        },
    }
