"""Pure: whether the operator's background loops are alive, from their heartbeats (kopf's liveness probe asks).

The drift check and the autoscaler run as tasks of their own; kopf knows nothing of them, so without this a loop that
ended or hung would leave `/healthz` green and the operator running without drift checks or autoscaling.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

STALE_ROUNDS = 6
"""A loop that has not finished a round in this many of its intervals is hung ..."""
STALE_AT_LEAST = 60.0
"""... and never sooner than this many seconds: one round may wait out API and pod timeouts and the lock."""


@dataclass(frozen=True)
class LoopView:
    name: str
    running: bool
    """False once the task has ended (returned, raised or was cancelled)."""
    every: float
    """Seconds between two rounds."""
    started: float
    """When the task started (monotonic)."""
    last_round: float | None
    """When it last finished a round (monotonic); None: not yet."""
    rounds: int
    last_round_started_at: str | None = None
    """Wall-clock start of the last finished round (RFC 3339, ms): "a round that began after T has finished"."""


def stale_after(every: float) -> float:
    return max(STALE_ROUNDS * every, STALE_AT_LEAST)


def problems(loops: Iterable[LoopView], now: float) -> list[str]:
    """What is wrong with the loops, for people (empty: all alive)."""
    found: list[str] = []
    for loop in loops:
        since = now - (loop.last_round if loop.last_round is not None else loop.started)
        if not loop.running:
            found.append(f"{loop.name} has stopped")
        elif since > stale_after(loop.every):
            found.append(f"{loop.name} has not finished a round for {since:.0f} s (every {loop.every:g} s)")
    return found


def report(loops: Iterable[LoopView], now: float) -> dict[str, Any]:
    """What the liveness endpoint shows per loop: rounds finished and how long ago the last one finished."""
    return {
        loop.name: {
            "rounds": loop.rounds,
            "secondsSinceRound": None if loop.last_round is None else round(now - loop.last_round, 3),
            "lastRoundStartedAt": loop.last_round_started_at,
        }
        for loop in loops
    }
