"""The machine a benchmark ran on, printed with its figures so they can be compared."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path


def _first_value(path: str, prefix: str, separator: str | None = ":") -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(separator, 1)[1].strip() if separator else line[len(prefix) :].strip()
    except OSError:
        pass
    return "unknown"


def facts() -> dict[str, str]:
    """CPU, cores, memory, OS, kernel, Python, cgroup version and load: what makes a figure comparable."""
    memory_kib = _first_value("/proc/meminfo", "MemTotal:").split()[0]
    return {
        "cpu": _first_value("/proc/cpuinfo", "model name"),
        "cores": str(os.cpu_count()),
        "memory": f"{int(memory_kib) / 1024 / 1024:.1f} GiB" if memory_kib.isdigit() else "unknown",
        "os": _first_value("/etc/os-release", "PRETTY_NAME=", separator=None).strip('"'),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "cgroup": "v2" if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "v1",
        "load": ", ".join(f"{value:.2f}" for value in os.getloadavg()),
    }


def describe() -> str:
    f = facts()
    return (
        f"machine: {f['cpu']}, {f['cores']} cores, {f['memory']}, {f['os']}, Linux {f['kernel']}, "
        f"cgroup {f['cgroup']}, Python {f['python']}, load average {f['load']}"
    )
