"""The producer's in-process queue: items in arrival order, their measured memory, and waiting for items or space."""

from __future__ import annotations

import asyncio
from collections import deque

from backpressure_lab.producer.items import WorkItem


class WorkQueue:
    def __init__(self) -> None:
        self._items: deque[WorkItem] = deque()
        self._memory_bytes = 0
        self._low_priority = 0
        self._item_ready = asyncio.Event()
        self._space_freed = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def memory_bytes(self) -> int:
        return self._memory_bytes

    def put(self, item: WorkItem) -> None:
        self._items.append(item)
        self._memory_bytes += item.memory_bytes
        if item.priority == "low":
            self._low_priority += 1
        self._item_ready.set()

    async def get(self) -> WorkItem:
        while not self._items:
            self._item_ready.clear()
            await self._item_ready.wait()
        item = self._items.popleft()
        self._forget(item)
        self._space_freed.set()
        if self._items:
            self._item_ready.set()
        return item

    async def wait_for_space(self) -> None:
        """Wait until an item leaves the queue (or `notify_space` is called)."""
        self._space_freed.clear()
        await self._space_freed.wait()

    def notify_space(self) -> None:
        """Wake a waiting generator, for instance after the capacity grew."""
        self._space_freed.set()

    def remove_newest(self, count: int) -> int:
        """Evict up to `count` of the newest items (the ones that would have waited longest); return how many."""
        removed = 0
        while removed < count and self._items:
            self._forget(self._items.pop())
            removed += 1
        return removed

    def has_low_priority(self) -> bool:
        return self._low_priority > 0

    def evict_newest_low_priority(self) -> WorkItem | None:
        """Evict the newest low-priority item, making room for a high-priority one."""
        for index in range(len(self._items) - 1, -1, -1):
            if self._items[index].priority == "low":
                item = self._items[index]
                del self._items[index]
                self._forget(item)
                return item
        return None

    def _forget(self, item: WorkItem) -> None:
        self._memory_bytes -= item.memory_bytes
        if item.priority == "low":
            self._low_priority -= 1

    def clear(self) -> int:
        removed = len(self._items)
        self._items.clear()
        self._memory_bytes = 0
        self._low_priority = 0
        self._space_freed.set()
        return removed
