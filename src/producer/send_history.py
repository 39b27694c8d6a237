"""What the producer's sends did over the last few seconds, for the retry limits (retry_limits.py) and for /status:
the attempts an item took (first or retry), those sent and those throttled locally, and the consumers' accepts.
Pure: the caller passes the clock."""

from __future__ import annotations

from dataclasses import dataclass

from backpressure_lab.common.rate import RateMeter

WINDOW_SECONDS = 10


@dataclass(frozen=True)
class SendCounts:
    """Over the window: per second (`per_second`), or totals up to the moment (`recent`); the ratios are the same."""

    first_attempts: float
    retries: float
    sent: float
    """Attempts that went out to a consumer (first or retry); the rest were throttled locally."""
    throttled: float
    accepted: float

    @property
    def requests(self) -> float:
        """Every attempt the producer wanted to make: the SRE book's `requests`."""
        return self.first_attempts + self.retries

    @property
    def attempts_per_accepted_item(self) -> float | None:
        """Sends a consumer received for each item it accepted: 1.0 without retries; the retry storm's factor."""
        return self.sent / self.accepted if self.accepted > 0 else None

    @property
    def retry_share(self) -> float | None:
        """Retries per first attempt: what the retry budget bounds."""
        return self.retries / self.first_attempts if self.first_attempts > 0 else None


class SendHistory:
    def __init__(self, window_seconds: int = WINDOW_SECONDS) -> None:
        self._first_attempts = RateMeter(window_seconds)
        self._retries = RateMeter(window_seconds)
        self._throttled = RateMeter(window_seconds)
        self._accepted = RateMeter(window_seconds)

    def attempted(self, now: float, retry: bool) -> None:
        (self._retries if retry else self._first_attempts).add(now)

    def throttled(self, now: float) -> None:
        self._throttled.add(now)

    def accepted(self, now: float) -> None:
        self._accepted.add(now)

    def per_second(self, now: float) -> SendCounts:
        """Per second over the last whole seconds: the figures /status shows."""
        return self._counts(*(meter.per_second(now) for meter in self._meters))

    def recent(self, now: float) -> SendCounts:
        """Totals up to this moment: what the retry limits decide on."""
        return self._counts(*(float(meter.recent_total(now)) for meter in self._meters))

    @property
    def _meters(self) -> tuple[RateMeter, ...]:
        return self._first_attempts, self._retries, self._throttled, self._accepted

    @staticmethod
    def _counts(first: float, retries: float, throttled: float, accepted: float) -> SendCounts:
        return SendCounts(first, retries, first + retries - throttled, throttled, accepted)
