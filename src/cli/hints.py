"""`bplab hint N`: an exercise's hints one at a time; a second call gives the next. How many a learner has seen is
kept per exercise in a small file under $XDG_STATE_HOME (default ~/.local/state), so each call is a new process."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from backpressure_lab.cli.exercises import Exercise


def state_file() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "backpressure-lab" / "hints.json"


def _seen() -> dict[str, int]:
    try:
        data = json.loads(state_file().read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): int(v) for k, v in data.items() if isinstance(v, int)} if isinstance(data, dict) else {}


def next_hint(exercise: Exercise) -> str:
    """The next hint of `exercise` (the last one again once all were given), numbered, and remember it was given."""
    seen = _seen()
    shown = seen.get(str(exercise.number), 0)
    index = min(shown, len(exercise.hints) - 1)
    seen[str(exercise.number)] = index + 1
    path = state_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(seen))
    except OSError:
        pass  # a read-only home still gets its hint, only not the next one next time
    more = (
        "`bplab hint` again for the next"
        if index + 1 < len(exercise.hints)
        else f"no more hints: `bplab solve {exercise.number}` applies the exercise and checks it"
    )
    return f"hint {index + 1} of {len(exercise.hints)}: {exercise.hints[index]}\n({more})"


def forget(exercise: Exercise) -> None:
    """Start the exercise's hints from the first again (after `bplab solve` or `bplab reset`)."""
    seen = _seen()
    if seen.pop(str(exercise.number), None) is not None:
        with contextlib.suppress(OSError):
            state_file().write_text(json.dumps(seen))
