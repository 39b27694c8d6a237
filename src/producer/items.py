"""Work items and what each one costs in memory.

Every item carries a payload allocated for it alone, so an unbounded queue really eats memory (the original lab
shared one string between all items, and its queue grew by under 1 KB per item). The cost is measured from the
objects' real sizes, not guessed from a string form: bench/memory_accounting.py compares it with tracemalloc and RSS.
"""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass

# CPython serves objects up to 512 bytes from its own pools; larger ones come from malloc, whose chunk header and
# alignment add about 16 bytes each.
_PYMALLOC_LIMIT = 512
_MALLOC_OVERHEAD = 16
_DEQUE_SLOT = 8
# CPython keeps one empty string and one string per Latin-1 character: payloads this short are shared, not allocated.
_SHARED_STRING_LENGTH = 1


@dataclass(slots=True)
class WorkItem:
    id: str
    created_at: float
    """Wall-clock seconds (the original contract's field, for people to read)."""
    enqueued_at: float
    """Monotonic seconds, for the queue wait: never compare clocks across processes."""
    enqueued_at_ns: int
    """Wall-clock nanoseconds, where the queue-wait span starts."""
    payload: str
    memory_bytes: int = 0
    priority: str = "low"
    """"high" or "low": under pressure low priority is shed first (a shared constant string, not counted)."""


def _allocated(size: int) -> int:
    return size + (_MALLOC_OVERHEAD if size > _PYMALLOC_LIMIT else 0)


def measure(item: WorkItem) -> int:
    """Bytes the item holds while it waits in the queue: the item, its fields' objects and its queue slot."""
    size = sys.getsizeof
    return (
        _allocated(size(item))
        + _allocated(size(item.id))
        + _allocated(size(item.created_at))
        + _allocated(size(item.enqueued_at))
        + _allocated(size(item.enqueued_at_ns))
        + (_allocated(size(item.payload)) if len(item.payload) > _SHARED_STRING_LENGTH else 0)
        + _DEQUE_SLOT
    )


_measured_by_payload: dict[int, int] = {}
"""`measure` of an item by its payload's length. Every other field has the same size in every item (a 36-character
id, two floats, a nanosecond clock reading of the same magnitude, the same slots), so one measurement per payload
length serves all: measuring each item was a microsecond of the producer's per-item cost."""


def new_item(payload_bytes: int, priority: str = "low") -> WorkItem:
    # str * n allocates and writes every byte, so the memory is really resident, not a lazily mapped zero page.
    item = WorkItem(
        id=str(uuid.uuid4()),
        created_at=time.time(),
        enqueued_at=time.monotonic(),
        enqueued_at_ns=time.time_ns(),
        payload="x" * payload_bytes,
        priority=priority,
    )
    measured = _measured_by_payload.get(payload_bytes)
    if measured is None:
        measured = _measured_by_payload[payload_bytes] = measure(item)
    item.memory_bytes = measured
    return item
