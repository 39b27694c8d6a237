"""Send workers: take items from the queue and hand each to its delivery (delivery.py).

`sender_concurrency` workers per consumer run at once (the original lab had one, so more consumers could never help);
each send goes to the least busy consumer (consumers.py). Workers beyond the setting retire between items.
"""

from __future__ import annotations

import asyncio

import aiohttp

from backpressure_lab.producer.consumers import ConsumerEndpoints
from backpressure_lab.producer.delivery import Delivery
from backpressure_lab.producer.live_settings import SETTINGS_POLL_SECONDS
from backpressure_lab.producer.pipeline import Pipeline
from backpressure_lab.producer.send_gate import SendGate


class SenderPool:
    def __init__(
        self, pipeline: Pipeline, session: aiohttp.ClientSession, consumers: ConsumerEndpoints, gate: SendGate
    ) -> None:
        self.pipeline = pipeline
        self.gate = gate
        self.consumers = consumers
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._busy: set[int] = set()
        self._stopping = False
        self._delivery = Delivery(pipeline, session, consumers, gate)

    async def run(self) -> None:
        """Keep `sender_concurrency` workers per consumer; retire surplus ones between items."""
        settings_changed = self.pipeline.live.listener()
        try:
            while True:
                self.gate.reconfigure(self.pipeline.settings, self.consumers.count)
                target = self.gate.maximum
                for index in range(target):
                    if index not in self._workers and not self._stopping:
                        self._workers[index] = asyncio.create_task(self._work(index), name=f"sender-{index}")
                for index in [i for i in self._workers if i >= target and i not in self._busy]:
                    self._workers.pop(index).cancel()
                await self.pipeline.live.wait_for_change(settings_changed, SETTINGS_POLL_SECONDS)
        finally:
            for task in self._workers.values():
                task.cancel()
            await asyncio.gather(*self._workers.values(), return_exceptions=True)

    async def stop(self, grace_seconds: float) -> int:
        """Take no more items from the queue; give the items being delivered (retries included) `grace_seconds` to
        finish. Returns how many are still under way then: the caller cancels `run`, which cuts them off."""
        self._stopping = True
        for index, task in self._workers.items():
            if index not in self._busy:
                task.cancel()
        delivering = [task for index, task in self._workers.items() if index in self._busy]
        if delivering:
            await asyncio.wait(delivering, timeout=grace_seconds)
        return len(self._busy)

    async def _work(self, index: int) -> None:
        while index < self.gate.maximum and not self._stopping:
            item = await self.pipeline.dispatch.next_item()
            self._busy.add(index)
            try:
                await self._delivery.deliver(item)
            finally:
                self._busy.discard(index)
        self._workers.pop(index, None)
