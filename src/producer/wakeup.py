"""A wake-up for tasks waiting until something changes (an item queued, space freed, a send slot freed): an
`asyncio.Event` that counts its waiters, so that the per-item side costs an attribute test while nobody waits."""

from __future__ import annotations

import asyncio


class Wakeup:
    __slots__ = ("_event", "waiting")

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.waiting = 0

    async def wait(self) -> None:
        """Wait for the next `wake`: one made before this call does not count, so look again after each wake-up."""
        self._event.clear()
        self.waiting += 1
        try:
            await self._event.wait()
        finally:
            self.waiting -= 1

    def wake(self) -> None:
        """Wake every task waiting now; nothing while none does."""
        if self.waiting:
            self._event.set()
