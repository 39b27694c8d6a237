"""The gate every send passes: at most `limit` sends in flight, where the limit is `sender_concurrency` per consumer
(see consumers.py) or, in an adaptive mode, what the AIMD or gradient algorithm has learned from the consumers'
answers, up to that."""

from __future__ import annotations

from backpressure_lab.producer.concurrency_limit import AimdLimit, GradientLimit
from backpressure_lab.producer.metrics import ProducerMetrics
from backpressure_lab.producer.settings import ProducerSettings
from backpressure_lab.producer.wakeup import Wakeup

# An adaptive limit starts low and learns upwards: starting at the maximum would flood a small consumer with 503s.
INITIAL_ADAPTIVE_LIMIT = 2
OVERLOAD_CODES = frozenset({"429", "503", "timeout"})
# Weights of the round-trip-time averages exported for the dashboard (short: last ~10 sends, long: ~600).
SHORT_RTT_WEIGHT = 0.2
LONG_RTT_WEIGHT = 0.005


class SendGate:
    def __init__(self, settings: ProducerSettings, metrics: ProducerMetrics) -> None:
        self._metrics = metrics
        self._in_flight = 0
        self._freed = Wakeup()
        metrics.rtt.labels("producer", "short").set_function(lambda: self.short_rtt)
        metrics.rtt.labels("producer", "long").set_function(lambda: self.long_rtt)
        self._maximum = settings.sender_concurrency
        self._mode = ""
        self._algorithm: AimdLimit | GradientLimit | None = None
        self.short_rtt = 0.0
        self.long_rtt = 0.0
        self.reconfigure(settings, consumers=1)

    @property
    def maximum(self) -> int:
        """`sender_concurrency` for each consumer the producer sends to."""
        return self._maximum

    def reconfigure(self, settings: ProducerSettings, consumers: int) -> None:
        maximum = self._maximum = settings.sender_concurrency * max(consumers, 1)
        if settings.adaptive_concurrency != self._mode:
            self._mode = settings.adaptive_concurrency
            start = float(min(INITIAL_ADAPTIVE_LIMIT, maximum))
            if self._mode == "aimd":
                self._algorithm = AimdLimit(limit=start, maximum=maximum)
            elif self._mode == "gradient":
                self._algorithm = GradientLimit(limit=start, maximum=maximum)
            else:
                self._algorithm = None
        elif self._algorithm is not None:
            self._algorithm.maximum = maximum
            self._algorithm.limit = min(self._algorithm.limit, float(maximum))
        self._metrics.concurrency_limit.set(self.limit())

    def limit(self) -> int:
        if self._algorithm is None:
            return self._maximum
        return min(self._algorithm.current, self._maximum)

    def try_acquire(self) -> bool:
        """Take a free slot now, if there is one: the usual case, with no coroutine to make and await."""
        if self._in_flight < self.limit():
            self._in_flight += 1
            return True
        return False

    async def acquire(self) -> None:
        # One event loop: a free slot is taken at once, with no lock; a send that finds none waits for a release, then
        # looks again, as every waiter woken by the same release does.
        while not self.try_acquire():
            await self._freed.wait()

    def release(self, code: str, rtt: float, now: float) -> None:
        """Learn from one send's answer: a 2xx and its round trip, or an overload (429, 503, timeout)."""
        if code == "2xx":
            self.short_rtt = rtt if self.short_rtt == 0 else self.short_rtt + SHORT_RTT_WEIGHT * (rtt - self.short_rtt)
            self.long_rtt = rtt if self.long_rtt == 0 else self.long_rtt + LONG_RTT_WEIGHT * (rtt - self.long_rtt)
            if self._algorithm is not None:
                self._algorithm.on_success(rtt, now)
        elif code in OVERLOAD_CODES and self._algorithm is not None:
            self._algorithm.on_overload(now)
        if self._algorithm is not None:  # only a learning algorithm moves the limit between reconfigures
            self._metrics.concurrency_limit.set(self.limit())
        self._in_flight -= 1
        # Synchronous, so the send path's `finally` awaits nothing: waking the waiters needs no lock.
        self._freed.wake()
