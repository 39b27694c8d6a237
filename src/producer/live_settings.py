"""The producer's settings as they are now, and the wake-up every background task gets when they change."""

from __future__ import annotations

import asyncio
import contextlib
import time

from backpressure_lab.producer.metrics import ProducerMetrics
from backpressure_lab.producer.settings import ProducerSettings

# The generator re-checks its settings at least this often while it waits, so a change applies within a second.
SETTINGS_POLL_SECONDS = 0.25


class LiveSettings:
    def __init__(self, settings: ProducerSettings, metrics: ProducerMetrics) -> None:
        self.current = settings
        self._metrics = metrics
        self._listeners: list[asyncio.Event] = []
        self._publish()

    def replace(self, settings: ProducerSettings) -> None:
        """Make `settings` current (already validated), publish them and wake every listener."""
        self.current = settings
        self._publish()
        self.wake_listeners()

    def wake_listeners(self) -> None:
        """Wake every background task waiting in `wait_for_change` (settings or consumers changed)."""
        for listener in self._listeners:
            listener.set()

    def listener(self) -> asyncio.Event:
        """An event set at every change; each background task takes its own and clears it itself."""
        event = asyncio.Event()
        self._listeners.append(event)
        return event

    async def wait_for_change(self, listener: asyncio.Event, seconds: float) -> float:
        """Sleep up to `seconds`, waking early on a change; return the seconds slept."""
        started = time.monotonic()
        listener.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await listener.wait()
        return time.monotonic() - started

    def _publish(self) -> None:
        settings, metrics = self.current, self._metrics
        metrics.sender_concurrency.set(settings.sender_concurrency)
        metrics.max_queue_size.set(settings.max_queue_size)
        metrics.production_rate.set(settings.production_rate)
        metrics.high_watermark.set(settings.high_watermark)
        metrics.low_watermark.set(settings.low_watermark)
