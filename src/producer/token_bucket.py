"""A token bucket: `rate` tokens per second, holding at most `burst`. Pure: the caller passes the clock."""

from __future__ import annotations

from dataclasses import dataclass

# Refills add rate * elapsed in floating point: 0.9999999999999998 tokens is a whole token, or the caller would be
# told to wait 4e-17 s, a wait that a float clock cannot even advance by.
_EPSILON = 1e-9


@dataclass
class TokenBucket:
    rate: float
    burst: int
    tokens: float
    updated_at: float

    @classmethod
    def full(cls, rate: float, burst: int, now: float) -> TokenBucket:
        return cls(rate=rate, burst=burst, tokens=float(burst), updated_at=now)

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated_at)
        self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
        self.updated_at = now

    def reconfigure(self, rate: float, burst: int, now: float) -> None:
        """Change the rate and burst, keeping the tokens already earned (capped at the new burst)."""
        self._refill(now)
        self.rate = rate
        self.burst = burst
        self.tokens = min(self.tokens, float(burst))

    def try_take(self, now: float) -> float:
        """Take one token. Return 0.0 on success, else the seconds until a token will be there."""
        self._refill(now)
        if self.tokens >= 1.0 - _EPSILON:
            self.tokens = max(0.0, self.tokens - 1.0)
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def take_up_to(self, count: int, now: float) -> int:
        """Take as many tokens as there are, up to `count`; return how many were taken."""
        self._refill(now)
        taken = min(count, int(self.tokens + _EPSILON))
        self.tokens = max(0.0, self.tokens - taken)
        return taken

    def seconds_until(self, count: int, now: float) -> float:
        """Seconds until `count` tokens will be there (0.0 if they already are)."""
        self._refill(now)
        return max(0.0, (count - self.tokens) / self.rate)
