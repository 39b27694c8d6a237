"""When the generator's next item is due. Pure: the caller passes the clock.

The original lab computed its interval once at start-up, so a rate change did nothing until a restart. Here the
schedule is recomputed from the current rate at every step, and a generator that had to wait (for a token, for
space) starts a fresh schedule instead of catching up in a burst.
"""

from __future__ import annotations

from dataclasses import dataclass

# Fall this far behind (a slow event loop, a paused process) and the schedule restarts rather than bursting.
MAX_LAG_SECONDS = 1.0


@dataclass
class Schedule:
    next_due: float
    rate: float

    def due_in(self, now: float) -> float | None:
        """Seconds until the next item is due (<= 0: now). None while the rate is 0 (paused)."""
        if self.rate <= 0:
            return None
        return self.next_due - now

    def emitted(self, now: float, *, waited: bool) -> None:
        """Advance past one emitted item."""
        interval = 1.0 / self.rate
        if waited or now - self.next_due > MAX_LAG_SECONDS:
            self.next_due = now + interval
        else:
            self.next_due += interval

    def change_rate(self, rate: float, last_emitted: float) -> None:
        """Apply a new rate at once: the next item is due one new interval after the last one."""
        self.rate = rate
        if rate > 0:
            self.next_due = last_emitted + 1.0 / rate
