"""A real terminal for bplab's screens: one tmux session running one command, and what its pane shows."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.ports import free_port
from tests.services.lab import REPO, Lab
from tests.tiers import require_tool


def bplab_line(lab: Lab, *args: str) -> str:
    """The shell line that runs `bplab ARGS` against `lab` from the repository, as a learner would type it."""
    return (
        f"cd {REPO} && PYTHONPATH={REPO} {sys.executable} -m backpressure_lab.cli "
        f"--producer {lab.producer.url} --consumer {lab.consumer.url} {' '.join(args)}"
    )


@dataclass(frozen=True)
class Pane:
    tmux: str
    session: str

    def screen(self) -> str:
        """The pane's text, wrapped lines joined, with 200 lines of history."""
        return subprocess.run(
            [self.tmux, "capture-pane", "-p", "-J", "-S", "-200", "-t", self.session],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip


@contextmanager
def terminal(command: str, width: int, height: int) -> Iterator[Pane]:
    tmux = require_tool("tmux", "apt-get install tmux")
    session = f"bplab-{free_port()}"
    subprocess.run([tmux, "new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), command], check=True)
    try:
        yield Pane(tmux, session)
    finally:
        subprocess.run([tmux, "kill-session", "-t", session], check=False)
