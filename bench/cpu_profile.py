"""Where a service process spends its CPU under a benchmark's load: py-spy samples it (no restart, no
instrumentation) and the samples are grouped by where the running code lives.

Each sample is counted once, for its innermost frame: the lab's own modules by file (`producer/delivery.py`), the
libraries by name (aiohttp, uvicorn, starlette, prometheus_client, json, the asyncio event loop), the rest as other.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SAMPLES_PER_SECOND = 200
LIBRARIES = ("aiohttp", "uvicorn", "starlette", "prometheus_client", "opentelemetry", "yarl", "multidict", "uuid")
_LAB_FILE = re.compile(r"/(?:src|backpressure_lab)/([a-z_]+/[a-z_]+\.py)")
_STDLIB_MODULE = re.compile(r"/lib/python3\.\d+/(asyncio|json)/")


@dataclass(frozen=True)
class Profile:
    samples: Counter[str]
    """Each sample counted once, for where its innermost frame lives."""
    seconds: float
    within: Counter[str]
    """Each sample counted for every lab module on its stack: the share of the CPU spent in that module's calls,
    the libraries it calls included (`producer/intake.py`: admitting items, making them included)."""

    @property
    def busy(self) -> float:
        """Cores the process kept busy: samples over the samples an always-running thread would give."""
        return sum(self.samples.values()) / (SAMPLES_PER_SECOND * self.seconds)

    def top(self, count: int) -> list[tuple[str, float]]:
        total = sum(self.samples.values()) or 1
        return [(where, share / total) for where, share in self.samples.most_common(count)]

    def top_within(self, count: int, leave_out: tuple[str, ...] = ()) -> list[tuple[str, float]]:
        """The lab modules whose calls took the most CPU, libraries included (`leave_out`: entry points that hold
        every sample, such as the service's main)."""
        total = sum(self.samples.values()) or 1
        kept = [(module, share) for module, share in self.within.most_common() if module not in leave_out]
        return [(module, share / total) for module, share in kept[:count]]


def start(pid: int, seconds: int, output: Path) -> subprocess.Popen[bytes]:
    """py-spy recording `pid` for `seconds` into `output` (its raw, collapsed-stack format)."""
    command = [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid), "--duration", str(seconds)]
    command += ["--rate", str(SAMPLES_PER_SECOND), "--format", "raw", "--output", str(output), "--nonblocking"]
    command.append("--full-filenames")
    with output.with_suffix(".log").open("wb") as log:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)


def read(output: Path, seconds: float) -> Profile:
    if not output.exists():
        log = output.with_suffix(".log").read_text().strip().splitlines()
        raise RuntimeError(f"py-spy wrote no profile: {log[0] if log else 'no message'}")
    samples: Counter[str] = Counter()
    within: Counter[str] = Counter()
    for line in output.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            frames = stack.split(";")
            samples[where(frames[-1])] += int(count)
            for module in {match.group(1) for frame in frames if (match := _LAB_FILE.search(frame))}:
                within[module] += int(count)
    return Profile(samples, seconds, within)


def where(frame: str) -> str:
    """The group of one py-spy frame, 'function (path:line)'."""
    lab = _LAB_FILE.search(frame)
    if lab is not None:
        return lab.group(1)
    for library in LIBRARIES:
        if f"/{library}/" in frame or f"/{library}.py" in frame:
            return library
    stdlib = _STDLIB_MODULE.search(frame)
    if stdlib is not None:
        return "asyncio event loop" if stdlib.group(1) == "asyncio" else "json"
    return "other"
