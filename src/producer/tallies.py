"""The producer's running counts: what became of its items, and how long the generator waited.

Every count is a `Tally`, so a misspelt count is a type error rather than a count that silently stays 0, and each one
is one number that `/status` (`stats`) shows and `/metrics` exports (read at each scrape, common/metrics.py). An item
the producer admitted ends in exactly one of SENT, DROPPED, EXPIRED, EVICTED or CLEARED, or is still queued or in
delivery: that is the identity `unaccounted()` checks (0 whenever the counts are whole).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from backpressure_lab.common.metrics import TotalsCollector
from backpressure_lab.producer.littles_law import LittlesLawMeter
from backpressure_lab.producer.metrics import PRIORITIES, PRIORITY_OUTCOMES, SERVICE, ProducerMetrics


class Tally(StrEnum):
    PRODUCED = "produced"
    """Admitted into the queue (the original's meaning)."""
    SENT = "sent"
    """Accepted by a consumer."""
    REJECTED = "rejected"
    """Refused admission, or evicted (an eviction counts here too, as the original's clients read it)."""
    DROPPED = "dropped"
    """Given up: its retries spent, not retryable, or a retry denied by the producer's retry budget."""
    EXPIRED = "expired"
    """Shed by CoDel at dequeue."""
    EVICTED = "evicted"
    """Removed from the queue after admission: by a smaller capacity, or for a high-priority item."""
    CLEARED = "cleared"
    """Removed by POST /admin/clear-queue."""
    RETRIES = "retries"
    THROTTLED = "throttled"
    """Attempts the client-side throttle refused without sending them (client_throttle_k)."""
    RETRIES_DENIED = "retries_denied"
    """Retries the producer's retry budget did not allow (retry_budget_ratio): each such item is dropped."""
    RATE_LIMIT_DELAYS = "rate_limit_delays"
    """Items that had to wait for a rate-limit token, each once."""
    RATE_LIMIT_WAIT_SECONDS = "rate_limit_wait_seconds"
    QUEUE_FULL_WAIT_SECONDS = "queue_full_wait_seconds"


ENDINGS = (Tally.SENT, Tally.DROPPED, Tally.EXPIRED, Tally.EVICTED, Tally.CLEARED)
"""Where an admitted item ends: in exactly one of these, unless it is still queued or in delivery."""


COUNTERS: dict[Tally, tuple[str, str]] = {
    Tally.PRODUCED: ("backpressure_items_produced", "Items admitted into the queue"),
    Tally.SENT: ("backpressure_items_sent", "Items the consumer accepted"),
    Tally.REJECTED: ("backpressure_items_rejected", "Items refused admission or evicted from a full queue"),
    Tally.DROPPED: ("backpressure_items_dropped", "Items given up after the retry budget was spent"),
    Tally.RATE_LIMIT_DELAYS: (
        "backpressure_rate_limit_delays",
        "Items the generator had to hold back until a rate-limit token was free",
    ),
    Tally.RATE_LIMIT_WAIT_SECONDS: (
        "backpressure_rate_limit_wait_seconds",
        "Seconds the generator spent waiting for rate-limit tokens",
    ),
    Tally.QUEUE_FULL_WAIT_SECONDS: (
        "backpressure_queue_full_wait_seconds",
        "Seconds the generator spent waiting for space (block mode)",
    ),
    Tally.RETRIES: ("backpressure_send_retries", "Send attempts that were retries of a failed send"),
    Tally.THROTTLED: ("backpressure_sends_throttled", "Send attempts the client-side throttle refused unsent"),
    Tally.RETRIES_DENIED: (
        "backpressure_retries_denied",
        "Retries the producer's retry budget did not allow (the item was dropped)",
    ),
    Tally.EXPIRED: ("backpressure_items_expired", "Items CoDel shed at dequeue after waiting too long"),
    Tally.EVICTED: (
        "backpressure_items_evicted",
        "Admitted items removed again: by a smaller capacity or for a high-priority one",
    ),
    Tally.CLEARED: ("backpressure_items_cleared", "Items removed by POST /admin/clear-queue"),
}
"""Each tally's Prometheus counter (name without _total, help): the original lab's names where it had them."""


class Tallies:
    def __init__(self, metrics: ProducerMetrics) -> None:
        self._totals: dict[Tally, float] = dict.fromkeys(Tally, 0)
        metrics.registry.register(TotalsCollector(SERVICE, lambda: self._totals, COUNTERS))

    def add(self, tally: Tally, amount: float = 1) -> None:
        self._totals[tally] += amount

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

    def __init__(self, metrics: ProducerMetrics) -> None:
        self._metrics = metrics
        """The counts live in the exported counter family alone: /status and /metrics show one number."""

    def add(self, priority: str, outcome: str, amount: int = 1) -> None:
        self._metrics.priority_outcome(priority, outcome, amount)

    def as_status(self) -> dict[str, dict[str, int]]:
        counts = self._metrics.by_priority
        return {
            priority: {outcome: int(counts.count((priority, outcome))) for outcome in PRIORITY_OUTCOMES}
            for priority in PRIORITIES
        }


@dataclass(frozen=True)
class Measures:
    """What the queue's two ends count into: the running tallies, the tallies by priority and Little's law."""

    tallies: Tallies
    priorities: PriorityTallies
    littles_law: LittlesLawMeter
