from __future__ import annotations

from pathlib import Path

import pytest

from backpressure_lab.cli.__main__ import chosen_exercises
from backpressure_lab.cli.client import LabError
from backpressure_lab.cli.exercises import EXERCISES, Burst, Exercise, Sample, exercise
from backpressure_lab.cli.views import bar, sparkline

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_example_manifests_are_generated_from_the_exercises() -> None:
    for item in EXERCISES:
        committed = (EXAMPLES / f"{item.slug}.yaml").read_text()
        assert committed == item.manifest(), "run `python -m backpressure_lab.cli.exercises examples` and commit"
    assert {path.stem for path in EXAMPLES.glob("*.yaml")} == {item.slug for item in EXERCISES}


def sample(at: float, depth: int, **stats: float) -> Sample:
    base = {"produced": 0, "sent": 0, "rejected": 0, "dropped": 0, "rate_limit_delays": 0}
    producer = {"queue": {"size": depth, "memory_bytes": depth * 65_000}, "stats": base | stats,
                "process": {"seconds_to_limit": None, "memory_limit_mb": None}}  # fmt: skip
    return Sample(at, producer, {"state": {"throughput": 2.0}})


def verdict(number: int, samples: list[Sample]) -> bool:
    item = exercise(number)
    assert item.check is not None
    return item.check(samples, item).passed


def test_baseline_passes_when_small_and_flowing_and_fails_when_growing() -> None:
    flat = [sample(t, 2 + t % 3, sent=10 * t) for t in range(31)]
    assert verdict(1, flat)
    assert not verdict(1, [sample(0, 3, sent=0), sample(10, 40, sent=100)])
    # The original's drift: 0.35 items/s, still under 20 after 30 s, caught by the trend.
    drifting = [sample(t, 1 + round(0.35 * t), sent=9.7 * t) for t in range(31)]
    assert max(s.depth for s in drifting) < 20
    assert not verdict(1, drifting)


def test_growth_check() -> None:
    assert verdict(2, [sample(0, 10), sample(10, 90)])
    assert not verdict(2, [sample(0, 10), sample(10, 12)])


def test_bounded_check_needs_a_plateau_and_rejections() -> None:
    plateau = [sample(t, 100, rejected=t * 8) for t in range(7)]
    assert verdict(4, plateau)
    assert not verdict(4, [sample(t, 100, rejected=0) for t in range(7)])
    assert not verdict(4, [sample(t, 60, rejected=t) for t in range(7)])


def test_rate_limited_check_needs_the_pace_and_the_waits() -> None:
    paced = [sample(t, 2, produced=2 * t, rate_limit_delays=5 * t) for t in range(11)]
    assert verdict(5, paced)
    unpaced = [sample(t, 2, produced=10 * t, rate_limit_delays=0) for t in range(11)]
    assert not verdict(5, unpaced)


def test_unknown_exercise_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="the exercises are 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13"):
        exercise(7)


def test_every_exercise_has_a_check() -> None:
    assert all(isinstance(item, Exercise) and item.check is not None for item in EXERCISES)


def test_sparkline_and_bar() -> None:
    assert sparkline([0, 4, 8], width=10) == " ▄█"
    assert sparkline([], width=5) == ""
    assert bar(0.5, 10) == "█████░░░░░"
    assert bar(2.0, 4) == "████"


def test_push_back_needs_429_with_retry_after_on_every_refused_burst() -> None:
    def looks(status: int, retry_after: str | None) -> list[Sample]:
        return [
            Sample(t, {"queue": {"size": 20}, "stats": {}}, {}, Burst(10, status, 10 if t else 0, retry_after))
            for t in range(6)
        ]

    assert verdict(15, looks(429, "1"))
    assert not verdict(15, looks(200, "1"))  # the original's answer: the counts, but a 200
    assert not verdict(15, looks(429, None))


def test_check_all_means_every_exercise_in_order_and_other_words_are_refused() -> None:
    assert chosen_exercises(["all"]) == list(EXERCISES)
    assert chosen_exercises(["6", "1"]) == [exercise(6), exercise(1)]
    for word in ("al", "-1", "1.5", "99"):
        with pytest.raises(LabError):
            chosen_exercises([word])
