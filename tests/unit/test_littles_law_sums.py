"""Little's law's running sums (issue R: a reading costs the same at any rate) agree with the figures recomputed from
the events in the window, whatever the events and however the readings interleave with them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backpressure_lab.producer.littles_law import LittlesLawMeter, RecentWaits

WINDOW = 30.0
Event = tuple[str, float, float]
events = st.lists(
    st.tuples(
        st.sampled_from(["arrived", "departed", "depth", "measure", "reset"]),
        st.floats(min_value=0.0, max_value=5.0),  # seconds since the previous event
        st.floats(min_value=0.0, max_value=1_000.0),  # a wait, a depth or a count
    ),
    max_size=200,
)


def recomputed(history: list[Event], now: float) -> tuple[float, float, float]:
    """The old meter's arithmetic: sums over the events of the last WINDOW seconds (`history` starts at the last
    reset)."""
    live = [(kind, at, value) for kind, at, value in history if now - at <= WINDOW]
    depths = [value for kind, _, value in live if kind == "depth"]
    depth_times = [at for kind, at, _ in live if kind == "depth"]
    arrivals = sum(value for kind, _, value in live if kind == "arrived")
    waits = [value for kind, _, value in live if kind == "departed"]
    span = min(WINDOW, now - depth_times[0]) if depth_times else 0.0
    return (
        sum(depths) / len(depths) if depths else 0.0,
        arrivals / span if span > 0 else 0.0,
        sum(waits) / len(waits) if waits else 0.0,
    )


@given(events)
def test_the_running_sums_match_the_window_recomputed(steps: list[Event]) -> None:
    meter, now = LittlesLawMeter(window_seconds=WINDOW), 0.0
    history: list[Event] = []
    for kind, gap, value in steps:
        now += gap
        if kind == "arrived":
            meter.arrived(now, int(value))
            history.append((kind, now, float(int(value))))
        elif kind == "departed":
            meter.departed(now, value)
            history.append((kind, now, value))
        elif kind == "depth":
            meter.sample_depth(now, int(value))
            history.append((kind, now, float(int(value))))
        elif kind == "reset":
            meter.reset()
            history = []
        else:
            law = meter.measure(now)
            depth, rate, wait = recomputed(history, now)
            assert law.depth == pytest.approx(depth, abs=1e-6)
            assert law.arrival_rate == pytest.approx(rate, abs=1e-6)
            assert law.mean_wait == pytest.approx(wait, abs=1e-6)


@given(st.lists(st.tuples(st.floats(min_value=0.0, max_value=3.0), st.floats(min_value=0.0, max_value=100.0))))
def test_the_percentile_is_that_of_the_waits_in_the_window(steps: list[tuple[float, float]]) -> None:
    waits, now = RecentWaits(window_seconds=10.0), 0.0
    history: list[tuple[float, float]] = []
    for gap, wait in steps:
        now += gap
        waits.add(now, wait)
        history.append((now, wait))
    later = now + 4.0
    inside = sorted(wait for at, wait in history if later - at <= 10.0)
    expected = inside[min(len(inside) - 1, int(0.99 * len(inside)))] if inside else None
    assert waits.percentile(later, 0.99) == expected
