"""How close the queue's measured memory (queue.memory_bytes) is to what tracemalloc and RSS see for the same items.

Run: .venv/bin/python bench/memory_accounting.py
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backpressure_lab.common.memory import current_rss_bytes, release_free_heap
from backpressure_lab.producer.items import WorkItem, new_item
from backpressure_lab.producer.work_queue import WorkQueue
from bench.machine import describe


def fill(queue: WorkQueue, count: int, payload_bytes: int) -> None:
    for _ in range(count):
        queue.put(new_item(payload_bytes))


def against_tracemalloc(count: int, payload_bytes: int) -> tuple[int, int]:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    queue = WorkQueue()
    fill(queue, count, payload_bytes)
    traced = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return queue.memory_bytes, traced


def against_rss(count: int, payload_bytes: int) -> tuple[int, int]:
    gc.collect()
    release_free_heap()
    before = current_rss_bytes()
    queue = WorkQueue()
    fill(queue, count, payload_bytes)
    grown = current_rss_bytes() - before
    accounted = queue.memory_bytes
    queue.clear()
    return accounted, grown


def main() -> None:
    print(describe())
    print(f"one item object: {WorkItem.__name__} with slots; figures are bytes")
    for payload_bytes, count in ((0, 20_000), (1024, 20_000), (65536, 2_000), (65536, 4_000)):
        accounted, traced = against_tracemalloc(count, payload_bytes)
        print(
            f"tracemalloc: {count} items x {payload_bytes} B payload: accounted {accounted:,} traced {traced:,} "
            f"error {100 * (accounted - traced) / traced:+.1f}%"
        )
    for payload_bytes, count in ((1024, 50_000), (65536, 3_000)):
        accounted, grown = against_rss(count, payload_bytes)
        print(
            f"RSS:         {count} items x {payload_bytes} B payload: accounted {accounted:,} RSS growth {grown:,} "
            f"error {100 * (accounted - grown) / grown:+.1f}%"
        )


if __name__ == "__main__":
    main()
