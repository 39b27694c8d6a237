"""The producer's runtime settings, declared once (see common/settings.py for what is derived from this)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from backpressure_lab.common.settings import CrossFieldRule, setting


class QueueMode(StrEnum):
    UNBOUNDED = "unbounded"
    BOUNDED = "bounded"
    RATE_LIMITED = "rate_limited"
    BLOCK = "block"


# 64 KiB per item: under a 256 MiB limit with the consumer slowed 5x (2 items/s drained), an unbounded queue grows
# by 8 items/s at 10/s (OOM in about 7 minutes) and by 48 items/s at 50/s (about 70 seconds). bench/oom.py measures it.
DEFAULT_PAYLOAD_BYTES = 65536


@dataclass(frozen=True)
class ProducerSettings:
    production_rate: float = setting(
        10.0, "Work items the generator creates per second; 0 pauses it", unit="items/s", minimum=0, maximum=10000
    )
    queue_mode: str = setting(
        QueueMode.UNBOUNDED.value,
        "What the queue does when the producer outpaces the consumer: grow (unbounded), reject when full (bounded), "
        "pace admission with a token bucket (rate_limited), or make the generator wait for space (block)",
        choices=[mode.value for mode in QueueMode],
    )
    max_queue_size: int = setting(
        100, "Capacity of the queue in bounded and block modes", unit="items", minimum=1, maximum=1_000_000
    )
    rate_limit: float = setting(
        5.0,
        "Items admitted per second in rate_limited mode",
        unit="items/s",
        minimum=0,
        exclusive_minimum=True,
        maximum=10000,
    )
    rate_limit_burst: int = setting(
        5, "Tokens the rate limiter can save up for a burst", unit="items", minimum=1, maximum=10000
    )
    payload_bytes: int = setting(
        DEFAULT_PAYLOAD_BYTES,
        "Size of the freshly allocated payload each item carries",
        unit="bytes",
        minimum=0,
        maximum=4 * 1024 * 1024,
    )
    sender_concurrency: int = setting(
        1, "Items the producer sends to the consumer at once", unit="requests", minimum=1, maximum=256
    )
    retry_budget: int = setting(
        3, "Retries of a failed send before the item is dropped", unit="retries", minimum=0, maximum=20
    )
    retry_backoff_ms: float = setting(
        100.0, "Base of the exponential backoff between retries (full jitter)", unit="ms", minimum=1, maximum=10000
    )
    send_timeout_ms: float = setting(
        10000.0, "Time a send may take before it counts as failed", unit="ms", minimum=10, maximum=300000
    )

    RULES: ClassVar[tuple[CrossFieldRule, ...]] = ()

    @property
    def mode(self) -> QueueMode:
        return QueueMode(self.queue_mode)
