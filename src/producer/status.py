"""The producer's /status document: the original lab's fields with their original JSON types
(docs/original-contract.md), plus the measured memory, the time to the limit and the mechanisms' figures in fields of
their own."""

from __future__ import annotations

import time
from typing import Any

from backpressure_lab.common.memory_watch import MemoryWatch
from backpressure_lab.common.settings import as_dict, plain
from backpressure_lab.producer.admission import capacity
from backpressure_lab.producer.consumers import ConsumerEndpoints
from backpressure_lab.producer.pipeline import Pipeline
from backpressure_lab.producer.retry_limits import throttle_probability
from backpressure_lab.producer.settings import QueueMode

MIB = 1024 * 1024


def _mb(value: float | None) -> float | None:
    return None if value is None else round(value / MIB, 2)


def producer_status(
    pipeline: Pipeline, consumers: ConsumerEndpoints, memory: MemoryWatch, concurrency_limit: int
) -> dict[str, Any]:
    settings = pipeline.settings
    rss_bytes, limit_bytes, seconds_to_limit = memory.rss_bytes, memory.limit_bytes, memory.seconds_to_limit()
    queue_memory = pipeline.queue.memory_bytes
    limit = capacity(settings)
    now = time.monotonic()
    p50, p99 = pipeline.dispatch.served_waits.percentiles(now, (0.5, 0.99))
    return {
        "service": "producer",
        "queue": {
            "mode": settings.queue_mode,
            "size": len(pipeline.queue),
            # As in the original: the bound when the queue has one, else the word "unlimited". The setting itself is
            # config.max_queue_size.
            "max_size": "unlimited" if limit is None else limit,
            "capacity": limit,
            "watermark_paused": pipeline.watermark_paused(),
            "codel_overloaded": pipeline.codel_overloaded(),
            "wait_p99_seconds": _rounded(p99),
            "wait_p50_seconds": _rounded(p50),
            "oldest_wait_seconds": _rounded(pipeline.oldest_wait_seconds(now)),
            "memory_bytes": queue_memory,
            "memory_mb": _mb(queue_memory),
        },
        "config": {
            **as_dict(settings),
            # The original showed rate_limit only where it applies, and null elsewhere; GET /admin/config has the
            # setting in every mode.
            "rate_limit": plain(settings.rate_limit) if settings.mode is QueueMode.RATE_LIMITED else None,
            "consumer_url": consumers.service_url,
        },
        "consumers": {
            "count": consumers.count,
            "endpoints": list(consumers.listed),
            "in_flight": consumers.in_flight(),
        },
        "process": {
            "memory_bytes": rss_bytes,
            "memory_mb": _mb(rss_bytes),
            "rss_bytes": rss_bytes,
            "memory_limit_bytes": limit_bytes,
            "memory_limit_mb": None if limit_bytes is None else plain(round(limit_bytes / MIB, 2)),
            "memory_growth_bytes_per_second": round(memory.growth_bytes_per_second(), 1),
            "seconds_to_limit": None if seconds_to_limit is None else round(seconds_to_limit, 1),
        },
        "littles_law": _littles_law(pipeline),
        "sends": _sends(pipeline, now),
        "priorities": pipeline.measures.priorities.as_status(),
        "stats": {
            **pipeline.tallies.as_status(),
            "in_flight": pipeline.in_flight,
            "in_delivery": pipeline.dispatch.in_delivery,
            "rate_limit_tokens": round(pipeline.bucket.tokens, 2),
            "concurrency_limit": concurrency_limit,
        },
    }


def _littles_law(pipeline: Pipeline) -> dict[str, float | None]:
    """L (mean depth), λ (admissions/s) and W (mean wait) over the last 30 s, and how far λW is from L."""
    law = pipeline.measures.littles_law.measure(time.monotonic())
    return {
        "depth": round(law.depth, 2),
        "arrival_rate": round(law.arrival_rate, 3),
        "mean_wait_seconds": round(law.mean_wait, 3),
        "predicted_depth": round(law.predicted_depth, 2),
        "error": None if law.error is None else round(law.error, 3),
    }


def _sends(pipeline: Pipeline, now: float) -> dict[str, float | None]:
    """The attempts of the last 10 s, per second: how many a consumer received for each item it accepted (the retry
    storm's amplification), and what the retry budget and the client-side throttle see."""
    sends = pipeline.sends.per_second(now)
    recent = pipeline.sends.recent(now)
    return {
        "attempts_per_second": round(sends.requests, 2),
        "sent_per_second": round(sends.sent, 2),
        "accepted_per_second": round(sends.accepted, 2),
        "throttled_per_second": round(sends.throttled, 2),
        "attempts_per_accepted_item": _rounded(sends.attempts_per_accepted_item),
        "retry_share": _rounded(sends.retry_share),
        "throttle_probability": round(
            throttle_probability(recent.requests, recent.accepted, pipeline.settings.client_throttle_k), 3
        ),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
