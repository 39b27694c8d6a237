from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backpressure_lab.producer.admission import Admission, Arrival, admit, burst_admissions, capacity, excess
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


@given(
    st.sampled_from(list(QueueMode)),
    st.integers(min_value=1, max_value=50),
    st.integers(min_value=0, max_value=60),
    st.integers(min_value=0, max_value=60),
    st.sampled_from([0.0, 0.5]),
)
def test_a_burst_decided_at_once_admits_what_item_by_item_admission_would(
    mode: QueueMode, max_queue_size: int, depth: int, count: int, high_priority_share: float
) -> None:
    """/produce decides a burst at once where the depth alone decides: the same count as deciding each item with
    `admit` (low priority, unable to wait), or None where the items need deciding one by one."""
    chosen = ProducerSettings(
        queue_mode=mode.value, max_queue_size=max_queue_size, high_priority_share=high_priority_share
    )
    at_once = burst_admissions(chosen, depth, count)
    if high_priority_share > 0 or mode in (QueueMode.RATE_LIMITED, QueueMode.WATERMARKS):
        assert at_once is None
        return
    one_by_one = 0
    for _ in range(count):
        if admit(chosen, Arrival(depth=depth + one_by_one, can_wait=False)) is Admission.ADMIT:
            one_by_one += 1
    assert at_once == one_by_one
