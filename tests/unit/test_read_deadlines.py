"""One watcher for every body read's deadline (common/read_deadlines.py): it cuts off what is late, only that, and
leaves no task behind."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from backpressure_lab.common.read_deadlines import ReadDeadlines


async def watched_read(deadlines: ReadDeadlines, seconds: float, takes: float) -> str:
    task = deadlines.start(seconds)
    try:
        await asyncio.sleep(takes)
    except asyncio.CancelledError:
        if deadlines.finish(task):
            task.uncancel()
            return "cut off"
        raise
    finally:
        deadlines.finish(task)
    return "read"


def test_a_late_read_is_cut_off_within_a_tick_of_its_deadline() -> None:
    deadlines = ReadDeadlines(tick_seconds=0.05)
    started = time.monotonic()
    assert asyncio.run(watched_read(deadlines, 0.2, takes=30)) == "cut off"
    assert 0.2 <= time.monotonic() - started < 5  # 0.25 s but for a loaded machine's delays
    assert len(deadlines) == 0


def test_reads_within_their_deadline_are_left_alone_beside_a_late_one() -> None:
    async def scenario() -> list[str]:
        deadlines = ReadDeadlines(tick_seconds=0.02)
        reads = [watched_read(deadlines, 5, takes=0.05 * n) for n in range(5)]
        return await asyncio.gather(watched_read(deadlines, 0.1, takes=30), *reads)

    assert asyncio.run(scenario()) == ["cut off"] + ["read"] * 5


def test_a_cancellation_that_is_not_the_deadlines_goes_through() -> None:
    async def scenario() -> bool:
        deadlines = ReadDeadlines(tick_seconds=0.02)
        read = asyncio.create_task(watched_read(deadlines, 5, takes=30))
        await asyncio.sleep(0.05)
        read.cancel()  # a stop, say
        with contextlib.suppress(asyncio.CancelledError):
            await read
        return read.cancelled()

    assert asyncio.run(scenario())


def test_the_watcher_stops_when_no_read_is_watched_and_starts_again_for_the_next() -> None:
    async def scenario() -> tuple[int, str, int]:
        deadlines = ReadDeadlines(tick_seconds=0.02)
        await watched_read(deadlines, 5, takes=0.01)
        await asyncio.sleep(0.1)
        idle_tasks = len(asyncio.all_tasks()) - 1  # all but this one
        late = await watched_read(deadlines, 0.05, takes=30)
        await asyncio.sleep(0.1)
        return idle_tasks, late, len(asyncio.all_tasks()) - 1

    assert asyncio.run(scenario()) == (0, "cut off", 0)


def test_one_table_serves_reads_on_successive_event_loops() -> None:
    deadlines = ReadDeadlines(tick_seconds=0.02)
    assert asyncio.run(watched_read(deadlines, 0.05, takes=30)) == "cut off"
    assert asyncio.run(watched_read(deadlines, 0.05, takes=30)) == "cut off"


def test_a_deadline_needs_a_task() -> None:
    with pytest.raises(RuntimeError, match="running"):
        ReadDeadlines().start(1)
