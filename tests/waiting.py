"""One polling loop for every tier's waits: probe, test, give up at a deadline, pause, probe again.

The tiers' own wait helpers (tests/services/lab.py `wait_until`, tests/controlplane/cluster.py `wait_until`,
tests/operator/harness.py `wait_for`, ...) are thin wrappers that decide what counts as "not yet" and how a timeout
is reported; the loop itself is this one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Polled(Generic[T]):
    done: bool
    """Whether `until` held for a probe's value before the deadline passed."""
    last: T | None
    """The value that satisfied `until`, else the last value a probe returned (None if none returned)."""
    seconds: float
    """How long the wait took."""


def poll(
    probe: Callable[[], T],
    *,
    timeout: float,
    interval: float,
    until: Callable[[T], object] = bool,
    not_yet: tuple[type[Exception], ...] = (),
    alive: Callable[[], None] | None = None,
) -> Polled[T]:
    """Call `probe` every `interval` seconds until `until(value)` is true (default: the value is truthy) or `timeout`
    seconds have passed; the last probe comes after the deadline, so a wait always probes at least once. A probe that
    raises one of `not_yet` means "not yet"; any other exception ends the wait. `alive`, when given, runs before each
    probe and raises to end the wait early (e.g. the process being waited for has died)."""
    start = time.monotonic()
    deadline = start + timeout
    last: T | None = None
    while True:
        if alive is not None:
            alive()
        try:
            value = probe()
            if until(value):
                return Polled(True, value, time.monotonic() - start)
            last = value
        except not_yet:
            pass
        if time.monotonic() > deadline:
            return Polled(False, last, time.monotonic() - start)
        time.sleep(interval)
