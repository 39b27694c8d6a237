"""The producer's live state: settings, queue, rate limiter and counters, and the admission of new items.

Settings changes apply in place: the queue keeps its items, the generator and the senders read the new values on
their next step. Nothing is ever discarded silently: items evicted by a smaller capacity count as rejected.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from backpressure_lab.common.memory import release_free_heap
from backpressure_lab.common.settings import apply_changes
from backpressure_lab.producer.admission import Admission, admit, excess
from backpressure_lab.producer.items import WorkItem, new_item
from backpressure_lab.producer.metrics import ProducerMetrics
from backpressure_lab.producer.settings import ProducerSettings, QueueMode
from backpressure_lab.producer.token_bucket import TokenBucket
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
        self._settings_listeners: list[asyncio.Event] = []
        self.totals: dict[str, float] = dict.fromkeys(
            (
                "produced",
                "sent",
                "rejected",
                "dropped",
                "evicted",
                "retries",
                "rate_limit_delays",
                "rate_limit_wait_seconds",
                "queue_full_wait_seconds",
            ),
            0,
        )
        self.in_flight = 0
        self._admission_listener = self.settings_listener()
        self._publish_settings()

    # --- settings -----------------------------------------------------------------------------------------------
    def update_settings(self, changes: dict[str, Any]) -> SettingsOutcome:
        """Validate and apply `changes` (raises SettingsError, changing nothing, when any part is bad)."""
        new = apply_changes(self.settings, changes)
        self.settings = new
        self.bucket.reconfigure(new.rate_limit, new.rate_limit_burst, time.monotonic())
        evicted = self.queue.remove_newest(excess(new.mode, len(self.queue), new.max_queue_size))
        if evicted:
            self._count("rejected", evicted)
            self._count("evicted", evicted)
        self._publish_settings()
        self._publish_queue()
        self.queue.notify_space()
        for listener in self._settings_listeners:
            listener.set()
        return SettingsOutcome(new, evicted)

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

    # --- admission ----------------------------------------------------------------------------------------------
    def _enqueue(self, item: WorkItem) -> None:
        self.queue.put(item)
        self._count("produced")
        self._publish_queue()

    def _publish_queue(self) -> None:
        self.metrics.queue_depth.set(len(self.queue))
        self.metrics.queue_memory.set(self.queue.memory_bytes)

    def _count(self, name: str, amount: float = 1) -> None:
        self.totals[name] += amount
        metric = getattr(self.metrics, name, None)
        if metric is not None:
            metric.inc(amount)

    async def admit_generated(self) -> bool:
        """Admit one generated item, waiting for a token or for space when the mode says the generator waits.

        Returns whether the generator had to wait (the lab's backpressure reaching the generator).
        """
        waited = False
        while True:
            settings = self.settings
            now = time.monotonic()
            token_wait = self.bucket.try_take(now) if settings.mode is QueueMode.RATE_LIMITED else 0.0
            decision = admit(
                settings.mode,
                len(self.queue),
                settings.max_queue_size,
                token_available=token_wait == 0.0,
                can_wait=True,
            )
            if decision is Admission.ADMIT:
                self._enqueue(new_item(settings.payload_bytes))
                return waited
            if decision is Admission.REJECT:
                self._count("rejected")
                return waited
            waited = True
            if decision is Admission.WAIT_FOR_TOKEN:
                self._count("rate_limit_delays")
                seconds = await self.wait_for_settings_change(
                    self._admission_listener, min(token_wait, SETTINGS_POLL_SECONDS)
                )
                self._count("rate_limit_wait_seconds", seconds)
            else:
                started = time.monotonic()
                # Bounded wait: a settings change (a larger queue, another mode) is seen within the poll interval.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(SETTINGS_POLL_SECONDS):
                        await self.queue.wait_for_space()
                self._count("queue_full_wait_seconds", time.monotonic() - started)
            self.metrics.rate_limit_tokens.set(self.bucket.tokens)

    def admit_burst(self, count: int) -> BurstOutcome:
        """Admit what the mode allows of `count` items from a /produce caller, who is never made to wait."""
        settings = self.settings
        mode = settings.mode
        room = count
        if mode in (QueueMode.BOUNDED, QueueMode.BLOCK):
            room = max(0, min(count, settings.max_queue_size - len(self.queue)))
        # Retry-After counts whole seconds: a caller refused by a full queue is asked to wait one.
        retry_after = 1.0
        if mode is QueueMode.RATE_LIMITED:
            room = self.bucket.take_up_to(count, time.monotonic())
            retry_after = self.bucket.seconds_until(1, time.monotonic())
        for _ in range(room):
            self.queue.put(new_item(settings.payload_bytes))
        rejected = count - room
        self._count("produced", room)
        if rejected:
            self._count("rejected", rejected)
            self.metrics.pushed_back(429)
        self._publish_queue()
        return BurstOutcome(produced=room, rejected=rejected, retry_after_seconds=retry_after)

    # --- queue management ---------------------------------------------------------------------------------------
    def clear_queue(self) -> int:
        removed = self.queue.clear()
        self._publish_queue()
        release_free_heap()
        return removed

    async def next_item(self) -> WorkItem:
        item = await self.queue.get()
        self._publish_queue()
        return item
