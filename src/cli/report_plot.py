"""`bplab report`'s picture: the dashboard's lessons in one PNG for people without Grafana (queue depth, memory
against the limit, the rates, losses by kind, the p99 wait), with a line wherever the settings changed.

matplotlib is an optional extra (`pip install 'backpressure-lab[report]'`): the services' image does not carry it.
"""

# ruff: noqa: PLC0415

from __future__ import annotations

import math
from pathlib import Path

from backpressure_lab.cli.client import LabError
from backpressure_lab.cli.report_series import LOSSES, RATES, Series

INSTALL_HINT = "bplab report draws with matplotlib: pip install 'backpressure-lab[report]' (make install has it)"


def _value(value: float | None) -> float:
    return math.nan if value is None else value


def draw(drawn: Series, title: str, path: Path) -> None:
    """Write the PNG at `path` (LabError when matplotlib is missing or nothing was recorded)."""
    if not drawn.at:
        raise LabError("nothing to draw: the recording needs at least two looks at the lab (record for longer)")
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display: a file, also over ssh and in CI
        import matplotlib.pyplot as plt
    except ImportError:
        raise LabError(INSTALL_HINT) from None
    figure, axes = plt.subplots(5, 1, figsize=(10, 13), sharex=True, layout="constrained")
    depth, memory, rates, losses, wait = axes
    figure.suptitle(title)
    depth.plot(drawn.at, drawn.depth, color="tab:blue")
    depth.set_ylabel("queue depth (items)")
    memory.plot(drawn.at, [_value(v) for v in drawn.memory_mib], color="tab:purple", label="producer RSS")
    if drawn.memory_limit_mib is not None:
        memory.axhline(drawn.memory_limit_mib, color="tab:red", linestyle="--", label="memory limit")
    else:
        memory.set_title("no memory limit (local mode)", fontsize="small", loc="right")
    memory.set_ylabel("memory (MiB)")
    memory.legend(loc="upper left", fontsize="small")
    for name, style in zip(RATES, ("-", "-", "--"), strict=True):  # processed dashed: it often lies on sent
        rates.plot(drawn.at, drawn.rates[name], style, label=name)
    rates.set_ylabel("items/s")
    rates.legend(loc="upper left", fontsize="small")
    for name in LOSSES:
        losses.plot(drawn.at, drawn.losses[name], label=name)
    losses.set_ylim(0, max(1.0, *(max(drawn.losses[name]) for name in LOSSES)) * 1.05)
    losses.set_ylabel("items lost (since start)")
    losses.legend(loc="upper left", fontsize="small")
    wait.plot(drawn.at, [_value(v) for v in drawn.wait_p99_seconds], color="tab:orange")
    wait.set_ylabel("p99 queue wait (s)")
    wait.set_xlabel("seconds since the recording began")
    for axis in axes:
        axis.grid(alpha=0.3)
        for mark in drawn.marks:
            axis.axvline(mark.at, color="grey", linestyle=":")
    for mark in drawn.marks:
        depth.annotate(mark.text, (mark.at, 1), xycoords=("data", "axes fraction"), xytext=(3, -3),
                       textcoords="offset points", va="top", fontsize="small", wrap=True)  # fmt: skip
    figure.savefig(path, dpi=80)
    plt.close(figure)
