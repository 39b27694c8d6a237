"""Process memory: current RSS, the cgroup memory limit (v1 and v2), and the time left until that limit.

The readers do the I/O; `GrowthEstimator` is the pure part. The original lab reported peak RSS, which never falls
after a queue is cleared; this reports current RSS.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

# cgroup v1 writes a huge page-aligned number for "no limit"; anything at or above 2**60 bytes is no limit.
_NO_LIMIT = 2**60
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def current_rss_bytes(statm: Path = Path("/proc/self/statm")) -> int:
    try:
        return int(statm.read_text().split()[1]) * _PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def _cgroup_paths(proc_cgroup: Path) -> tuple[str | None, str | None]:
    """This process's memory cgroup path in v1 (`memory` controller) and v2 (the `0::` line)."""
    v1 = v2 = None
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None, None
    for line in lines:
        hierarchy, controllers, path = [*line.split(":", 2), "", ""][:3]
        if hierarchy == "0" and controllers == "":
            v2 = path
        elif "memory" in controllers.split(","):
            v1 = path
    return v1, v2


def memory_limit_bytes(
    root: Path = Path("/sys/fs/cgroup"), proc_cgroup: Path = Path("/proc/self/cgroup")
) -> int | None:
    """The memory limit of this process's cgroup, or None when there is none.

    Inside a container the cgroup namespace puts the process at the root of the mount, so the root's files are tried
    after the path that /proc/self/cgroup names.
    """
    v1_path, v2_path = _cgroup_paths(proc_cgroup)
    candidates: list[Path] = []
    if v1_path is not None:
        candidates += [
            root / "memory" / v1_path.lstrip("/") / "memory.limit_in_bytes",
            root / "memory/memory.limit_in_bytes",
        ]
    if v2_path is not None:
        candidates += [root / v2_path.lstrip("/") / "memory.max", root / "memory.max"]
    for candidate in candidates:
        try:
            text = candidate.read_text().strip()
        except OSError:
            continue
        if text == "max":
            return None
        try:
            value = int(text)
        except ValueError:
            continue
        return None if value >= _NO_LIMIT else value
    return None


def release_free_heap() -> None:
    """Hand freed heap back to the OS (glibc keeps it otherwise), so RSS falls after the queue is cleared."""
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


@dataclass(frozen=True)
class Sample:
    at: float
    bytes: int


class GrowthEstimator:
    """Least-squares slope of memory over a sliding window, and the seconds left until a limit at that slope."""

    def __init__(self, window_seconds: float = 10.0) -> None:
        self.window_seconds = window_seconds
        self._samples: deque[Sample] = deque()

    def add(self, at: float, value: int) -> None:
        self._samples.append(Sample(at, value))
        while self._samples and at - self._samples[0].at > self.window_seconds:
            self._samples.popleft()

    def bytes_per_second(self) -> float:
        n = len(self._samples)
        if n < 3:
            return 0.0
        mean_t = sum(s.at for s in self._samples) / n
        mean_v = sum(s.bytes for s in self._samples) / n
        spread = sum((s.at - mean_t) ** 2 for s in self._samples)
        if spread == 0:
            return 0.0
        return sum((s.at - mean_t) * (s.bytes - mean_v) for s in self._samples) / spread

    def seconds_to_limit(self, current: int, limit: int | None) -> float | None:
        """None when there is no limit or memory is not growing towards it."""
        slope = self.bytes_per_second()
        if limit is None or slope <= 0:
            return None
        return max(0.0, (limit - current) / slope)
