"""Each attempt of a delivery, decided: whether the client-side throttle refuses it before it is sent, what its
answer means (sent, retried, dropped when the item's retries are spent, or denied by the producer's retry budget) and
how long to wait before the next one. The send history it decides on is the one /status shows."""

from __future__ import annotations

import random
from enum import StrEnum

from backpressure_lab.producer.retry import backoff_seconds, is_retryable
from backpressure_lab.producer.retry_limits import retry_within_budget, throttles
from backpressure_lab.producer.send_history import SendHistory
from backpressure_lab.producer.settings import ProducerSettings


class Outcome(StrEnum):
    SENT = "sent"
    RETRIED = "retried"
    """Another attempt follows."""
    DROPPED = "dropped"
    """Not retryable, or the item's retry_budget is spent."""
    DENIED = "denied"
    """Retryable, but the producer's retry budget (retry_budget_ratio) allows no more retries now: dropped too."""


class AttemptPolicy:
    def __init__(self, history: SendHistory, draw: random.Random | None = None) -> None:
        self.history = history
        self._random = draw or random.Random()

    def begin(self, settings: ProducerSettings, attempt: int, now: float) -> bool:
        """Count attempt number `attempt` of an item (1 for its first) and say whether it may be sent: False when the
        client-side throttle refuses it."""
        k = settings.client_throttle_k
        refused = False
        if k > 0:
            recent = self.history.recent(now)
            refused = throttles(recent.requests, recent.accepted, k, self._random.random())
        self.history.attempted(now, retry=attempt > 1)
        if refused:
            self.history.throttled(now)
        return not refused

    def outcome(
        self, settings: ProducerSettings, status: int | None, attempt: int, now: float, throttled: bool = False
    ) -> Outcome:
        """What attempt number `attempt`, answered with `status` (None: no answer), comes to. A `throttled` attempt
        was never sent: trying again costs the consumer nothing unless the throttle lets it through, so the retry
        budget, which bounds what retries add to a consumer's load, does not judge it (the item's retry_budget does)."""
        if status is not None and 200 <= status < 300:
            self.history.accepted(now)
            return Outcome.SENT
        if not is_retryable(status) or settings.retry_budget - (attempt - 1) <= 0:
            return Outcome.DROPPED
        if throttled:
            return Outcome.RETRIED
        recent = self.history.recent(now)
        if not retry_within_budget(recent.retries, recent.first_attempts, settings.retry_budget_ratio):
            return Outcome.DENIED
        return Outcome.RETRIED

    def delay(self, settings: ProducerSettings, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `attempt`: the backoff, floored by the consumer's Retry-After unless
        honour_retry_after is off."""
        floor = retry_after if settings.honour_retry_after else None
        return backoff_seconds(attempt, settings.retry_backoff_ms, self._random.random(), floor)
