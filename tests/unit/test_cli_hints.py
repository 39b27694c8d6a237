"""`bplab hint N` gives an exercise's hints one at a time, and every exercise has some."""

from __future__ import annotations

from pathlib import Path

import pytest

from backpressure_lab.cli.exercises import EXERCISES, exercise
from backpressure_lab.cli.hints import forget, next_hint


def test_every_exercise_has_hints() -> None:
    assert all(len(item.hints) >= 2 for item in EXERCISES), [e.number for e in EXERCISES if len(e.hints) < 2]


def test_each_call_gives_the_next_hint_then_says_there_are_no_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    item = exercise(2)
    said = [next_hint(item) for _ in range(len(item.hints) + 1)]
    assert [line.splitlines()[0] for line in said[:-1]] == [
        f"hint {n} of {len(item.hints)}: {hint}" for n, hint in enumerate(item.hints, start=1)
    ]
    assert said[-1] == said[-2]  # the last one again
    assert "bplab solve 2" in said[-1]
    assert next_hint(exercise(3)).startswith("hint 1 of")  # each exercise counts on its own
    forget(item)
    assert next_hint(item).startswith("hint 1 of")
