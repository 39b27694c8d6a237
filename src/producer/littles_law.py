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
        self._times: deque[float] = deque()
        self._waits: deque[float] = deque()

    def add(self, now: float, wait: float) -> None:
        self._times.append(now)
        self._waits.append(wait)
        self._forget_before(now)

    def percentile(self, now: float, fraction: float) -> float | None:
        return self.percentiles(now, (fraction,))[0]

    def percentiles(self, now: float, fractions: tuple[float, ...]) -> list[float | None]:
        """Several percentiles from one sort (None each while no item was sent in the window)."""
        self._forget_before(now)
        if not self._waits:
            return [None] * len(fractions)
        # A bare float sort, in C: at a few thousand sends a second the window holds tens of thousands of waits.
        waits = sorted(self._waits)
        return [waits[min(len(waits) - 1, int(fraction * len(waits)))] for fraction in fractions]

    def reset(self) -> None:
        """Forget every wait: the queue was cleared, and the waits of its items say nothing of the next ones."""
        self._times.clear()
        self._waits.clear()

    def _forget_before(self, now: float) -> None:
        times, waits = self._times, self._waits
        while times and now - times[0] > self.window:
            times.popleft()
            waits.popleft()


class LittlesLawMeter:
    """The three figures over a sliding window, each kept as a running sum beside its events, so that a reading
    costs the same at 10 items/s and at 3,000 (/status and the once-a-second sample both read it)."""

    def __init__(self, window_seconds: float = 30.0) -> None:
        self.window = window_seconds
        self._arrivals: deque[tuple[float, int]] = deque()
        # Departures come one per item sent: two deques of floats, which the cyclic garbage collector never tracks,
        # where a deque of (time, wait) tuples added a tracked object per item to every young collection's walk.
        self._departure_times: deque[float] = deque()
        self._departure_waits: deque[float] = deque()
        self._depths: deque[tuple[float, int]] = deque()
        self._arrived = 0
        self._waited = 0.0
        self._depth_total = 0

    def _trim(self, now: float) -> None:
        while self._arrivals and now - self._arrivals[0][0] > self.window:
            self._arrived -= self._arrivals.popleft()[1]
        times, waits = self._departure_times, self._departure_waits
        while times and now - times[0] > self.window:
            times.popleft()
            self._waited -= waits.popleft()
        while self._depths and now - self._depths[0][0] > self.window:
            self._depth_total -= self._depths.popleft()[1]
        if not times:
            self._waited = 0.0  # no float residue from the subtractions once the window is empty

    def reset(self) -> None:
        """Forget the old regime: after a settings change or a cleared queue, a steady state starts anew."""
        self._arrivals.clear()
        self._departure_times.clear()
        self._departure_waits.clear()
        self._depths.clear()
        self._arrived, self._waited, self._depth_total = 0, 0.0, 0

    def arrived(self, now: float, count: int = 1) -> None:
        if self._arrivals and self._arrivals[-1][0] == now:
            self._arrivals[-1] = (now, self._arrivals[-1][1] + count)
        else:
            self._arrivals.append((now, count))
        self._arrived += count

    def departed(self, now: float, wait: float) -> None:
        self._departure_times.append(now)
        self._departure_waits.append(wait)
        self._waited += wait

    def sample_depth(self, now: float, depth: int) -> None:
        self._depths.append((now, depth))
        self._depth_total += depth
        self._trim(now)

    def measure(self, now: float) -> LittlesLaw:
        self._trim(now)
        span = min(self.window, now - self._depths[0][0]) if self._depths else 0.0
        departures = len(self._departure_times)
        return LittlesLaw(
            depth=self._depth_total / len(self._depths) if self._depths else 0.0,
            arrival_rate=self._arrived / span if span > 0 else 0.0,
            mean_wait=self._waited / departures if departures else 0.0,
        )
