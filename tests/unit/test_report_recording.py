"""`bplab report`'s recording goes on through looks that get no answer (a producer OOM-killed and restarted in the
cluster) and gives up, in one line, only after a long outage."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from backpressure_lab.cli import report
from backpressure_lab.cli.client import LabClient, LabError
from backpressure_lab.cli.report_series import series


class RestartingProducerStandIn(LabClient):
    """/status of a producer that stops answering for `outage` looks after `before` looks, then answers again with
    its counters from zero; a real one restarting takes seconds to minutes, which a unit test does not wait for."""

    def __init__(self, before: int, outage: int) -> None:
        super().__init__("http://producer.invalid", "http://consumer.invalid")
        self.before, self.outage, self.looks = before, outage, 0

    def producer_status(self) -> dict[str, Any]:
        self.looks += 1
        if self.before < self.looks <= self.before + self.outage:
            raise LabError("the producer at http://producer.invalid is not reachable")
        produced = 10 * (self.looks if self.looks <= self.before else self.looks - self.before - self.outage)
        return {
            "queue": {"size": 0, "wait_p99_seconds": None},
            "stats": dict.fromkeys(("produced", "sent", "rejected", "dropped", "expired", "evicted"), 0)
            | {"produced": produced, "rejected": produced // 10},
            "process": {"memory_bytes": 1024, "memory_limit_bytes": 4096},
            "config": {},
        }

    def consumer_status(self) -> dict[str, Any]:
        return {"state": {"items_processed": self.looks}, "config": {}}


def half_a_second_a_look() -> Callable[[], float]:
    """The recording's clock: half a second per look, without waiting for it."""
    ticks = itertools.count()
    return lambda: next(ticks) * 0.5


def test_a_producer_that_restarts_leaves_a_gap_and_the_losses_before_it_counted() -> None:
    lab = RestartingProducerStandIn(before=6, outage=20)
    samples = report.record(lab, 30, sleep=lambda _: None, clock=half_a_second_a_look())
    assert len(samples) == lab.looks - 20
    drawn = series(samples)
    assert max(drawn.at) >= 29  # the recording went on after the outage
    # Counted from the first look (1 then): 5 more before the kill, and every one since the restart's zero.
    assert drawn.losses["rejected"][-1] == (6 - 1) + (lab.looks - 26)


def test_a_producer_that_never_answers_again_ends_the_recording_in_one_line() -> None:
    lab = RestartingProducerStandIn(before=2, outage=10_000)
    with pytest.raises(LabError, match="not reachable"):
        report.record(lab, 3600, sleep=lambda _: None, clock=half_a_second_a_look())
    assert lab.looks <= 2 + report.OUTAGE_SECONDS / 0.5 + 2
