"""Adaptive concurrency limits for the sender: how many sends may be in flight, learned from the consumer's answers.

Two algorithms, both pure (the caller passes the clock and each send's outcome):

- AIMD, after Netflix's concurrency-limits `AIMDLimit`: +1 after a full window of successes (one more send in flight
  per round trip), x`backoff` on a 503, a 429 or a timeout (at most once per round trip, so a burst of refusals from
  one overshoot is one decrease, not a collapse). After a decrease the limit holds for a cooldown before it probes
  upwards again: the consumer refuses at once when it is full, so every probe past its concurrency costs a 503, and
  the cooldown keeps those under 1% of the sends.
- Gradient, in the spirit of Netflix's `Gradient2Limit` and Envoy's adaptive concurrency filter: the ratio of the
  long-term round-trip time to the short-term one scales the limit down when latency rises (a queue forming behind
  the consumer), plus a small headroom (sqrt of the limit) that lets it grow; overload answers cut it like AIMD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """The shared overload rule: x`factor` but at least one send fewer, at most once per `spacing` seconds, then no
    increase for `cooldown` seconds (a small limit at 0.9x would otherwise stay above the consumer's capacity)."""

    factor: float = 0.9
    spacing: float = 0.25
    cooldown: float = 10.0
    last_decrease: float = -math.inf

    def apply(self, limit: float, now: float) -> float:
        if now - self.last_decrease < self.spacing:
            return limit
        self.last_decrease = now
        return max(1.0, min(limit * self.factor, math.floor(limit) - 1.0))

    def holding(self, now: float) -> bool:
        return now - self.last_decrease < self.cooldown


@dataclass
class AimdLimit:
    limit: float
    maximum: int
    backoff: Backoff = field(default_factory=Backoff)
    successes_in_window: int = 0

    def on_success(self, rtt: float, now: float) -> None:
        del rtt
        if self.backoff.holding(now):
            return
        self.successes_in_window += 1
        if self.successes_in_window >= math.floor(self.limit):
            self.successes_in_window = 0
            self.limit = min(float(self.maximum), self.limit + 1)

    def on_overload(self, now: float) -> None:
        self.limit = self.backoff.apply(self.limit, now)
        self.successes_in_window = 0

    @property
    def current(self) -> int:
        return max(1, math.floor(self.limit))


@dataclass
class GradientLimit:
    limit: float
    maximum: int
    backoff: Backoff = field(default_factory=Backoff)
    smoothing: float = 0.2
    short_rtt: float = 0.0
    long_rtt: float = 0.0
    long_window: int = 600
    samples: int = 0
    successes_in_window: int = 0

    def on_success(self, rtt: float, now: float) -> None:
        self.samples += 1
        short_weight = 2 / (1 + min(self.samples, 10))
        long_weight = 2 / (1 + min(self.samples, self.long_window))
        self.short_rtt = rtt if self.samples == 1 else self.short_rtt + short_weight * (rtt - self.short_rtt)
        self.long_rtt = rtt if self.samples == 1 else self.long_rtt + long_weight * (rtt - self.long_rtt)
        self.successes_in_window += 1
        if self.successes_in_window < math.floor(self.limit) or self.short_rtt <= 0:
            return
        self.successes_in_window = 0
        # Latency above its long-term level means a queue is forming: shrink (the gradient is kept in [0.5, 1] as
        # in Gradient2). The sqrt headroom lets the limit grow while latency is flat, unless an overload is recent.
        gradient = max(0.5, min(1.0, self.long_rtt / self.short_rtt))
        headroom = 0.0 if self.backoff.holding(now) else math.sqrt(self.limit)
        target = self.limit * gradient + headroom
        self.limit = min(float(self.maximum), max(1.0, (1 - self.smoothing) * self.limit + self.smoothing * target))

    def on_overload(self, now: float) -> None:
        self.limit = self.backoff.apply(self.limit, now)

    @property
    def current(self) -> int:
        return max(1, math.floor(self.limit))
