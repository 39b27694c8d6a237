"""The producer's live state, assembled: the settings, the queue, the mechanisms around it and the counts, with the
two ends of the queue (intake.py admits, dispatch.py hands out) and the one change that touches all of them.

Settings changes apply in place: the queue keeps its items, the generator and the senders read the new values on
their next step. Nothing is ever discarded silently: items evicted by a smaller capacity count as evicted (and as
rejected, as the original's clients read it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from backpressure_lab.common.settings import apply_changes
from backpressure_lab.producer.admission import excess
from backpressure_lab.producer.codel import Codel
from backpressure_lab.producer.dispatch import Dispatch
from backpressure_lab.producer.intake import Intake
from backpressure_lab.producer.littles_law import LittlesLaw, LittlesLawMeter
from backpressure_lab.producer.live_settings import LiveSettings
from backpressure_lab.producer.metrics import ProducerMetrics
from backpressure_lab.producer.send_history import SendHistory
from backpressure_lab.producer.settings import ProducerSettings, QueueMode
from backpressure_lab.producer.tallies import Measures, PriorityTallies, Tallies, Tally
from backpressure_lab.producer.token_bucket import TokenBucket
from backpressure_lab.producer.watermarks import WatermarkGate
from backpressure_lab.producer.work_queue import WorkQueue


@dataclass(frozen=True)
class SettingsOutcome:
    settings: ProducerSettings
    evicted: int


class Pipeline:
    def __init__(self, settings: ProducerSettings, metrics: ProducerMetrics) -> None:
        self.metrics = metrics
        self.live = LiveSettings(settings, metrics)
        self.queue = WorkQueue()
        self.bucket = TokenBucket.full(settings.rate_limit, settings.rate_limit_burst, time.monotonic())
        self.codel = Codel(settings.codel_target_ms / 1000.0, settings.codel_interval_ms / 1000.0)
        self.watermarks = WatermarkGate()
        self.measures = Measures(Tallies(metrics), PriorityTallies(metrics), LittlesLawMeter())
        self.intake = Intake(
            self.live,
            queue=self.queue,
            bucket=self.bucket,
            watermarks=self.watermarks,
            measures=self.measures,
            metrics=metrics,
        )
        self.dispatch = Dispatch(self.live, self.queue, self.codel, self.measures)
        self.sends = SendHistory()
        """The attempts of the last seconds, which the retry limits decide on and /status shows."""
        self.in_flight = 0
        """Sends awaiting a consumer's answer (the sender counts them)."""
        # Read when /metrics is scraped, so a gauge never shows a figure the producer no longer has, and the
        # per-item path pays nothing for them.
        metrics.queue_depth.set_function(lambda: len(self.queue))
        metrics.queue_memory.set_function(lambda: self.queue.memory_bytes)
        metrics.items_in_flight.set_function(lambda: self.in_flight)
        metrics.in_delivery.set_function(lambda: self.dispatch.in_delivery)
        metrics.oldest_wait.set_function(lambda: self.oldest_wait_seconds(time.monotonic()) or 0.0)
        metrics.watermark_paused.set_function(lambda: int(self.watermark_paused()))
        metrics.codel_overloaded.set_function(lambda: int(self.codel_overloaded()))

    def watermark_paused(self) -> bool:
        """Whether the watermarks hold the generator back now (never outside watermarks mode)."""
        return self.settings.mode is QueueMode.WATERMARKS and self.watermarks.paused

    def codel_overloaded(self) -> bool:
        """Whether CoDel sees a standing backlog now (never outside codel mode)."""
        return self.settings.mode is QueueMode.CODEL and self.codel.overloaded

    def oldest_wait_seconds(self, now: float) -> float | None:
        """How long the longest-waiting queued item has waited (None for an empty queue): the age that LIFO lets
        grow while it serves the newest at once."""
        oldest = self.queue.oldest_enqueued_at()
        return None if oldest is None else max(0.0, now - oldest)

    @property
    def settings(self) -> ProducerSettings:
        return self.live.current

    @property
    def tallies(self) -> Tallies:
        return self.measures.tallies

    def update_settings(self, changes: dict[str, Any]) -> SettingsOutcome:
        """Validate and apply `changes` (raises SettingsError, changing nothing, when any part is bad)."""
        new = apply_changes(self.settings, changes)
        now = time.monotonic()
        self.bucket.reconfigure(new.rate_limit, new.rate_limit_burst, now)
        self.codel.reconfigure(new.codel_target_ms / 1000.0, new.codel_interval_ms / 1000.0)
        evicted = self.queue.remove_newest(excess(new, len(self.queue)))
        self.tallies.add(Tally.REJECTED, evicted)
        self.tallies.add(Tally.EVICTED, evicted)
        self.measures.littles_law.reset()
        self.live.replace(new)
        self.queue.notify_space()
        return SettingsOutcome(new, evicted)

    def sample(self, now: float) -> LittlesLaw:
        """Once a second: feed the queue depth to Little's law and publish its figures."""
        meter = self.measures.littles_law
        meter.sample_depth(now, len(self.queue))
        law = meter.measure(now)
        self.metrics.littles_depth.set(law.depth)
        self.metrics.littles_arrival_rate.set(law.arrival_rate)
        self.metrics.littles_wait.set(law.mean_wait)
        self.metrics.littles_predicted_depth.set(law.predicted_depth)
        return law
