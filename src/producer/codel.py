"""CoDel for the queue, after folly's Codel (used by Wangle and Proxygen): shed items that waited too long.

Each interval, the smallest queue wait seen decides whether the queue is overloaded: a queue that never drops below
the target wait for a whole interval holds a standing backlog, not a burst. While overloaded, an item whose wait is
past the slough limit (2x the target, as in folly; the target itself for low priority, so low sheds first) is
dropped at dequeue and counted as expired. Pure: the caller passes the clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class Codel:
    target: float
    interval: float
    interval_ends: float | None = None
    min_wait: float = math.inf
    overloaded: bool = False

    def reconfigure(self, target: float, interval: float) -> None:
        self.target = target
        self.interval = interval

    def should_drop(self, wait: float, now: float, *, low_priority: bool = False) -> bool:
        if self.interval_ends is None:
            self.interval_ends = now + self.interval
        if now > self.interval_ends:
            self.overloaded = self.min_wait > self.target
            self.interval_ends = now + self.interval
            self.min_wait = wait
        else:
            self.min_wait = min(self.min_wait, wait)
        slough = self.target if low_priority else 2 * self.target
        return self.overloaded and wait > slough
