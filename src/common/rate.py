"""Events per second over a sliding window, in one-second buckets. Pure: the caller passes the clock."""

from __future__ import annotations

import math


class RateMeter:
    def __init__(self, window_seconds: int = 5) -> None:
        self.window = window_seconds
        self._buckets = [0] * (window_seconds + 1)
        self._bucket_second = [0] * (window_seconds + 1)
        self._started: float | None = None

    def add(self, now: float, count: int = 1) -> None:
        if self._started is None:
            self._started = now
        second = math.floor(now)
        slot = second % len(self._buckets)
        if self._bucket_second[slot] != second:
            self._bucket_second[slot] = second
            self._buckets[slot] = 0
        self._buckets[slot] += count

    def per_second(self, now: float) -> float:
        """Events per second over the last `window` whole seconds (shorter while the meter is young)."""
        if self._started is None:
            return 0.0
        current = math.floor(now)
        total = sum(
            count
            for count, second in zip(self._buckets, self._bucket_second, strict=True)
            if current - self.window <= second < current
        )
        span = min(float(self.window), max(1.0, current - math.floor(self._started)))
        return total / span

    def recent_total(self, now: float) -> int:
        """Events in the current second and the `window - 1` before it: up to the moment, for a decision that must
        see what it just did (per_second leaves the unfinished second out)."""
        current = math.floor(now)
        return sum(
            count
            for count, second in zip(self._buckets, self._bucket_second, strict=True)
            if current - self.window < second <= current
        )
