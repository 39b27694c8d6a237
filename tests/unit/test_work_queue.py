"""The producer's queue: strict priority out, arrival order (or newest first) within a priority, newest evicted
first."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from backpressure_lab.producer.items import WorkItem, new_item
from backpressure_lab.producer.work_queue import WorkQueue


def filled(priorities: str) -> tuple[WorkQueue, list[WorkItem]]:
    queue, items = WorkQueue(), []
    for letter in priorities:
        item = new_item(16, "high" if letter == "h" else "low")
        queue.put(item)
        items.append(item)
    return queue, items


def drain(queue: WorkQueue, newest_first: bool = False) -> list[WorkItem]:
    async def take_all() -> list[WorkItem]:
        return [await queue.get(lambda: newest_first) for _ in range(len(queue))]

    return asyncio.run(take_all())


def test_without_high_priority_it_is_a_fifo() -> None:
    queue, items = filled("llll")
    assert drain(queue) == items
    assert queue.memory_bytes == 0


def test_high_priority_leaves_first_each_priority_in_arrival_order() -> None:
    queue, items = filled("lhlh")
    assert drain(queue) == [items[1], items[3], items[0], items[2]]


def test_remove_newest_follows_arrival_order_across_priorities() -> None:
    queue, items = filled("lhlhl")
    assert queue.remove_newest(3) == 3
    assert drain(queue) == [items[1], items[0]]


def test_an_arriving_high_item_evicts_the_newest_low_one() -> None:
    queue, items = filled("lhl")
    assert queue.evict_newest_low_priority() is items[2]
    assert queue.has_low_priority()
    assert queue.evict_newest_low_priority() is items[0]
    assert not queue.has_low_priority()
    assert queue.evict_newest_low_priority() is None
    assert len(queue) == 1


@given(st.text(alphabet="hl", max_size=40))
def test_newest_first_serves_each_priority_in_reverse_arrival_order_high_first(priorities: str) -> None:
    queue, items = filled(priorities)
    oldest = min((item.enqueued_at for item in items), default=None)
    assert queue.oldest_enqueued_at() == oldest
    served = drain(queue, newest_first=True)
    high = [item for item in items if item.priority == "high"]
    low = [item for item in items if item.priority == "low"]
    assert served == high[::-1] + low[::-1]
    assert (queue.memory_bytes, queue.oldest_enqueued_at()) == (0, None)
