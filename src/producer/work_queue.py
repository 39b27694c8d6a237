"""The producer's in-process queue: items by priority in arrival order, their measured memory, and waiting for items
or space.

High-priority items leave first (strict priority), low-priority ones behind them, in arrival order or newest first;
with no high priority items (the default share is 0) this is a plain FIFO, or LIFO. Serving high first keeps the high
items few, so a full queue always holds a low item to evict for an arriving high one: "low priority is shed first"
then holds as long as high-priority work alone arrives slower than it is served.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from backpressure_lab.producer.items import WorkItem
from backpressure_lab.producer.wakeup import Wakeup


class WorkQueue:
    def __init__(self) -> None:
        self._high: deque[WorkItem] = deque()
        self._low: deque[WorkItem] = deque()
        self._memory_bytes = 0
        self._item_ready = Wakeup()
        self._space_freed = Wakeup()

    def __len__(self) -> int:
        return len(self._high) + len(self._low)

    @property
    def memory_bytes(self) -> int:
        return self._memory_bytes

    def put(self, item: WorkItem) -> None:
        (self._low if item.priority == "low" else self._high).append(item)
        self._memory_bytes += item.memory_bytes
        self._item_ready.wake()

    def take(self, newest_first: bool) -> WorkItem | None:
        """The next item now, None when the queue is empty: the oldest of its priority, or the newest."""
        items = self._high or self._low
        if not items:
            return None
        item = items.pop() if newest_first else items.popleft()
        self._memory_bytes -= item.memory_bytes
        self._space_freed.wake()
        return item

    async def get(self, newest_first: Callable[[], bool] = lambda: False) -> WorkItem:
        """The next item, waiting for one: `take` as `newest_first()` says at the moment one is there."""
        while (item := self.take(newest_first())) is None:
            await self._item_ready.wait()
        return item

    async def wait_for_space(self) -> None:
        """Wait until an item leaves the queue (or `notify_space` is called)."""
        await self._space_freed.wait()

    def notify_space(self) -> None:
        """Wake a waiting generator, for instance after the capacity grew."""
        self._space_freed.wake()

    def remove_newest(self, count: int) -> int:
        """Evict up to `count` of the newest items (the ones that would have waited longest); return how many."""
        removed = 0
        while removed < count and len(self):
            if not self._high or (self._low and self._low[-1].enqueued_at >= self._high[-1].enqueued_at):
                newest = self._low.pop()
            else:
                newest = self._high.pop()
            self._memory_bytes -= newest.memory_bytes
            removed += 1
        return removed

    def oldest_enqueued_at(self) -> float | None:
        """When the item that has waited longest was queued (monotonic seconds), None for an empty queue."""
        heads = [items[0].enqueued_at for items in (self._high, self._low) if items]
        return min(heads) if heads else None

    def has_low_priority(self) -> bool:
        return bool(self._low)

    def evict_newest_low_priority(self) -> WorkItem | None:
        """Evict the newest low-priority item, making room for a high-priority one."""
        if not self._low:
            return None
        item = self._low.pop()
        self._memory_bytes -= item.memory_bytes
        return item

    def clear(self) -> int:
        removed = len(self)
        self._high.clear()
        self._low.clear()
        self._memory_bytes = 0
        self.notify_space()
        return removed
