from __future__ import annotations

import pytest

from backpressure_lab.producer.admission import Admission, admit, capacity, excess
from backpressure_lab.producer.settings import QueueMode


@pytest.mark.parametrize(
    ("mode", "depth", "token", "can_wait", "expected"),
    [
        (QueueMode.UNBOUNDED, 10**6, False, True, Admission.ADMIT),
        (QueueMode.BOUNDED, 99, False, True, Admission.ADMIT),
        (QueueMode.BOUNDED, 100, True, True, Admission.REJECT),
        (QueueMode.BLOCK, 100, True, True, Admission.WAIT_FOR_SPACE),
        (QueueMode.BLOCK, 100, True, False, Admission.REJECT),
        (QueueMode.BLOCK, 5, False, True, Admission.ADMIT),
        (QueueMode.RATE_LIMITED, 10**6, True, True, Admission.ADMIT),
        (QueueMode.RATE_LIMITED, 0, False, True, Admission.WAIT_FOR_TOKEN),
        (QueueMode.RATE_LIMITED, 0, False, False, Admission.REJECT),
    ],
)
def test_admission(mode: QueueMode, depth: int, token: bool, can_wait: bool, expected: Admission) -> None:
    assert admit(mode, depth, 100, token_available=token, can_wait=can_wait) is expected


def test_capacity_and_excess() -> None:
    assert capacity(QueueMode.UNBOUNDED, 100) is None
    assert capacity(QueueMode.RATE_LIMITED, 100) is None
    assert capacity(QueueMode.BLOCK, 100) == 100
    assert excess(QueueMode.BOUNDED, 250, 100) == 150
    assert excess(QueueMode.UNBOUNDED, 250, 100) == 0
    assert excess(QueueMode.BLOCK, 50, 100) == 0
