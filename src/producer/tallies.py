"""The producer's running counts: what became of its items, and how long the generator waited.

Every count is a `Tally`, so a misspelt count is a type error rather than a count that silently stays 0, and each one
feeds `/status` (`stats`) and its Prometheus counter from this one place. An item the producer admitted ends in
exactly one of SENT, DROPPED, EXPIRED, EVICTED or CLEARED, or is still queued or in delivery: that is the identity
`unaccounted()` checks (0 whenever the counts are whole).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from prometheus_client import Counter

from backpressure_lab.producer.littles_law import LittlesLawMeter
from backpressure_lab.producer.metrics import ProducerMetrics


class Tally(StrEnum):
    PRODUCED = "produced"
    """Admitted into the queue (the original's meaning)."""
    SENT = "sent"
    """Accepted by a consumer."""
    REJECTED = "rejected"
    """Refused admission, or evicted (an eviction counts here too, as the original's clients read it)."""
    DROPPED = "dropped"
    """Given up after the retry budget."""
    EXPIRED = "expired"
    """Shed by CoDel at dequeue."""
    EVICTED = "evicted"
    """Removed from the queue after admission: by a smaller capacity, or for a high-priority item."""
    CLEARED = "cleared"
    """Removed by POST /admin/clear-queue."""
    RETRIES = "retries"
    RATE_LIMIT_DELAYS = "rate_limit_delays"
    """Items that had to wait for a rate-limit token, each once."""
    RATE_LIMIT_WAIT_SECONDS = "rate_limit_wait_seconds"
    QUEUE_FULL_WAIT_SECONDS = "queue_full_wait_seconds"


ENDINGS = (Tally.SENT, Tally.DROPPED, Tally.EXPIRED, Tally.EVICTED, Tally.CLEARED)
"""Where an admitted item ends: in exactly one of these, unless it is still queued or in delivery."""


class Tallies:
    def __init__(self, metrics: ProducerMetrics) -> None:
        self._totals: dict[Tally, float] = dict.fromkeys(Tally, 0)
        self._counters: dict[Tally, Counter] = {
            Tally.PRODUCED: metrics.produced,
            Tally.SENT: metrics.sent,
            Tally.REJECTED: metrics.rejected,
            Tally.DROPPED: metrics.dropped,
            Tally.EXPIRED: metrics.expired,
            Tally.EVICTED: metrics.evicted,
            Tally.CLEARED: metrics.cleared,
            Tally.RETRIES: metrics.retries,
            Tally.RATE_LIMIT_DELAYS: metrics.rate_limit_delays,
            Tally.RATE_LIMIT_WAIT_SECONDS: metrics.rate_limit_wait_seconds,
            Tally.QUEUE_FULL_WAIT_SECONDS: metrics.queue_full_wait_seconds,
        }

    def add(self, tally: Tally, amount: float = 1) -> None:
        if amount:
            self._totals[tally] += amount
            self._counters[tally].inc(amount)

    def __getitem__(self, tally: Tally) -> float:
        return self._totals[tally]

    def as_status(self) -> dict[str, float]:
        return {
            str(tally): round(value, 3) if isinstance(value, float) else value for tally, value in self._totals.items()
        }


def unaccounted(counts: dict[str, float], queued: int, in_delivery: int) -> float:
    """Admitted items that are neither at an ending nor still queued or in delivery: 0 unless an item was lost
    without being counted. `counts` are /status `stats` (or the Prometheus counters by the same names)."""
    return counts[Tally.PRODUCED] - sum(counts[ending] for ending in ENDINGS) - queued - in_delivery


class PriorityTallies:
    """Items by priority and what became of them (produced, rejected, expired): the loss-by-priority lesson."""

    OUTCOMES = ("produced", "rejected", "expired")

    def __init__(self, metrics: ProducerMetrics) -> None:
        self._metrics = metrics
        self._counts = {priority: dict.fromkeys(self.OUTCOMES, 0) for priority in ("high", "low")}

    def add(self, priority: str, outcome: str, amount: int = 1) -> None:
        self._counts[priority][outcome] += amount
        self._metrics.priority_outcome(priority, outcome, amount)

    def as_status(self) -> dict[str, dict[str, int]]:
        return {priority: dict(outcomes) for priority, outcomes in self._counts.items()}


@dataclass(frozen=True)
class Measures:
    """What the queue's two ends count into: the running tallies, the tallies by priority and Little's law."""

    tallies: Tallies
    priorities: PriorityTallies
    littles_law: LittlesLawMeter
