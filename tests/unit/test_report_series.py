"""What `bplab report` draws (cli/report_series.py and report_plot.py), from looks made up here."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backpressure_lab.cli.client import LabError
from backpressure_lab.cli.exercises import Sample
from backpressure_lab.cli.report_plot import INSTALL_HINT, draw
from backpressure_lab.cli.report_series import LOSSES, MIB, RATES, series, settings_marks
from backpressure_lab.common.settings import as_dict
from backpressure_lab.consumer.settings import ConsumerSettings
from backpressure_lab.producer.settings import ProducerSettings

COUNTED = ("produced", "sent", *LOSSES)


def look(at: float, counts: dict[str, int], producer: dict[str, Any] | None = None, slow: float = 1.0) -> Sample:
    settings = ConsumerSettings(slow_down_factor=slow)
    consumer_config: dict[str, Any] = {**as_dict(settings), "base_processing_time_ms": settings.processing_time_ms}
    consumer_config["processing_time_ms"] = settings.processing_time_ms * slow  # the original's meaning
    return Sample(
        at,
        {
            "queue": {"size": counts["produced"] - counts["sent"], "wait_p99_seconds": 0.5},
            "stats": {name: counts[name] for name in COUNTED},
            "process": {"memory_bytes": 40 * MIB, "memory_limit_bytes": None},
            "config": {**as_dict(ProducerSettings()), **(producer or {})},
        },
        {"state": {"items_processed": counts["processed"]}, "config": consumer_config},
    )


steps = st.lists(
    st.tuples(
        st.fixed_dictionaries({name: st.integers(0, 50) for name in (*COUNTED, "processed")}),
        st.booleans(),  # the producer restarted before this look: its counters start again from zero
    ),
    min_size=1,
    max_size=30,
)


def looks_from(increments: list[tuple[dict[str, int], bool]]) -> tuple[list[Sample], dict[str, int]]:
    """The looks, and how many items each counter really counted. A restart is seen as counters lower than the
    look before (a restarted producer that counted past its old figures within half a second is not told apart)."""
    counts = dict.fromkeys((*COUNTED, "processed"), 0)
    totals = dict(counts)
    looks = [look(0.0, counts)]
    for index, (added, restarted) in enumerate(increments, start=1):
        for name, value in counts.items():
            if restarted and name != "processed":
                counts[name] = min(added[name], max(0, value - 1))
                totals[name] += counts[name]
            else:
                counts[name] = value + added[name]
                totals[name] += added[name]
        looks.append(look(index * 0.5, counts))
    return looks, totals


@given(steps)
def test_every_series_has_a_point_per_look_after_the_first_and_no_rate_is_negative(
    increments: list[tuple[dict[str, int], bool]],
) -> None:
    drawn = series(looks_from(increments)[0])
    points = len(increments)
    assert len(drawn.at) == len(drawn.depth) == len(drawn.memory_mib) == len(drawn.wait_p99_seconds) == points
    for name in RATES:
        assert len(drawn.rates[name]) == points
        assert min(drawn.rates[name]) >= 0
    assert drawn.marks == []  # the settings never changed


@given(steps)
def test_losses_never_go_back_and_a_restart_keeps_what_was_lost_before(
    increments: list[tuple[dict[str, int], bool]],
) -> None:
    looks, totals = looks_from(increments)
    drawn = series(looks)
    for name in LOSSES:
        lost = drawn.losses[name]
        assert all(later >= earlier for earlier, later in itertools.pairwise(lost))
        assert lost[-1] == totals[name]  # a restart's zeros lose nothing counted before it


def test_a_rate_is_the_change_over_the_time_between_looks() -> None:
    base = dict.fromkeys((*COUNTED, "processed"), 0)
    later = {**base, "produced": 10, "sent": 4, "processed": 4}
    drawn = series([look(0.0, base), look(2.0, later)])
    assert drawn.rates == {"produced": [5.0], "sent": [2.0], "processed": [2.0]}
    assert drawn.depth == [6]
    assert drawn.memory_mib == [40.0]


def test_a_mark_names_each_setting_that_changed_where_it_changed() -> None:
    counts = dict.fromkeys((*COUNTED, "processed"), 0)
    looks = [
        look(0.0, counts),
        look(0.5, counts),
        look(1.0, counts, {"queue_mode": "bounded", "max_queue_size": 50}, slow=5.0),
        look(1.5, counts, {"queue_mode": "bounded", "max_queue_size": 50}, slow=5.0),
    ]
    marks = settings_marks(looks)
    assert [mark.at for mark in marks] == [1.0]
    assert marks[0].text == "max_queue_size 50, queue_mode bounded, slow_down_factor 5"


def test_one_look_draws_nothing_and_says_to_record_longer(tmp_path: Path) -> None:
    drawn = series([look(0.0, dict.fromkeys((*COUNTED, "processed"), 0))])
    with pytest.raises(LabError, match="record for longer"):
        draw(drawn, "title", tmp_path / "r.png")


def test_without_matplotlib_the_error_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an import of a missing package raises
    drawn = series(looks_from([(dict.fromkeys((*COUNTED, "processed"), 1), False)])[0])
    with pytest.raises(LabError) as caught:
        draw(drawn, "title", tmp_path / "r.png")
    assert str(caught.value) == INSTALL_HINT
    assert not (tmp_path / "r.png").exists()
