"""Queue admission: whether an item may enter the queue now. Pure decisions, no I/O and no clock."""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

from backpressure_lab.producer.settings import ProducerSettings, QueueMode


class Admission(Enum):
    ADMIT = "admit"
    REJECT = "reject"
    EVICT_LOW = "evict_low"
    WAIT_FOR_SPACE = "wait_for_space"
    WAIT_FOR_TOKEN = "wait_for_token"


class Arrival(NamedTuple):
    """What admission needs to know about the queue and the item, beyond the settings. A tuple: one is made per
    item, and a frozen dataclass costs four times as much to make."""

    depth: int
    token_available: bool = True
    can_wait: bool = True
    """True for the generator, which the lab slows down; False for a /produce caller, who gets a 429 instead."""
    watermark_paused: bool = False
    high_priority: bool = False
    low_priority_queued: bool = False


def capacity(settings: ProducerSettings) -> int | None:
    """How many items the queue may hold in this mode (None: no limit)."""
    mode = settings.mode
    if mode in (QueueMode.BOUNDED, QueueMode.BLOCK):
        return settings.max_queue_size
    if mode is QueueMode.WATERMARKS:
        return settings.high_watermark
    return None


def admit(settings: ProducerSettings, arrival: Arrival) -> Admission:
    """Decide one item's admission. A full bounded or block queue makes room for a high-priority item by evicting
    the newest low-priority one, so low priority is shed first."""
    mode = settings.mode
    limit = capacity(settings)
    if mode is QueueMode.WATERMARKS and (arrival.watermark_paused or arrival.depth >= settings.high_watermark):
        return Admission.WAIT_FOR_SPACE if arrival.can_wait else Admission.REJECT
    if limit is not None and arrival.depth >= limit:
        if arrival.high_priority and arrival.low_priority_queued:
            return Admission.EVICT_LOW
        return Admission.WAIT_FOR_SPACE if (mode is QueueMode.BLOCK and arrival.can_wait) else Admission.REJECT
    if mode is QueueMode.RATE_LIMITED and not arrival.token_available:
        return Admission.WAIT_FOR_TOKEN if arrival.can_wait else Admission.REJECT
    return Admission.ADMIT


def burst_admissions(settings: ProducerSettings, depth: int, count: int) -> int | None:
    """How many of `count` items arriving at once, none of which may wait, `admit` lets in, when each one's fate
    follows from the depth alone: no priority to draw, no token to take, no watermark to move. None otherwise, and
    each item is decided on its own. A /produce burst then costs one decision instead of one per item."""
    if settings.high_priority_share > 0 or settings.mode in (QueueMode.RATE_LIMITED, QueueMode.WATERMARKS):
        return None
    limit = capacity(settings)
    return count if limit is None else max(0, min(count, limit - depth))


def excess(settings: ProducerSettings, depth: int) -> int:
    """Items above the capacity after a settings change; they are evicted and counted as rejected."""
    limit = capacity(settings)
    return 0 if limit is None else max(0, depth - limit)
