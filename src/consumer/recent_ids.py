"""The ids of the items processed lately, so that the consumer recognises an item it has already seen.

Delivery is at least once: a send that times out while the consumer still works on the item is retried, and the
item is processed twice. The consumer does not refuse the second copy (it cannot know the first one's answer got
lost); it counts it, so that the lab shows what at-least-once costs. Memory is bounded: the oldest ids are forgotten.
"""

from __future__ import annotations

from collections import OrderedDict

REMEMBERED_IDS = 100_000


class RecentIds:
    def __init__(self, capacity: int = REMEMBERED_IDS) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def seen_before(self, item_id: str) -> bool:
        """Remember `item_id`; True when it was among the ids remembered already."""
        if item_id in self._ids:
            self._ids.move_to_end(item_id)
            return True
        self._ids[item_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return False

    def __len__(self) -> int:
        return len(self._ids)
