"""When a drain ends, as the benchmarks time it: read from the consumer, whose CPU is not the one being measured.

A producer `/status` (a sort of its recent waits) costs the producer about a millisecond of CPU, taken from the drain
being timed; read every 50 ms that was 2 % of it. Each wait here is half of what the rest of the drain should take at
the rate seen so far, down to FINAL_POLL_SECONDS: a handful of reads per drain, and the end seen at most that late.
"""

from __future__ import annotations

import time

from tests.services.lab import Service

FULL_POLL_SECONDS = 0.5
FINAL_POLL_SECONDS = 0.005
STALL_SECONDS = 30.0
"""No item processed for this long: the drain has stopped (items dropped, or a service gone), and waiting on is
pointless."""


def processed(consumer: Service) -> int:
    count: int = consumer.status()["state"]["items_processed"]
    return count


def drained_after(consumer: Service, processed_before: int, items: int) -> float:
    """When the consumer had processed `items` more than `processed_before`: the drain's end wherever no item is
    refused, dropped or retried (the callers check their producer's counts for that afterwards)."""
    last: tuple[float, int] | None = None
    progressed_at = time.monotonic()
    while True:
        now = time.monotonic()
        done = processed(consumer) - processed_before
        if done >= items:
            return time.monotonic()
        wait = FULL_POLL_SECONDS
        if last is not None and done > last[1]:
            progressed_at = now
            rate = (done - last[1]) / (now - last[0])
            wait = min(FULL_POLL_SECONDS, max(FINAL_POLL_SECONDS, (items - done) / rate / 2))
        if now - progressed_at > STALL_SECONDS:
            raise AssertionError(
                f"the drain stopped: {done:,} of {items:,} items processed, none for {STALL_SECONDS:g} s"
            )
        last = (now, done)
        time.sleep(wait)
