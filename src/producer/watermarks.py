"""Watermarks with hysteresis: the generator pauses when the queue reaches the high mark and resumes only once it
has drained to the low one, so it does not flap around a single threshold. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class WatermarkGate:
    paused: bool = False

    def update(self, depth: int, low: int, high: int) -> bool:
        """Return whether the generator must wait, given the queue depth now."""
        if depth >= high:
            self.paused = True
        elif depth <= low:
            self.paused = False
        return self.paused
