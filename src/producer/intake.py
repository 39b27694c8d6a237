"""Admission of new items into the queue: one path for every item, whatever brought it. The generator's items may
wait (for a token, for space, for the low watermark); a /produce caller's are admitted or refused at once. Both draw a
priority, so a full queue sheds low priority first for either. The decisions themselves are admission.py's (pure)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass

from backpressure_lab.producer.admission import Admission, Arrival, admit, burst_admissions
from backpressure_lab.producer.items import new_item
from backpressure_lab.producer.live_settings import SETTINGS_POLL_SECONDS, LiveSettings
from backpressure_lab.producer.metrics import PRIORITIES, ProducerMetrics
from backpressure_lab.producer.settings import ProducerSettings, QueueMode
from backpressure_lab.producer.tallies import Measures, Tally
from backpressure_lab.producer.token_bucket import TokenBucket
from backpressure_lab.producer.watermarks import WatermarkGate
from backpressure_lab.producer.work_queue import WorkQueue


@dataclass(frozen=True)
class BurstOutcome:
    produced: int
    rejected: int
    retry_after_seconds: float


class Intake:
    def __init__(
        self,
        live: LiveSettings,
        *,
        queue: WorkQueue,
        bucket: TokenBucket,
        watermarks: WatermarkGate,
        measures: Measures,
        metrics: ProducerMetrics,
    ) -> None:
        self._live, self._queue, self._bucket, self._watermarks = live, queue, bucket, watermarks
        self._measures, self._metrics = measures, metrics
        self._listener = live.listener()
        self._random = random.Random()

    async def admit_generated(self) -> bool:
        """Admit one generated item, waiting for a token or for space where the mode makes the generator wait.
        Returns whether it had to wait (the lab's backpressure reaching the generator)."""
        priority = self._draw_priority(self._live.current)
        waited = waited_for_token = False
        while True:
            decision, token_wait = self._offer(self._live.current, priority, can_wait=True)
            if decision is Admission.ADMIT:
                self._count_admitted(priority, 1)
                return waited
            if decision is Admission.REJECT:
                self._count_rejected(priority, 1)
                return waited
            waited = True
            if decision is Admission.WAIT_FOR_TOKEN:
                if not waited_for_token:  # an item that waits counts once, however often the wait wakes up
                    waited_for_token = True
                    self._measures.tallies.add(Tally.RATE_LIMIT_DELAYS)
                seconds = await self._live.wait_for_change(self._listener, min(token_wait, SETTINGS_POLL_SECONDS))
                self._measures.tallies.add(Tally.RATE_LIMIT_WAIT_SECONDS, seconds)
            else:
                started = time.monotonic()
                # Bounded wait: a settings change (a larger queue, another mode) is seen within the poll interval.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(SETTINGS_POLL_SECONDS):
                        await self._queue.wait_for_space()
                self._measures.tallies.add(Tally.QUEUE_FULL_WAIT_SECONDS, time.monotonic() - started)
            self._metrics.rate_limit_tokens.set(self._bucket.tokens)

    def admit_burst(self, count: int) -> BurstOutcome:
        """Admit what the mode allows of `count` items from a /produce caller, who is never made to wait."""
        # Decided item by item (each one changes the depth the next one sees) but counted once for the whole burst:
        # nothing reads the counts before this returns.
        settings = self._live.current
        admitted = dict.fromkeys(PRIORITIES, 0)
        rejected = dict.fromkeys(PRIORITIES, 0)
        decided_at_once = burst_admissions(settings, len(self._queue), count)
        if decided_at_once is not None:  # every item is low priority, and the depth alone decides
            for _ in range(decided_at_once):
                self._queue.put(new_item(settings.payload_bytes))
            admitted["low"], rejected["low"] = decided_at_once, count - decided_at_once
        else:
            for _ in range(count):
                priority = self._draw_priority(settings)
                if self._offer(settings, priority, can_wait=False)[0] is Admission.ADMIT:
                    admitted[priority] += 1
                else:
                    rejected[priority] += 1
        for priority, admissions in admitted.items():
            if admissions:
                self._count_admitted(priority, admissions)
        for priority, rejections in rejected.items():
            if rejections:
                self._count_rejected(priority, rejections)
        produced = sum(admitted.values())
        now = time.monotonic()
        # Retry-After counts whole seconds: a caller refused by a full queue is asked to wait one.
        retry_after = self._bucket.seconds_until(1, now) if settings.mode is QueueMode.RATE_LIMITED else 1.0
        return BurstOutcome(produced=produced, rejected=count - produced, retry_after_seconds=retry_after)

    def _offer(self, settings: ProducerSettings, priority: str, can_wait: bool) -> tuple[Admission, float]:
        """Decide one item's admission and carry out an admission (the item queued) or an eviction; a wait is left
        to the caller, and so is counting the item as admitted or rejected. Returns the decision and, for a token
        wait, the seconds until the next token."""
        mode = settings.mode
        token_wait = self._bucket.try_take(time.monotonic()) if mode is QueueMode.RATE_LIMITED else 0.0
        queue = self._queue
        depth = len(queue)
        paused = mode is QueueMode.WATERMARKS and self._watermarks.update(
            depth, settings.low_watermark, settings.high_watermark
        )
        arrival = Arrival(depth, token_wait == 0.0, can_wait, paused, priority == "high", queue.has_low_priority())
        decision = admit(settings, arrival)
        if decision is Admission.EVICT_LOW:
            evicted = queue.evict_newest_low_priority()
            if evicted is not None:  # admitted once, so an ending of its own as well as a rejection
                self._count_rejected(evicted.priority, 1)
                self._measures.tallies.add(Tally.EVICTED)
            decision = Admission.ADMIT
        if decision is Admission.ADMIT:
            queue.put(new_item(settings.payload_bytes, priority))
        return decision, token_wait

    def _count_admitted(self, priority: str, count: int) -> None:
        self._measures.tallies.add(Tally.PRODUCED, count)
        self._measures.priorities.add(priority, "produced", count)
        self._measures.littles_law.arrived(time.monotonic(), count)

    def _count_rejected(self, priority: str, count: int) -> None:
        self._measures.tallies.add(Tally.REJECTED, count)
        self._measures.priorities.add(priority, "rejected", count)

    def _draw_priority(self, settings: ProducerSettings) -> str:
        share = settings.high_priority_share
        return "high" if share > 0 and self._random.random() < share else "low"
