"""Little's law, L = λW, measured: queue depth L against arrival rate λ times mean queue wait W.

L is the time-average of the depth samples, λ the admissions per second and W the mean wait of the items that left
the queue, all over the same sliding window. In a steady state the prediction λW matches the measured L. Pure: the
caller passes the clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class LittlesLaw:
    depth: float
    arrival_rate: float
    mean_wait: float

    @property
    def predicted_depth(self) -> float:
        return self.arrival_rate * self.mean_wait

    @property
    def error(self) -> float | None:
        """Relative error of the prediction against the measured depth (None for an empty queue)."""
        return None if self.depth <= 0 else (self.predicted_depth - self.depth) / self.depth


class RecentWaits:
    """The queue waits of the items handed to the senders over the last few seconds, for a percentile."""

    def __init__(self, window_seconds: float = 10.0) -> None:
        self.window = window_seconds
        self._waits: deque[tuple[float, float]] = deque()

    def add(self, now: float, wait: float) -> None:
        self._waits.append((now, wait))
        while self._waits and now - self._waits[0][0] > self.window:
            self._waits.popleft()

    def percentile(self, now: float, fraction: float) -> float | None:
        waits = sorted(wait for at, wait in self._waits if now - at <= self.window)
        if not waits:
            return None
        return waits[min(len(waits) - 1, int(fraction * len(waits)))]


class LittlesLawMeter:
    def __init__(self, window_seconds: float = 30.0) -> None:
        self.window = window_seconds
        self._arrivals: deque[tuple[float, int]] = deque()
        self._departures: deque[tuple[float, float]] = deque()
        self._depths: deque[tuple[float, int]] = deque()

    def _trim(self, now: float) -> None:
        for events in (self._arrivals, self._departures, self._depths):
            while events and now - events[0][0] > self.window:
                events.popleft()

    def reset(self) -> None:
        """Forget the old regime: after a settings change or a cleared queue, a steady state starts anew."""
        self._arrivals.clear()
        self._departures.clear()
        self._depths.clear()

    def arrived(self, now: float, count: int = 1) -> None:
        if self._arrivals and self._arrivals[-1][0] == now:
            self._arrivals[-1] = (now, self._arrivals[-1][1] + count)
        else:
            self._arrivals.append((now, count))

    def departed(self, now: float, wait: float) -> None:
        self._departures.append((now, wait))

    def sample_depth(self, now: float, depth: int) -> None:
        self._depths.append((now, depth))
        self._trim(now)

    def measure(self, now: float) -> LittlesLaw:
        self._trim(now)
        span = min(self.window, now - self._depths[0][0]) if self._depths else 0.0
        depth = sum(d for _, d in self._depths) / len(self._depths) if self._depths else 0.0
        arrivals = sum(c for _, c in self._arrivals)
        waits = [w for _, w in self._departures]
        return LittlesLaw(
            depth=depth,
            arrival_rate=arrivals / span if span > 0 else 0.0,
            mean_wait=sum(waits) / len(waits) if waits else 0.0,
        )
