"""`bplab report` against the real services on loopback: it records, draws one PNG, writes its figures beside it,
and leaves the lab at the baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tests.cli.test_bplab import assert_at_the_baseline, bplab
from tests.services.lab import Lab

pytestmark = pytest.mark.services


def test_an_exercise_is_recorded_from_the_baseline_with_a_mark_where_its_settings_went_in(
    lab: Lab, tmp_path: Path
) -> None:
    png = tmp_path / "slow.png"
    result = bplab(lab, "report", "2", "--seconds", "8", "--output", str(png))
    assert result.returncode == 0, result.stdout + result.stderr
    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.size == (800, 1040)
    figures = json.loads(png.with_suffix(".json").read_text())
    assert figures["title"].startswith("Exercise 2: slow consumer")
    [mark] = figures["marks"]
    assert mark["text"] == "slow_down_factor 5"
    points = len(figures["at"])
    assert points >= 20  # 5 s of baseline and 8 s of the exercise, a look every 0.5 s (fewer on a slow machine)
    for name in ("depth", "memory_mib", "wait_p99_seconds"):
        assert len(figures[name]) == points
    before = [d for at, d in zip(figures["at"], figures["depth"], strict=True) if at < mark["at"]]
    assert max(figures["depth"]) >= max(before) + 10  # the unbounded queue grew once the consumer slowed down
    assert sum(figures["rates"]["produced"]) > 0
    assert sum(figures["rates"]["processed"]) > 0
    assert all(lost == [0] * points for lost in figures["losses"].values())  # an unbounded queue loses nothing
    assert figures["memory_limit_mib"] is None  # local mode has no limit
    assert_at_the_baseline(lab)


def test_without_an_exercise_it_records_the_lab_as_it_runs(lab: Lab, tmp_path: Path) -> None:
    result = bplab(lab, "report", "--seconds", "2", "--output", str(tmp_path / "now.png"))
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads((tmp_path / "now.json").read_text())
    assert figures["marks"] == []
    assert len(figures["at"]) >= 3
    assert "wrote" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--output", "{tmp}/report.txt"), "--output must name a .png file"),
        (("--output", "{tmp}/missing/r.png"), "does not exist"),
        (("--seconds", "0", "--output", "{tmp}/r.png"), "--seconds must be between 1 and 3600"),
        (("99", "--output", "{tmp}/r.png"), "no exercise 99"),
    ],
)
def test_bad_arguments_are_one_line_before_recording_and_write_nothing(
    lab: Lab, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "out"  # the lab's logs are in tmp_path
    out.mkdir()
    result = bplab(lab, "report", *(arg.format(tmp=out) for arg in args), timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert message in result.stderr
    assert "recording" not in result.stdout
    assert list(out.iterdir()) == []
