"""Everything one running producer owns, and its lifespan: the HTTP session and the background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import aiohttp

from backpressure_lab.common import telemetry
from backpressure_lab.common.memory_watch import MemoryGauges, MemoryWatch
from backpressure_lab.producer.consumers import ConsumerEndpoints
from backpressure_lab.producer.generator import run_generator
from backpressure_lab.producer.metrics import ProducerMetrics
from backpressure_lab.producer.pipeline import Pipeline
from backpressure_lab.producer.send_gate import SendGate
from backpressure_lab.producer.sender import SenderPool
from backpressure_lab.producer.settings import ProducerSettings

MEMORY_SAMPLE_SECONDS = 1.0
SEND_GRACE_SECONDS = 2.0
"""At a stop, how long the items being delivered may take to finish (after uvicorn's STOP_GRACE_SECONDS for requests,
common/service.py). Queued items are not drained: the stop says how many were lost instead."""
# Connections per consumer as the largest sender_concurrency, so the setting, not the pool, is the limit.
MAX_CONNECTIONS_PER_CONSUMER = 256


@dataclass
class ProducerConfig:
    consumer_url: str = "http://127.0.0.1:8001"
    admin_token: str | None = None
    settings: ProducerSettings = field(default_factory=ProducerSettings)


class ProducerRuntime:
    def __init__(self, config: ProducerConfig, metrics: ProducerMetrics, tracing: bool) -> None:
        self.config = config
        self.pipeline = Pipeline(config.settings, metrics)
        self.memory = MemoryWatch(
            MemoryGauges(metrics.process_memory, metrics.memory_limit, metrics.memory_growth, metrics.seconds_to_limit)
        )
        self.gate = SendGate(config.settings, metrics)
        self.consumers = ConsumerEndpoints(config.consumer_url)
        metrics.consumers.set(self.consumers.count)
        self.tracing = tracing
        self.ready = False

    @contextlib.asynccontextmanager
    async def running(self, on_shutdown: Callable[[], None] | None) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(
            limit=0, limit_per_host=MAX_CONNECTIONS_PER_CONSUMER, keepalive_timeout=30, ttl_dns_cache=30
        )
        session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, connect=2.0),
            trace_configs=telemetry.client_trace_configs(self.tracing),
        )
        senders = SenderPool(self.pipeline, session, self.consumers, self.gate)
        self.memory.sample()
        feeding = [
            asyncio.create_task(run_generator(self.pipeline), name="generator"),
            asyncio.create_task(self._sample_memory(), name="memory"),
        ]
        sending = asyncio.create_task(senders.run(), name="senders")
        self.ready = True
        try:
            yield
        finally:
            self.ready = False
            for task in feeding:
                task.cancel()
            await asyncio.gather(*feeding, return_exceptions=True)
            cut_off = await senders.stop(SEND_GRACE_SECONDS)
            sending.cancel()
            await asyncio.gather(sending, return_exceptions=True)
            await session.close()
            print(stop_line(len(self.pipeline.queue), cut_off, SEND_GRACE_SECONDS), file=sys.stderr, flush=True)
            if on_shutdown is not None:
                on_shutdown()

    def use_consumers(self, listed: tuple[str, ...]) -> None:
        """Send to these consumer pods from now on (empty: the consumer Service); the senders resize at once."""
        self.consumers.replace(listed)
        self.gate.reconfigure(self.pipeline.settings, self.consumers.count)
        self.pipeline.metrics.consumers.set(self.consumers.count)
        self.pipeline.live.wake_listeners()

    async def _sample_memory(self) -> None:
        while True:
            await asyncio.sleep(MEMORY_SAMPLE_SECONDS)
            self.memory.sample()
            self.pipeline.sample(time.monotonic())


def stop_line(queued: int, in_flight: int, grace_seconds: float) -> str:
    """The one line a stopping producer logs: what it loses, and where each lost item was."""
    lost = queued + in_flight
    if not lost:
        return "producer stopped: no items lost"
    return (
        f"producer stopped: {lost} item{'' if lost == 1 else 's'} lost ({queued} queued, {in_flight} in flight, "
        f"cut off after a {grace_seconds:g} s grace)"
    )
