"""When to retry a failed send, and how long to wait first. Pure: the caller passes the random draw."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_BACKOFF_SECONDS = 5.0
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def is_retryable(status: int | None) -> bool:
    """None stands for no response at all (connection refused, timeout), which is worth another try."""
    return status is None or status in RETRYABLE_STATUSES


def backoff_seconds(attempt: int, base_ms: float, random_fraction: float, retry_after: float | None) -> float:
    """Full-jitter exponential backoff before retry number `attempt` (1 for the first retry).

    A server's Retry-After is a floor: the producer never comes back sooner than the consumer asked.
    """
    ceiling = min(MAX_BACKOFF_SECONDS, base_ms / 1000.0 * 2.0 ** (attempt - 1))
    delay = ceiling * random_fraction
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_BACKOFF_SECONDS * 2))
    return delay


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date. Unparseable values are ignored."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None
