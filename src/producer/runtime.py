"""Everything one running producer owns, and its lifespan: the HTTP session and the background tasks."""

from __future__ import annotations

import asyncio
import contextlib
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
        tasks = [
            asyncio.create_task(run_generator(self.pipeline), name="generator"),
            asyncio.create_task(senders.run(), name="senders"),
            asyncio.create_task(self._sample_memory(), name="memory"),
        ]
        self.ready = True
        try:
            yield
        finally:
            self.ready = False
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await session.close()
            if on_shutdown is not None:
                on_shutdown()

    def use_consumers(self, listed: tuple[str, ...]) -> None:
        """Send to these consumer pods from now on (empty: the consumer Service); the senders resize at once."""
        self.consumers.replace(listed)
        self.gate.reconfigure(self.pipeline.settings, self.consumers.count)
        self.pipeline.metrics.consumers.set(self.consumers.count)
        self.pipeline.wake_listeners()

    async def _sample_memory(self) -> None:
        while True:
            await asyncio.sleep(MEMORY_SAMPLE_SECONDS)
            self.memory.sample()
            self.pipeline.sample(time.monotonic())
