"""The liveness verdict on the operator's background loops: an ended or hung loop fails the probe."""

from __future__ import annotations

import asyncio

from backpressure_lab.operator.liveness import LoopView, problems, report, stale_after
from backpressure_lab.operator.state import Heartbeat


def view(*, running: bool = True, last_round: float | None = 100.0, every: float = 5.0) -> LoopView:
    return LoopView("drift-check", running=running, every=every, started=0.0, last_round=last_round, rounds=3)


def test_a_loop_that_finishes_rounds_is_alive() -> None:
    assert problems([view()], now=101.0) == []
    assert report([view()], now=101.0)["drift-check"]["rounds"] == 3


def test_an_ended_loop_fails() -> None:
    assert problems([view(running=False)], now=101.0) == ["drift-check has stopped"]


def test_a_loop_without_a_round_for_too_long_fails() -> None:
    assert stale_after(5.0) == 60.0  # never sooner than a minute: one round may wait out the API's timeouts
    assert stale_after(30.0) == 180.0
    assert problems([view()], now=100.0 + 59.0) == []
    assert problems([view()], now=100.0 + 61.0) == ["drift-check has not finished a round for 61 s (every 5 s)"]
    assert problems([view(last_round=None)], now=61.0) == ["drift-check has not finished a round for 61 s (every 5 s)"]


def test_heartbeats_of_real_tasks() -> None:
    async def scenario() -> list[str]:
        async def one_round_then_crash(heartbeat: Heartbeat) -> None:
            heartbeat.round_starts()
            heartbeat.round_ends()
            raise RuntimeError("a bug")

        async def forever(heartbeat: Heartbeat) -> None:
            while True:
                heartbeat.round_starts()
                heartbeat.round_ends()
                await asyncio.sleep(0.01)

        crashing, running = Heartbeat(every=2.0), Heartbeat(every=2.0)
        crashing.task = asyncio.create_task(one_round_then_crash(crashing))
        running.task = asyncio.create_task(forever(running))
        await asyncio.sleep(0.05)
        found = problems([crashing.view("autoscaler"), running.view("drift-check")], asyncio.get_running_loop().time())
        assert crashing.rounds == 1
        assert crashing.last_round_started_at
        assert running.rounds > 1
        running.task.cancel()
        await asyncio.gather(crashing.task, running.task, return_exceptions=True)
        return found

    assert asyncio.run(scenario()) == ["autoscaler has stopped"]
