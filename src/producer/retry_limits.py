"""The two client-side limits on a retry storm, as the SRE book gives them ("Handling Overload"). Pure: the caller
passes the counts, over the same recent window, and the random draw.

- Client-side (adaptive) throttling: a client whose requests are being refused starts refusing some itself, before
  they cost the backend anything, with probability max(0, (requests - K * accepts) / (requests + 1)), where
  requests counts every attempt the client wanted to make (those it refused itself too) and accepts those the
  backend accepted. K = 2 lets the backend see about twice what it accepts; K nearer 1 throttles harder.
- A retry budget for the client as a whole: retries may be at most a share of its first attempts (the book's 10%),
  so that a backend in trouble sees at most that much extra load from retries, however many items fail.
"""

from __future__ import annotations


def throttle_probability(requests: float, accepts: float, k: float) -> float:
    """The chance that the next attempt is refused without being sent; 0 when throttling is off (k == 0)."""
    if k <= 0:
        return 0.0
    return max(0.0, (requests - k * accepts) / (requests + 1.0))


def throttles(requests: float, accepts: float, k: float, random_fraction: float) -> bool:
    """Whether to refuse the next attempt locally, for a uniform draw in [0, 1)."""
    return random_fraction < throttle_probability(requests, accepts, k)


def retry_within_budget(retries: float, first_attempts: float, ratio: float) -> bool:
    """Whether one more retry keeps retries within `ratio` of first attempts; any retry when the budget is off
    (ratio == 0)."""
    if ratio <= 0:
        return True
    return retries + 1 <= ratio * first_attempts
