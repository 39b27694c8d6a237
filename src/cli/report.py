"""`bplab report`: record the lab (for a while, or through one exercise from the baseline) and write the picture
(report_plot.py) and, beside it, its figures as JSON (the same series, for a notebook or a diff)."""

from __future__ import annotations

import functools
import json
import textwrap
from collections.abc import Callable
from pathlib import Path

from backpressure_lab.cli.checks import Apply, reset
from backpressure_lab.cli.client import LabClient, LabError
from backpressure_lab.cli.exercises import Exercise, Sample
from backpressure_lab.cli.looks import look_at_the_lab
from backpressure_lab.cli.report_plot import draw
from backpressure_lab.cli.report_series import series

LEAD_SECONDS = 5.0
"""The baseline recorded before an exercise's settings go in, so that the picture shows the change."""
OUTAGE_SECONDS = 90.0
"""How long the recording goes on through looks that get no answer: a producer OOM-killed in the cluster answers
again once it has restarted (the kubelet's back-off is 10 s after a first kill, longer after more)."""


record = functools.partial(look_at_the_lab, outage_seconds=OUTAGE_SECONDS)
"""The looks of a recording, which goes on through an outage of up to OUTAGE_SECONDS (a gap in the picture, not the
end of it: exercise 3's kill and restart)."""


def record_exercise(
    client: LabClient, exercise: Exercise, apply: Apply, scale: Callable[[int], None] | None, seconds: float | None
) -> list[Sample]:
    """From the baseline: LEAD_SECONDS of it, then the exercise for its settle and observe time (or `seconds`), and
    the baseline again afterwards, as a check does."""

    def start() -> None:
        apply(exercise)
        if exercise.clear_queue:
            client.clear_queue()

    length = exercise.settle_seconds + exercise.observe_seconds if seconds is None else seconds
    reset(client, apply, scale)
    try:
        return record(client, LEAD_SECONDS + length, change_at=LEAD_SECONDS, change=start, burst=exercise.burst)
    finally:
        reset(client, apply, scale if exercise.autoscale is not None else None)


def check_output(png: Path) -> None:
    """Refuse an output the report could not be written to, before anything is recorded."""
    if png.suffix.lower() != ".png":
        raise LabError(f"--output must name a .png file (got {str(png)!r})")
    if not png.parent.is_dir():
        raise LabError(f"--output: the folder {str(png.parent)!r} does not exist")


def write_report(samples: list[Sample], title: str, png: Path) -> Path:
    """The PNG at `png` (checked with `check_output` before recording) and its series at the same name with .json;
    returns the JSON's path."""
    drawn = series(samples)
    draw(drawn, "\n".join(textwrap.wrap(title, 100)), png)
    figures = png.with_suffix(".json")
    figures.write_text(json.dumps({"title": title, **drawn.as_json()}, indent=1) + "\n")
    return figures
