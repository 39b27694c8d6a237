"""The send gate: at most `limit` sends in flight, a waiting send let through by the next release, and its round-trip
gauges read when /metrics is scraped (issue R took the per-send lock and gauge writes off the hot path)."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from backpressure_lab.producer.metrics import ProducerMetrics
from backpressure_lab.producer.send_gate import SendGate
from backpressure_lab.producer.settings import ProducerSettings


def gate_of(sender_concurrency: int) -> tuple[SendGate, CollectorRegistry]:
    registry = CollectorRegistry()
    return SendGate(ProducerSettings(sender_concurrency=sender_concurrency), ProducerMetrics(registry)), registry


def test_a_send_beyond_the_limit_waits_for_a_release() -> None:
    async def scenario() -> list[str]:
        gate, _ = gate_of(2)
        events: list[str] = []
        await gate.acquire()
        await gate.acquire()

        async def third() -> None:
            await gate.acquire()
            events.append("third in")

        waiting = asyncio.create_task(third())
        for _ in range(5):
            await asyncio.sleep(0)
        events.append("released")
        gate.release("2xx", 0.01, 1.0)
        await asyncio.wait_for(waiting, 1.0)
        return events

    assert asyncio.run(scenario()) == ["released", "third in"]


def test_every_waiting_send_gets_through_as_slots_free() -> None:
    async def scenario() -> int:
        gate, _ = gate_of(3)
        through = 0
        most_at_once = 0
        in_flight = 0

        async def send() -> None:
            nonlocal through, most_at_once, in_flight
            await gate.acquire()
            in_flight += 1
            most_at_once = max(most_at_once, in_flight)
            await asyncio.sleep(0.001)
            in_flight -= 1
            through += 1
            gate.release("2xx", 0.001, 1.0)

        await asyncio.wait_for(asyncio.gather(*(send() for _ in range(50))), 10)
        assert most_at_once == 3
        return through

    assert asyncio.run(scenario()) == 50


def test_the_round_trip_gauges_are_read_at_scrape_time() -> None:
    async def scenario() -> None:
        gate, registry = gate_of(4)
        await gate.acquire()
        gate.release("2xx", 0.25, 1.0)
        short = registry.get_sample_value("backpressure_rtt_seconds", {"service": "producer", "window": "short"})
        assert short == gate.short_rtt == 0.25

    asyncio.run(scenario())


def test_a_free_slot_is_taken_at_once_and_none_past_the_limit() -> None:
    gate, _ = gate_of(2)
    assert gate.try_acquire()
    assert gate.try_acquire()
    assert not gate.try_acquire()
    gate.release("2xx", 0.01, 1.0)
    assert gate.try_acquire()
    assert not gate.try_acquire()
