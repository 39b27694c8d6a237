from __future__ import annotations

import pytest

from backpressure_lab.producer.admission import Admission, Arrival, admit, capacity, excess
from backpressure_lab.producer.settings import ProducerSettings, QueueMode


def settings(mode: QueueMode, **changes: object) -> ProducerSettings:
    return ProducerSettings(queue_mode=mode.value, max_queue_size=100, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mode", "arrival", "expected"),
    [
        (QueueMode.UNBOUNDED, Arrival(depth=10**6, token_available=False), Admission.ADMIT),
        (QueueMode.BOUNDED, Arrival(depth=99), Admission.ADMIT),
        (QueueMode.BOUNDED, Arrival(depth=100), Admission.REJECT),
        (QueueMode.BLOCK, Arrival(depth=100), Admission.WAIT_FOR_SPACE),
        (QueueMode.BLOCK, Arrival(depth=100, can_wait=False), Admission.REJECT),
        (QueueMode.BLOCK, Arrival(depth=5, token_available=False), Admission.ADMIT),
        (QueueMode.RATE_LIMITED, Arrival(depth=10**6), Admission.ADMIT),
        (QueueMode.RATE_LIMITED, Arrival(depth=0, token_available=False), Admission.WAIT_FOR_TOKEN),
        (QueueMode.RATE_LIMITED, Arrival(depth=0, token_available=False, can_wait=False), Admission.REJECT),
        (QueueMode.CODEL, Arrival(depth=10**6), Admission.ADMIT),
        (QueueMode.WATERMARKS, Arrival(depth=10), Admission.ADMIT),
        (QueueMode.WATERMARKS, Arrival(depth=10, watermark_paused=True), Admission.WAIT_FOR_SPACE),
        (QueueMode.WATERMARKS, Arrival(depth=80, can_wait=False), Admission.REJECT),
    ],
)
def test_admission(mode: QueueMode, arrival: Arrival, expected: Admission) -> None:
    assert admit(settings(mode), arrival) is expected


@pytest.mark.parametrize("mode", [QueueMode.BOUNDED, QueueMode.BLOCK])
def test_high_priority_evicts_low_when_full(mode: QueueMode) -> None:
    full = Arrival(depth=100, high_priority=True, low_priority_queued=True)
    assert admit(settings(mode), full) is Admission.EVICT_LOW
    no_low_left = Arrival(depth=100, high_priority=True, low_priority_queued=False, can_wait=False)
    assert admit(settings(mode), no_low_left) is Admission.REJECT


def test_capacity_and_excess() -> None:
    assert capacity(settings(QueueMode.UNBOUNDED)) is None
    assert capacity(settings(QueueMode.RATE_LIMITED)) is None
    assert capacity(settings(QueueMode.CODEL)) is None
    assert capacity(settings(QueueMode.BLOCK)) == 100
    assert capacity(settings(QueueMode.WATERMARKS)) == 80
    assert excess(settings(QueueMode.BOUNDED), 250) == 150
    assert excess(settings(QueueMode.UNBOUNDED), 250) == 0
    assert excess(settings(QueueMode.BLOCK), 50) == 0
