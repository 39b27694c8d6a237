"""The queue's other end: items handed to the senders (CoDel sheds stale ones here, at dequeue), their delivery's
end, and clearing the queue. Every item that leaves is counted at one of its endings (tallies.py)."""

from __future__ import annotations

import time

from backpressure_lab.common.memory import release_free_heap
from backpressure_lab.producer.codel import Codel
from backpressure_lab.producer.items import WorkItem
from backpressure_lab.producer.littles_law import RecentWaits
from backpressure_lab.producer.live_settings import LiveSettings
from backpressure_lab.producer.settings import QueueMode
from backpressure_lab.producer.tallies import Measures, Tally
from backpressure_lab.producer.work_queue import WorkQueue


class Dispatch:
    def __init__(self, live: LiveSettings, queue: WorkQueue, codel: Codel, measures: Measures) -> None:
        self._live, self._queue, self._codel, self._measures = live, queue, codel, measures
        self.served_waits = RecentWaits()
        self.in_delivery = 0
        """Items taken from the queue whose delivery has not ended: `next_item` to `delivered`."""

    async def next_item(self) -> WorkItem:
        """The next item for a sender. In codel mode, items that waited too long in a standing backlog are shed
        here, at dequeue, and counted as expired (low priority first)."""
        queue = self._queue
        while True:
            # Taken at once while there is a backlog (no coroutine to make); waited for only when the queue is empty.
            item = queue.take(self._newest_first())
            if item is None:
                item = await queue.get(self._newest_first)
            now = time.monotonic()
            wait = now - item.enqueued_at
            self._measures.littles_law.departed(now, wait)
            settings = self._live.current
            if settings.mode is QueueMode.CODEL:
                low = item.priority == "low" and settings.high_priority_share > 0
                shed = self._codel.should_drop(wait, now, low_priority=low)
                if shed:
                    self._measures.tallies.add(Tally.EXPIRED)
                    self._measures.priorities.add(item.priority, "expired")
                    continue
            self.served_waits.add(now, wait)
            self.in_delivery += 1
            return item

    def _newest_first(self) -> bool:
        return self._live.current.dequeue_order == "lifo"

    def delivered(self, ending: Tally) -> None:
        """An item from `next_item` reached its ending (SENT or DROPPED)."""
        self._measures.tallies.add(ending)
        self.in_delivery -= 1

    def clear_queue(self) -> int:
        removed = self._queue.clear()
        self._measures.tallies.add(Tally.CLEARED, removed)
        self._measures.littles_law.reset()
        self.served_waits.reset()
        release_free_heap()
        return removed
