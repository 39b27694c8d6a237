"""One polling loop for bplab's waits: probe, test, give up at a deadline, pause, probe again. The last probe comes
after the deadline, so a wait always looks at least once and a slow answer near the end still counts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(
    probe: Callable[[], T],
    until: Callable[[T], bool],
    *,
    timeout: float,
    interval: float,
    pause: Callable[[float], None] = time.sleep,
) -> tuple[bool, T]:
    """Whether `until(probe())` held within `timeout` seconds, and the last value probed."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if until(value):
            return True, value
        if time.monotonic() >= deadline:
            return False, value
        pause(interval)
