"""Delivering one item to a consumer: its attempts, the retries with full-jitter backoff that honours the consumer's
Retry-After, and the spans of each (attempt_policy.py decides each one). The item is dropped, and counted, only
when its retries are spent or the producer's retry budget denies one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any, NamedTuple

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from opentelemetry.trace import Span, Status, StatusCode
from yarl import URL

from backpressure_lab.common.telemetry import Spans
from backpressure_lab.producer.attempt_policy import AttemptPolicy, Outcome
from backpressure_lab.producer.consumers import MAX_ENDPOINTS, ConsumerEndpoints
from backpressure_lab.producer.item_body import ItemBodies
from backpressure_lab.producer.items import WorkItem
from backpressure_lab.producer.pipeline import Pipeline
from backpressure_lab.producer.retry import parse_retry_after
from backpressure_lab.producer.send_gate import SendGate
from backpressure_lab.producer.settings import ProducerSettings
from backpressure_lab.producer.tallies import Tally


class Attempt(NamedTuple):
    status: int | None
    code: str
    retry_after: float | None


THROTTLED = Attempt(None, "throttled", None)
"""An attempt the client-side throttle refused: never sent, so no answer."""
NO_ANSWER = Attempt(None, "error", None)
"""A send that failed before an answer came (a refused connection, a reset, a cut-off)."""
TIMED_OUT = Attempt(None, "timeout", None)
_PLAIN_ANSWERS: dict[int, Attempt] = {}
"""The attempt for each status answered without Retry-After (nearly every answer), made once: a named tuple per send
was half a microsecond. At most one per three-digit status."""
JSON_HEADERS = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))
"""Every send's headers, made once: aiohttp copies a plain dict into a multidict at every request."""
MAX_PROCESS_URLS = 2 * MAX_ENDPOINTS


def _deadline(item: WorkItem, settings: ProducerSettings) -> float | None:
    return item.created_at + settings.item_deadline_ms / 1000.0 if settings.item_deadline_ms > 0 else None


