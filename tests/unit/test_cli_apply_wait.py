"""`bplab --cluster check`: after kubectl apply the check waits for the operator to set the exercise's settings,
and never judges settings that were not applied (issue P: no wait whose first answer, or timeout, decides silently)."""

from __future__ import annotations

from typing import Any

import pytest

from backpressure_lab.cli.checks import apply_with_kubectl, reset
from backpressure_lab.cli.client import LabClient, LabError
from backpressure_lab.cli.exercises import exercise


class OperatorStandIn(LabClient):
    """The producer's GET /admin/config as the operator changes it: the exercise's settings after `delay` reads."""

    def __init__(self, delay: int | None) -> None:
        super().__init__("http://producer.invalid", "http://consumer.invalid")
        self.delay, self.reads = delay, 0

    def producer_config(self) -> dict[str, Any]:
        self.reads += 1
        if self.delay is not None and self.reads > self.delay:
            return exercise(4).producer_settings()
        return exercise(1).producer_settings()


def test_the_apply_waits_for_the_operator_however_late_within_the_timeout() -> None:
    late = OperatorStandIn(delay=25)
    applied: list[int] = []
    apply = apply_with_kubectl(late, lambda item: applied.append(item.number), timeout=60, pause=lambda _: None)
    apply(exercise(4))
    assert applied == [4]
    assert late.reads == 26


def test_settings_never_applied_stop_the_check_naming_what_differs() -> None:
    never = OperatorStandIn(delay=None)
    apply = apply_with_kubectl(never, lambda item: None, timeout=0.05, pause=lambda _: None)
    with pytest.raises(
        LabError, match=r"did not apply exercise 4's settings within 0.05 s \(queue_mode is 'unbounded', not 'bounded'"
    ):
        apply(exercise(4))


class DrainingStandIn(LabClient):
    """The producer's and consumer's /status while the work of an earlier exercise drains: `draining` more reads."""

    def __init__(self, draining: int) -> None:
        super().__init__("http://producer.invalid", "http://consumer.invalid")
        self.draining, self.cleared = draining, 0

    def producer_status(self) -> dict[str, Any]:
        self.draining -= 1
        in_flight = 40 if self.draining > 0 else 0
        return {"stats": {"in_flight": in_flight}, "config": {"sender_concurrency": 2}, "consumers": {"count": 1}}

    def consumer_status(self) -> dict[str, Any]:
        return {"state": {"items_in_flight": 0}}

    def clear_queue(self) -> int:
        self.cleared += 1
        return 0


def test_reset_waits_until_the_earlier_work_has_drained() -> None:
    lab = DrainingStandIn(draining=5)
    reset(lab, lambda item: None)
    assert lab.draining <= 0
    assert lab.cleared == 2
