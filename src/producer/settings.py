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
    CODEL = "codel"
    WATERMARKS = "watermarks"


_MODES = {mode.value: mode for mode in QueueMode}


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
        "pace admission with a token bucket (rate_limited), make the generator wait for space (block), shed items "
        "that waited too long at dequeue (codel), or pause the generator between two watermarks (watermarks)",
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
    # Two, not the original's one: a send costs the processing time plus a few milliseconds of HTTP, so one sender
    # moves 9.7 items/s against the 10 produced and the baseline's queue grows for ever. Two give twice the headroom.
    sender_concurrency: int = setting(
        2,
        "Items the producer sends at once to each consumer (one consumer, or each ready pod the operator lists)",
        unit="requests",
        minimum=1,
        maximum=256,
    )
    retry_budget: int = setting(
        3, "Retries of a failed send before the item is dropped", unit="retries", minimum=0, maximum=20
    )
    retry_backoff_ms: float = setting(
        100.0,
        "Base of the exponential backoff between retries (full jitter); 0 retries at once",
        unit="ms",
        minimum=0,
        maximum=10000,
    )
    honour_retry_after: bool = setting(
        True,
        "Wait at least the Retry-After a consumer's 503 or 429 asks for before retrying (off: only the backoff, as "
        "a naive client does)",
    )
    retry_budget_ratio: float = setting(
        0.0,
        "A retry budget for the producer as a whole: retries may be at most this share of its first attempts over "
        "the last 10 s (the SRE book's 0.1: one in ten); past it a failed item is dropped, not retried; 0 sets no "
        "such budget (retry_budget still limits each item)",
        minimum=0,
        maximum=20,
    )
    client_throttle_k: float = setting(
        0.0,
        "Client-side throttling (the SRE book's adaptive throttling): refuse an attempt locally, without sending "
        "it, with probability max(0, (requests - K*accepts) / (requests + 1)) over the last 10 s; a refused attempt "
        "counts against the item's retry_budget. 2 is the book's K; 0 turns it off",
        minimum=0,
        maximum=10,
    )
    send_timeout_ms: float = setting(
        10000.0, "Time a send may take before it counts as failed", unit="ms", minimum=10, maximum=300000
    )

    codel_target_ms: float = setting(
        500.0,
        "CoDel's target queue wait: a backlog that stays above it for an interval is shed (codel mode)",
        unit="ms",
        minimum=0,
        exclusive_minimum=True,
        maximum=60000,
    )
    codel_interval_ms: float = setting(
        1000.0,
        "CoDel's interval: how long the smallest wait must stay above the target before shedding",
        unit="ms",
        minimum=0,
        exclusive_minimum=True,
        maximum=600000,
    )
    high_watermark: int = setting(
        80,
        "Queue depth at which the generator pauses (watermarks mode)",
        unit="items",
        minimum=1,
        maximum=1_000_000,
    )
    low_watermark: int = setting(
        20,
        "Queue depth at which a paused generator resumes (watermarks mode)",
        unit="items",
        minimum=0,
        maximum=1_000_000,
    )
    high_priority_share: float = setting(
        0.0,
        "Fraction of generated items that are high priority; under pressure low priority is shed first",
        minimum=0,
        maximum=1,
    )

    item_deadline_ms: float = setting(
        0.0,
        "How long an item is worth having, from its creation: it is sent with that deadline (`deadline`, epoch "
        "seconds), and work finished after it is wasted; 0 sends no deadline",
        unit="ms",
        minimum=0,
        maximum=600000,
    )
    dequeue_order: str = setting(
        "fifo",
        "Which waiting item a sender takes next: the oldest (fifo), or the newest (lifo: under overload most items "
        "are served at once while the oldest wait longest); high priority still leaves first",
        choices=["fifo", "lifo"],
    )

    produce_overload_status: int = setting(
        200,
        "The status POST /produce answers when the queue refused items: 200 with the counts, as the original lab "
        "did (Retry-After still says when to try again), or 429 Too Many Requests (push-back a client must handle)",
        choices=[200, 429],
    )

    adaptive_concurrency: str = setting(
        "fixed",
        "How many sends may be in flight: always sender_concurrency (fixed), or a limit up to it learned from the "
        "consumer's answers: AIMD on 503, 429 and timeouts (aimd), or a latency gradient (gradient)",
        choices=["fixed", "aimd", "gradient"],
    )

    RULES: ClassVar[tuple[CrossFieldRule, ...]] = (
        CrossFieldRule("low_watermark", "<", "high_watermark"),
        CrossFieldRule("codel_target_ms", "<", "codel_interval_ms"),
    )

    @property
    def mode(self) -> QueueMode:
        return _MODES[self.queue_mode]  # read several times per item: a dict, not the enum's lookup by value
