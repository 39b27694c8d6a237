"""Queue admission: whether an item may enter the queue now. Pure decisions, no I/O and no clock."""

from __future__ import annotations

from enum import Enum

from backpressure_lab.producer.settings import QueueMode


class Admission(Enum):
    ADMIT = "admit"
    REJECT = "reject"
    WAIT_FOR_SPACE = "wait_for_space"
    WAIT_FOR_TOKEN = "wait_for_token"


def capacity(mode: QueueMode, max_queue_size: int) -> int | None:
    """How many items the queue may hold in this mode (None: no limit)."""
    return max_queue_size if mode in (QueueMode.BOUNDED, QueueMode.BLOCK) else None


def admit(
    mode: QueueMode, queue_depth: int, max_queue_size: int, *, token_available: bool, can_wait: bool
) -> Admission:
    """Decide one item's admission.

    `can_wait` is True for the generator, which the lab slows down, and False for a `/produce` caller, who is told to
    come back later (429) instead.
    """
    limit = capacity(mode, max_queue_size)
    if limit is not None and queue_depth >= limit:
        return Admission.WAIT_FOR_SPACE if (mode is QueueMode.BLOCK and can_wait) else Admission.REJECT
    if mode is QueueMode.RATE_LIMITED and not token_available:
        return Admission.WAIT_FOR_TOKEN if can_wait else Admission.REJECT
    return Admission.ADMIT


def excess(mode: QueueMode, queue_depth: int, max_queue_size: int) -> int:
    """Items above the capacity after a settings change; they are evicted and counted as rejected."""
    limit = capacity(mode, max_queue_size)
    return 0 if limit is None else max(0, queue_depth - limit)