class Delivery:
    def __init__(
        self, pipeline: Pipeline, session: aiohttp.ClientSession, consumers: ConsumerEndpoints, gate: SendGate
    ) -> None:
        self.pipeline = pipeline
        self.gate = gate
        self.session = session
        self.consumers = consumers
        self._policy = AttemptPolicy(pipeline.sends)
        self._spans = Spans("backpressure_lab.producer")
        self._timeout = aiohttp.ClientTimeout(total=pipeline.settings.send_timeout_ms / 1000.0)
        self._timeout_of = pipeline.settings
        self._process_urls: dict[str, URL] = {}
        self._bodies = ItemBodies()

    def deliver(self, item: WorkItem) -> Coroutine[Any, Any, str]:
        """The item's delivery, to await: its attempts, within a span while tracing is on. The body is made here, once
        for every attempt; without tracing the attempts are the coroutine itself, one frame less to resume at every
        answer."""
        pipeline = self.pipeline
        settings = pipeline.live.current
        waited = time.monotonic() - item.enqueued_at
        pipeline.metrics.queue_wait.observe(waited)
        body = self._bodies.encode(item, waited, _deadline(item, settings))
        if not self._spans.enabled:
            return self._attempts(body, None)
        return self._traced(item, waited, settings, body)

    async def _traced(self, item: WorkItem, waited: float, settings: ProducerSettings, body: bytes) -> str:
        with self._spans.start("send_to_consumer", start_time=item.enqueued_at_ns) as span:
            if span is not None and span.is_recording():
                self._spans.record("queue_wait", item.enqueued_at_ns, time.time_ns())
                span.set_attributes(
                    {
                        "item.id": item.id,
                        "queue.mode": settings.queue_mode,
                        "queue.size": len(self.pipeline.queue),
                        "queue.latency_seconds": waited,
                    }
                )
            outcome = await self._attempts(body, span)
            if span is not None and span.is_recording():
                span.set_attribute("send.outcome", outcome)
                if outcome != "sent":
                    span.set_status(Status(StatusCode.ERROR, f"item {outcome}"))
        return outcome

    async def _attempts(self, body: bytes, span: Span | None) -> str:
        pipeline, policy = self.pipeline, self._policy
        attempt = 0
        while True:
            attempt += 1
            settings = pipeline.live.current
            # One span per attempt, parent of the HTTP client span: its number, the response and what came of it.
            with self._spans.start("send_attempt") as attempt_span:
                # The client-side throttle may refuse the attempt before it is sent; either way the policy judges it.
                sendable = policy.begin(settings, attempt, time.monotonic())
                if sendable:
                    result = await self._send_once(body)
                    pipeline.metrics.responded(result.code)
                else:
                    result = THROTTLED
                    pipeline.tallies.add(Tally.THROTTLED)
                outcome = policy.outcome(settings, result.status, attempt, time.monotonic(), not sendable)
                if attempt_span is not None and attempt_span.is_recording():
                    attempt_span.set_attributes(
                        {"send.attempt": attempt, "send.response": result.code, "send.attempt.outcome": outcome}
                    )
            if span is not None and span.is_recording():
                span.set_attribute("send.attempts", attempt)
            if outcome is Outcome.SENT:
                pipeline.dispatch.delivered(Tally.SENT)
                return "sent"
            if outcome is not Outcome.RETRIED:
                if outcome is Outcome.DENIED:
                    pipeline.tallies.add(Tally.RETRIES_DENIED)
                pipeline.dispatch.delivered(Tally.DROPPED)
                return "dropped"
            pipeline.tallies.add(Tally.RETRIES)
            await asyncio.sleep(policy.delay(settings, attempt, result.retry_after))

    async def _send_once(self, body: bytes) -> Attempt:
        pipeline, gate = self.pipeline, self.gate
        timeout = self._send_timeout(pipeline.live.current)
        if not gate.try_acquire():
            await gate.acquire()
        consumer = self.consumers.acquire()
        pipeline.in_flight += 1
        started = time.monotonic()
        answer = NO_ANSWER
        try:
            async with self.session.post(
                self._process_url(consumer), data=body, headers=JSON_HEADERS, timeout=timeout
            ) as response:
                await response.read()
                answer = _answer(response.status, response.headers.get("Retry-After"))
        except TimeoutError:
            answer = TIMED_OUT
        except aiohttp.ClientError:
            pass
        finally:
            finished = time.monotonic()
            self.consumers.release(consumer)
            pipeline.metrics.send_duration.observe(finished - started)
            pipeline.in_flight -= 1
            gate.release(answer.code, finished - started, finished)
        return answer

    def _send_timeout(self, settings: ProducerSettings) -> aiohttp.ClientTimeout:
        if settings is not self._timeout_of:  # settings change only by replacement
            self._timeout = aiohttp.ClientTimeout(total=settings.send_timeout_ms / 1000.0)
            self._timeout_of = settings
        return self._timeout

    def _process_url(self, consumer: str) -> URL:
        """The consumer's /process URL, parsed once: aiohttp parses a URL given as text at every request."""
        url = self._process_urls.get(consumer)
        if url is None:
            if len(self._process_urls) >= MAX_PROCESS_URLS:  # consumers come and go: keep the ones in use
                self._process_urls.clear()
            url = self._process_urls[consumer] = URL(consumer + "/process")
        return url


def _answer(status: int, retry_after: str | None) -> Attempt:
    if retry_after is None:
        answer = _PLAIN_ANSWERS.get(status)
        if answer is None:
            answer = _PLAIN_ANSWERS[status] = Attempt(status, _code(status), None)
        return answer
    return Attempt(status, _code(status), parse_retry_after(retry_after))


def _code(status: int) -> str:
    return "2xx" if 200 <= status < 300 else str(status)
