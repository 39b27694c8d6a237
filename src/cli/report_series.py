"""What `bplab report` draws, from the looks it took at the lab: one series per panel, and a mark wherever the
settings changed. Pure: the samples come in, numbers go out (report_plot.py draws them, report.py records them)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from backpressure_lab.cli.exercises import Sample, changed_settings
from backpressure_lab.common.settings import as_dict
from backpressure_lab.consumer.settings import ConsumerSettings
from backpressure_lab.producer.settings import ProducerSettings

MIB = 1024 * 1024
RATES = ("produced", "sent", "processed")
"""Items per second: admitted by the producer, accepted by a consumer, finished by the consumers."""
LOSSES = ("rejected", "dropped", "expired", "evicted")
"""The producer's losses by kind (/status `stats`), counted from the start of the recording."""


@dataclass(frozen=True)
class Mark:
    at: float
    text: str


@dataclass
class Series:
    at: list[float] = field(default_factory=list)
    depth: list[int] = field(default_factory=list)
    memory_mib: list[float | None] = field(default_factory=list)
    memory_limit_mib: float | None = None
    rates: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in RATES})
    losses: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in LOSSES})
    wait_p99_seconds: list[float | None] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _counts(sample: Sample) -> dict[str, float]:
    counts = {name: sample.stat(name) for name in ("produced", "sent", *LOSSES)}
    counts["processed"] = float(sample.consumer["state"]["items_processed"])
    return counts


def series(samples: Sequence[Sample]) -> Series:
    """The panels' series, one point per look after the first (a rate needs two looks). Counters that go backwards
    (a producer restarted by an OOM kill starts from zero) give a rate of 0 and restart the losses from there."""
    drawn = Series()
    if len(samples) < 2:
        return drawn
    start = samples[0].at
    base = _counts(samples[0])
    lost_before = dict.fromkeys(LOSSES, 0.0)
    for previous, sample in itertools.pairwise(samples):
        before, now = _counts(previous), _counts(sample)
        elapsed = max(sample.at - previous.at, 1e-6)
        drawn.at.append(round(sample.at - start, 3))
        drawn.depth.append(sample.depth)
        process = sample.producer["process"]
        rss = process.get("memory_bytes")
        drawn.memory_mib.append(None if rss is None else round(float(rss) / MIB, 2))
        limit = process.get("memory_limit_bytes")
        if limit is not None:
            drawn.memory_limit_mib = round(float(limit) / MIB, 2)
        for name in RATES:
            drawn.rates[name].append(round(max(0.0, now[name] - before[name]) / elapsed, 3))
        for name in LOSSES:
            if now[name] < before[name]:  # the producer restarted: what it lost before stays counted
                lost_before[name] += before[name] - base[name]
                base[name] = 0.0
            drawn.losses[name].append(lost_before[name] + now[name] - base[name])
        drawn.wait_p99_seconds.append(sample.producer["queue"].get("wait_p99_seconds"))
    drawn.marks = settings_marks(samples)
    return drawn


PRODUCER_SETTINGS = tuple(as_dict(ProducerSettings()))
CONSUMER_SETTINGS = tuple(as_dict(ConsumerSettings()))


def _settings(sample: Sample) -> dict[str, Any]:
    """The settings a look shows. The consumer's /status `processing_time_ms` is the original's figure, the slow-down
    factor applied; the setting itself is `base_processing_time_ms` there."""
    producer, consumer = sample.producer["config"], sample.consumer["config"]
    consumer_settings = {name: consumer.get(name) for name in CONSUMER_SETTINGS}
    consumer_settings["processing_time_ms"] = consumer.get("base_processing_time_ms")
    return {
        **{f"producer {name}": producer.get(name) for name in PRODUCER_SETTINGS},
        **{f"consumer {name}": value for name, value in consumer_settings.items()},
    }


def settings_marks(samples: Sequence[Sample]) -> list[Mark]:
    """A mark at each look whose settings differ from the look before, naming what changed to what."""
    marks = []
    for previous, sample in itertools.pairwise(samples):
        changed = changed_settings(_settings(previous), _settings(sample))
        if changed:
            named = sorted((name.split(" ", 1)[1], value) for name, value in changed.items())
            text = ", ".join(f"{name} {_shown(value)}" for name, value in named)
            marks.append(Mark(round(sample.at - samples[0].at, 3), text))
    return marks


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
