"""One watcher for the deadlines of every request body being read.

`asyncio.timeout` around each read armed and cancelled a timer per request, about 5 µs: a twentieth of what the
consumer spends per item in bench/one_hop.py (docs/performance.md). A body nearly always arrives with its headers, so
the reads are kept in a table instead, and one task looks at it ten times a second while any read is under way,
cancelling a read past its deadline as `asyncio.timeout` would have. A deadline is thus kept to within a tick.
"""

from __future__ import annotations

import asyncio
import time

TICK_SECONDS = 0.1


class ReadDeadlines:
    def __init__(self, tick_seconds: float = TICK_SECONDS) -> None:
        self._tick = tick_seconds
        self._deadlines: dict[asyncio.Task[object], float] = {}
        self._cut_off: set[asyncio.Task[object]] = set()
        self._watcher: asyncio.Task[None] | None = None

    def start(self, seconds: float) -> asyncio.Task[object]:
        """Watch the current task's read, due within `seconds`; end the read with `finish`, whatever happens."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a read deadline needs a running task")
        self._deadlines[task] = time.monotonic() + seconds
        watcher = self._watcher
        if watcher is None or watcher.done() or watcher.get_loop() is not task.get_loop():
            self._watcher = task.get_loop().create_task(self._watch())
        return task

    def finish(self, task: asyncio.Task[object]) -> bool:
        """Stop watching `task`'s read. True when its deadline passed and the watcher cancelled it."""
        self._deadlines.pop(task, None)
        if task in self._cut_off:
            self._cut_off.discard(task)
            return True
        return False

    def __len__(self) -> int:
        return len(self._deadlines)

    async def _watch(self) -> None:
        # Runs only while reads are watched: an idle service has no task waking for nothing.
        while self._deadlines:
            await asyncio.sleep(self._tick)
            now = time.monotonic()
            for task, deadline in list(self._deadlines.items()):
                if deadline <= now and task not in self._cut_off:
                    self._cut_off.add(task)
                    task.cancel()
