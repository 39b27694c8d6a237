"""The producer's live state: settings, queue, rate limiter and counters, and the admission of new items.

Settings changes apply in place: the queue keeps its items, the generator and the senders read the new values on
their next step. Nothing is ever discarded silently: items evicted by a smaller capacity count as rejected.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass
from typing import Any

from backpressure_lab.common.memory import release_free_heap
from backpressure_lab.common.settings import apply_changes
from backpressure_lab.producer.admission import Admission, Arrival, admit, capacity, excess
from backpressure_lab.producer.codel import Codel
from backpressure_lab.producer.items import WorkItem, new_item
from backpressure_lab.producer.littles_law import LittlesLaw, LittlesLawMeter, RecentWaits
from backpressure_lab.producer.metrics import ProducerMetrics
from backpressure_lab.producer.settings import ProducerSettings, QueueMode
from backpressure_lab.producer.tallies import Tallies, Tally
from backpressure_lab.producer.token_bucket import TokenBucket
from backpressure_lab.producer.watermarks import WatermarkGate
from backpressure_lab.producer.work_queue import WorkQueue

# The generator re-checks its settings at least this often while it waits, so a change applies within a second.
SETTINGS_POLL_SECONDS = 0.25


@dataclass(frozen=True)
class BurstOutcome:
    produced: int
    rejected: int
    retry_after_seconds: float


@dataclass(frozen=True)
class SettingsOutcome:
    settings: ProducerSettings
    evicted: int


class Pipeline:
    def __init__(self, settings: ProducerSettings, metrics: ProducerMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.queue = WorkQueue()
        self.bucket = TokenBucket.full(settings.rate_limit, settings.rate_limit_burst, time.monotonic())
        self.codel = Codel(settings.codel_target_ms / 1000.0, settings.codel_interval_ms / 1000.0)
        self.watermarks = WatermarkGate()
        self.littles_law = LittlesLawMeter()
        self.served_waits = RecentWaits()
        self._random = random.Random()
        self._by_priority = {
            priority: dict.fromkeys(("produced", "rejected", "expired"), 0) for priority in ("high", "low")
        }
        self._settings_listeners: list[asyncio.Event] = []
        self.tallies = Tallies(metrics)
        self.in_flight = 0
        self.in_delivery = 0
        """Items taken from the queue whose delivery has not ended: `next_item` to `delivered`."""
        self._admission_listener = self.settings_listener()
        self._publish_settings()

    # --- settings -----------------------------------------------------------------------------------------------
    def update_settings(self, changes: dict[str, Any]) -> SettingsOutcome:
        """Validate and apply `changes` (raises SettingsError, changing nothing, when any part is bad)."""
        new = apply_changes(self.settings, changes)
        self.settings = new
        self.bucket.reconfigure(new.rate_limit, new.rate_limit_burst, time.monotonic())
        self.codel.reconfigure(new.codel_target_ms / 1000.0, new.codel_interval_ms / 1000.0)
        evicted = self.queue.remove_newest(excess(new, len(self.queue)))
        self.tallies.add(Tally.REJECTED, evicted)
        self.tallies.add(Tally.EVICTED, evicted)
        self.littles_law.reset()
        self._publish_settings()
        self._publish_queue()
        self.queue.notify_space()
        self.wake_listeners()
        return SettingsOutcome(new, evicted)

    def wake_listeners(self) -> None:
        """Wake every background task waiting in `wait_for_settings_change` (settings or consumers changed)."""
        for listener in self._settings_listeners:
            listener.set()

    def settings_listener(self) -> asyncio.Event:
        """An event set at every settings change; each background task takes its own and clears it itself."""
        event = asyncio.Event()
        self._settings_listeners.append(event)
        return event

    async def wait_for_settings_change(self, listener: asyncio.Event, seconds: float) -> float:
        """Sleep up to `seconds`, waking early on a settings change; return the seconds slept."""
        started = time.monotonic()
        listener.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await listener.wait()
        return time.monotonic() - started

    def _publish_settings(self) -> None:
        self.metrics.sender_concurrency.set(self.settings.sender_concurrency)
        self.metrics.max_queue_size.set(self.settings.max_queue_size)
        self.metrics.production_rate.set(self.settings.production_rate)
        self.metrics.high_watermark.set(self.settings.high_watermark)
        self.metrics.low_watermark.set(self.settings.low_watermark)

    # --- admission ----------------------------------------------------------------------------------------------
    def _enqueue(self, item: WorkItem) -> None:
        self.queue.put(item)
        self.tallies.add(Tally.PRODUCED)
        self._count_priority(item.priority, "produced")
        self.littles_law.arrived(time.monotonic())
        self._publish_queue()

    def _reject(self, priority: str, amount: int = 1) -> None:
        self.tallies.add(Tally.REJECTED, amount)
        self._count_priority(priority, "rejected", amount)

    def _count_priority(self, priority: str, outcome: str, amount: int = 1) -> None:
        self._by_priority[priority][outcome] += amount
        self.metrics.priority_outcome(priority, outcome, amount)

    def priority_totals(self) -> dict[str, dict[str, int]]:
        return {priority: dict(outcomes) for priority, outcomes in self._by_priority.items()}

    def _draw_priority(self) -> str:
        share = self.settings.high_priority_share
        return "high" if share > 0 and self._random.random() < share else "low"

    def _watermark_paused(self) -> bool:
        settings = self.settings
        paused = settings.mode is QueueMode.WATERMARKS and self.watermarks.update(
            len(self.queue), settings.low_watermark, settings.high_watermark
        )
        self.metrics.watermark_paused.set(1 if paused else 0)
        return paused

    def _publish_queue(self) -> None:
        self.metrics.queue_depth.set(len(self.queue))
        self.metrics.queue_memory.set(self.queue.memory_bytes)

    async def admit_generated(self) -> bool:
        """Admit one generated item, waiting for a token or for space when the mode says the generator waits.

        Returns whether the generator had to wait (the lab's backpressure reaching the generator).
        """
        waited = False
        waited_for_token = False
        priority = self._draw_priority()
        while True:
            settings = self.settings
            now = time.monotonic()
            token_wait = self.bucket.try_take(now) if settings.mode is QueueMode.RATE_LIMITED else 0.0
            arrival = Arrival(
                depth=len(self.queue),
                token_available=token_wait == 0.0,
                watermark_paused=self._watermark_paused(),
                high_priority=priority == "high",
                low_priority_queued=self.queue.has_low_priority(),
            )
            decision = admit(settings, arrival)
            if decision is Admission.EVICT_LOW:
                evicted = self.queue.evict_newest_low_priority()
                if evicted is not None:  # admitted once, so an ending of its own as well as a rejection
                    self._reject(evicted.priority)
                    self.tallies.add(Tally.EVICTED)
                decision = Admission.ADMIT
            if decision is Admission.ADMIT:
                self._enqueue(new_item(settings.payload_bytes, priority))
                return waited
            if decision is Admission.REJECT:
                self._reject(priority)
                return waited
            waited = True
            if decision is Admission.WAIT_FOR_TOKEN:
                if not waited_for_token:  # an item that waits counts once, however often the wait wakes up
                    waited_for_token = True
                    self.tallies.add(Tally.RATE_LIMIT_DELAYS)
                seconds = await self.wait_for_settings_change(
                    self._admission_listener, min(token_wait, SETTINGS_POLL_SECONDS)
                )
                self.tallies.add(Tally.RATE_LIMIT_WAIT_SECONDS, seconds)
            else:
                started = time.monotonic()
                # Bounded wait: a settings change (a larger queue, another mode) is seen within the poll interval.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(SETTINGS_POLL_SECONDS):
                        await self.queue.wait_for_space()
                self.tallies.add(Tally.QUEUE_FULL_WAIT_SECONDS, time.monotonic() - started)
            self.metrics.rate_limit_tokens.set(self.bucket.tokens)

    def admit_burst(self, count: int) -> BurstOutcome:
        """Admit what the mode allows of `count` items from a /produce caller, who is never made to wait."""
        settings = self.settings
        mode = settings.mode
        limit = capacity(settings)
        room = count if limit is None else max(0, min(count, limit - len(self.queue)))
        if self._watermark_paused():
            room = 0
        # Retry-After counts whole seconds: a caller refused by a full queue is asked to wait one.
        retry_after = 1.0
        if mode is QueueMode.RATE_LIMITED:
            room = self.bucket.take_up_to(count, time.monotonic())
            retry_after = self.bucket.seconds_until(1, time.monotonic())
        now = time.monotonic()
        for _ in range(room):
            self.queue.put(new_item(settings.payload_bytes))
        self.littles_law.arrived(now, room)
        rejected = count - room
        self.tallies.add(Tally.PRODUCED, room)
        self._count_priority("low", "produced", room)
        if rejected:
            self._reject("low", rejected)
        self._publish_queue()
        return BurstOutcome(produced=room, rejected=rejected, retry_after_seconds=retry_after)

    # --- queue management ---------------------------------------------------------------------------------------
    def clear_queue(self) -> int:
        removed = self.queue.clear()
        self.tallies.add(Tally.CLEARED, removed)
        self.littles_law.reset()
        self._publish_queue()
        release_free_heap()
        return removed

    async def next_item(self) -> WorkItem:
        """The next item for a sender. In codel mode, items that waited too long in a standing backlog are shed
        here, at dequeue, and counted as expired (low priority first)."""
        while True:
            item = await self.queue.get()
            self._publish_queue()  # at once: /metrics must never show a depth the queue no longer has
            now = time.monotonic()
            wait = now - item.enqueued_at
            self.littles_law.departed(now, wait)
            if self.settings.mode is QueueMode.CODEL:
                low = item.priority == "low" and self.settings.high_priority_share > 0
                shed = self.codel.should_drop(wait, now, low_priority=low)
                self.metrics.codel_overloaded.set(1 if self.codel.overloaded else 0)
                if shed:
                    self.tallies.add(Tally.EXPIRED)
                    self._count_priority(item.priority, "expired")
                    continue
            self.served_waits.add(now, wait)
            self.in_delivery += 1
            self.metrics.in_delivery.inc()
            return item

    def delivered(self, ending: Tally) -> None:
        """An item from `next_item` reached its ending (SENT or DROPPED)."""
        self.tallies.add(ending)
        self.in_delivery -= 1
        self.metrics.in_delivery.dec()

    def sample(self, now: float) -> LittlesLaw:
        """Once a second: feed the queue depth to Little's law and publish its figures."""
        self.littles_law.sample_depth(now, len(self.queue))
        law = self.littles_law.measure(now)
        self.metrics.littles_depth.set(law.depth)
        self.metrics.littles_arrival_rate.set(law.arrival_rate)
        self.metrics.littles_wait.set(law.mean_wait)
        self.metrics.littles_predicted_depth.set(law.predicted_depth)
        self._publish_queue()
        return law
