"""The per-item metrics counted in plain Python (common/metrics.py) expose exactly what prometheus_client's own
Histogram and labelled Counter expose for the same observations: the dashboard's queries and the alerts read the
same series, bucket for bucket (issue R moved them off the per-item path)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from backpressure_lab.common.metrics import DURATION_BUCKETS, WAIT_BUCKETS, LabelledCounts, ScrapedHistogram

_CREATED = re.compile(r"^(\S+_created\S*) \S+$", re.MULTILINE)


def exposition(registry: CollectorRegistry) -> str:
    """The text format, with the `_created` timestamps (when each series began) blanked."""
    return _CREATED.sub(r"\1 <created>", generate_latest(registry).decode())


# Waits from none to half an hour, with every bucket bound itself among them (a value equal to a bound falls in it).
observations = st.lists(
    st.one_of(
        st.floats(min_value=0, max_value=2000, allow_nan=False),
        st.sampled_from([*WAIT_BUCKETS, *DURATION_BUCKETS]).map(float),
    ),
    max_size=60,
)


@given(observations, st.sampled_from([WAIT_BUCKETS, DURATION_BUCKETS]))
def test_a_scraped_histogram_exposes_what_prometheus_clients_histogram_does(
    values: list[float], buckets: tuple[float, ...]
) -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    scraped = ScrapedHistogram(ours, "producer", "backpressure_queue_wait_seconds", "Queue wait", buckets)
    native = Histogram(
        "backpressure_queue_wait_seconds", "Queue wait", ["service"], buckets=buckets, registry=theirs
    ).labels("producer")
    for value in values:
        scraped.observe(value)
        native.observe(value)
    assert exposition(ours) == exposition(theirs)
    assert ours.get_sample_value("backpressure_queue_wait_seconds_count", {"service": "producer"}) == len(values)


@given(st.lists(st.tuples(st.sampled_from(["high", "low"]), st.sampled_from(["produced", "rejected", "expired"]))))
def test_labelled_counts_expose_what_a_labelled_counter_does(events: list[tuple[str, str]]) -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    counts = LabelledCounts(ours, "producer", "backpressure_priority_items", "By priority", ["priority", "outcome"])
    native = Counter("backpressure_priority_items", "By priority", ["service", "priority", "outcome"], registry=theirs)
    for priority, outcome in events:
        counts.add((priority, outcome))
        native.labels("producer", priority, outcome).inc()
    assert exposition(ours) == exposition(theirs)


PAIRS = [(priority, outcome) for priority in ("high", "low") for outcome in ("produced", "rejected", "expired")]


@given(st.lists(st.sampled_from(PAIRS), unique=True), st.lists(st.sampled_from(PAIRS)))
def test_labelled_counts_export_their_known_label_values_at_zero_as_a_counter_initialised_with_labels_does(
    known: list[tuple[str, str]], events: list[tuple[str, str]]
) -> None:
    """A known series is there, at 0, before its first event (a rate or ratio of it has data), and counts on from 0."""
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    counts = LabelledCounts(
        ours, "producer", "backpressure_priority_items", "By priority", ["priority", "outcome"], known=known
    )
    native = Counter("backpressure_priority_items", "By priority", ["service", "priority", "outcome"], registry=theirs)
    for priority, outcome in known:
        native.labels("producer", priority, outcome)
    for priority, outcome in known:
        labels = {"service": "producer", "priority": priority, "outcome": outcome}
        assert ours.get_sample_value("backpressure_priority_items_total", labels) == 0
    for priority, outcome in events:
        counts.add((priority, outcome))
        native.labels("producer", priority, outcome).inc()
    assert exposition(ours) == exposition(theirs)


@pytest.mark.parametrize("bad", [(1.0, 0.5), (0.1, 0.1), (0.1, float("inf"))])
def test_buckets_must_be_finite_and_increasing(bad: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="finite and increasing"):
        ScrapedHistogram(CollectorRegistry(), "producer", "h", "h", bad)
