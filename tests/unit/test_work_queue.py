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


@given(st.text(alphabet="hl", max_size=40), st.booleans())
def test_take_serves_what_get_would_serve_and_nothing_once_empty(priorities: str, newest_first: bool) -> None:
    """The senders take from a backlog without awaiting: the same items in the same order as `get` gives them."""
    queue, items = filled(priorities)
    twin = WorkQueue()
    for item in items:
        twin.put(item)
    taken = [queue.take(newest_first) for _ in items]
    assert taken == drain(twin, newest_first)
    assert queue.take(newest_first) is None
    assert queue.memory_bytes == 0


def test_a_get_on_an_empty_queue_waits_for_the_next_item() -> None:
    async def scenario() -> tuple[bool, WorkItem, WorkItem]:
        queue = WorkQueue()
        waiting = asyncio.create_task(queue.get())
        for _ in range(3):
            await asyncio.sleep(0)
        waited = not waiting.done()
        item = new_item(16)
        queue.put(item)
        return waited, await asyncio.wait_for(waiting, 1), item

    waited, got, put = asyncio.run(scenario())
    assert waited
    assert got is put


def test_every_waiting_get_is_served_as_items_arrive_one_at_a_time() -> None:
    """A put wakes the waiting senders only while some wait: each of them still gets an item, none gets two."""

    async def scenario() -> tuple[list[WorkItem], list[WorkItem]]:
        queue = WorkQueue()
        waiting = [asyncio.create_task(queue.get()) for _ in range(4)]
        put = []
        for _ in range(4):
            await asyncio.sleep(0)
            item = new_item(16)
            queue.put(item)
            put.append(item)
        return put, list(await asyncio.wait_for(asyncio.gather(*waiting), 1))

    put, got = asyncio.run(scenario())
    assert sorted(map(id, got)) == sorted(map(id, put))


def test_a_wait_for_space_ends_at_the_next_take_and_not_at_an_earlier_one() -> None:
    """A take wakes the generator only while it waits for space; one that timed out leaves nothing stale behind."""

    async def scenario() -> tuple[bool, bool, bool]:
        queue, _ = filled("lll")
        queue.take(newest_first=False)  # nobody waits: this take must not end the next wait early
        first = asyncio.create_task(queue.wait_for_space())
        for _ in range(3):
            await asyncio.sleep(0)
        waited_before_a_take = not first.done()
        queue.take(newest_first=False)
        await asyncio.wait_for(first, 1)
        try:
            await asyncio.wait_for(queue.wait_for_space(), 0.01)
            timed_out = False
        except TimeoutError:
            timed_out = True
        again = asyncio.create_task(queue.wait_for_space())
        await asyncio.sleep(0)
        still_waiting = not again.done()
        queue.take(newest_first=False)
        await asyncio.wait_for(again, 1)
        return waited_before_a_take, timed_out, still_waiting

    assert asyncio.run(scenario()) == (True, True, True)
