"""Send workers: take items from the queue and deliver them to the consumers, retrying with backoff.

`sender_concurrency` workers per consumer run at once (the original lab had one, so more consumers could never help);
each send goes to the least busy consumer (consumers.py). A failed
send is retried with full-jitter backoff that honours the consumer's Retry-After; an item is dropped, and counted,
only when its retry budget is spent.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass

import aiohttp
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from backpressure_lab.producer.consumers import ConsumerEndpoints
from backpressure_lab.producer.items import WorkItem
from backpressure_lab.producer.pipeline import SETTINGS_POLL_SECONDS, Pipeline
from backpressure_lab.producer.retry import backoff_seconds, is_retryable, parse_retry_after
from backpressure_lab.producer.send_gate import SendGate
from backpressure_lab.producer.tallies import Tally

tracer = trace.get_tracer("backpressure_lab.producer")


@dataclass(frozen=True)
class Attempt:
    status: int | None
    code: str
    retry_after: float | None


class SenderPool:
    def __init__(
        self, pipeline: Pipeline, session: aiohttp.ClientSession, consumers: ConsumerEndpoints, gate: SendGate
    ) -> None:
        self.pipeline = pipeline
        self.gate = gate
        self.session = session
        self.consumers = consumers
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._busy: set[int] = set()
        self._stopping = False
        self._random = random.Random()

    async def run(self) -> None:
        """Keep `sender_concurrency` workers per consumer; retire surplus ones between items."""
        settings_changed = self.pipeline.settings_listener()
        try:
            while True:
                self.gate.reconfigure(self.pipeline.settings, self.consumers.count)
                target = self.gate.maximum
                for index in range(target):
                    if index not in self._workers and not self._stopping:
                        self._workers[index] = asyncio.create_task(self._work(index), name=f"sender-{index}")
                for index in [i for i in self._workers if i >= target and i not in self._busy]:
                    self._workers.pop(index).cancel()
                await self.pipeline.wait_for_settings_change(settings_changed, SETTINGS_POLL_SECONDS)
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
            item = await self.pipeline.next_item()
            self._busy.add(index)
            try:
                await self.deliver(item)
            finally:
                self._busy.discard(index)
        self._workers.pop(index, None)

    async def deliver(self, item: WorkItem) -> None:
        pipeline = self.pipeline
        settings = pipeline.settings
        waited = time.monotonic() - item.enqueued_at
        pipeline.metrics.queue_wait.observe(waited)
        dequeued_ns = time.time_ns()
        with tracer.start_as_current_span("send_to_consumer", start_time=item.enqueued_at_ns) as span:
            if span.is_recording():
                tracer.start_span("queue_wait", start_time=item.enqueued_at_ns).end(end_time=dequeued_ns)
                span.set_attributes(
                    {
                        "item.id": item.id,
                        "queue.mode": settings.queue_mode,
                        "queue.size": len(pipeline.queue),
                        "queue.latency_seconds": waited,
                    }
                )
            body = json.dumps(
                {"id": item.id, "created_at": item.created_at, "payload": item.payload, "queue_latency_seconds": waited}
            ).encode()
            outcome = await self._attempts(body, span)
            if span.is_recording():
                span.set_attribute("send.outcome", outcome)
                if outcome != "sent":
                    span.set_status(Status(StatusCode.ERROR, f"item {outcome}"))

    async def _attempts(self, body: bytes, span: Span) -> str:
        pipeline = self.pipeline
        attempt = 0
        while True:
            attempt += 1
            # One span per attempt, parent of the HTTP client span: its number, the response and what came of it.
            with tracer.start_as_current_span("send_attempt") as attempt_span:
                result = await self._send_once(body)
                outcome = self._attempt_outcome(result, attempt)
                if attempt_span.is_recording():
                    attempt_span.set_attributes(
                        {"send.attempt": attempt, "send.response": result.code, "send.attempt.outcome": outcome}
                    )
            pipeline.metrics.responded(result.code)
            if span.is_recording():
                span.set_attribute("send.attempts", attempt)
            if outcome == "sent":
                pipeline.delivered(Tally.SENT)
                return "sent"
            if outcome == "dropped":
                pipeline.delivered(Tally.DROPPED)
                return "dropped"
            pipeline.tallies.add(Tally.RETRIES)
            delay = backoff_seconds(
                attempt, pipeline.settings.retry_backoff_ms, self._random.random(), result.retry_after
            )
            await asyncio.sleep(delay)

    def _attempt_outcome(self, result: Attempt, attempt: int) -> str:
        """sent, retried (another attempt follows) or dropped (not retryable, or the retry budget is spent)."""
        if result.status is not None and 200 <= result.status < 300:
            return "sent"
        retries_left = self.pipeline.settings.retry_budget - (attempt - 1)
        return "retried" if is_retryable(result.status) and retries_left > 0 else "dropped"

    async def _send_once(self, body: bytes) -> Attempt:
        metrics = self.pipeline.metrics
        timeout = aiohttp.ClientTimeout(total=self.pipeline.settings.send_timeout_ms / 1000.0)
        await self.gate.acquire()
        consumer = self.consumers.acquire()
        self.pipeline.in_flight += 1
        metrics.items_in_flight.inc()
        started = time.monotonic()
        code = "error"
        try:
            async with self.session.post(
                consumer + "/process", data=body, headers={"Content-Type": "application/json"}, timeout=timeout
            ) as response:
                await response.read()
                code = _code(response.status)
                return Attempt(response.status, code, parse_retry_after(response.headers.get("Retry-After")))
        except TimeoutError:
            code = "timeout"
            return Attempt(None, code, None)
        except aiohttp.ClientError:
            return Attempt(None, code, None)
        finally:
            finished = time.monotonic()
            self.consumers.release(consumer)
            metrics.send_duration.observe(finished - started)
            self.pipeline.in_flight -= 1
            metrics.items_in_flight.dec()
            await self.gate.release(code, finished - started, finished)


def _code(status: int) -> str:
    return "2xx" if 200 <= status < 300 else str(status)
