"""Pure: conditions keep their transition time, Applied follows the pods, the oldest config owns the release."""

from __future__ import annotations

from backpressure_lab.operator.apply import CURRENT, FAILED, NOT_READY, PodOutcome
from backpressure_lab.operator.conditions import APPLIED, condition, merged
from backpressure_lab.operator.ownership import ConfigClaim, owner
from backpressure_lab.operator.pods import ReleasePod
from backpressure_lab.operator.status import applied_condition, apply_events, pod_records, ready_condition

POD = ReleasePod(name="lab-producer-0", uid="u1", component="producer", ip="10.0.0.5", port=8000, ready=True)


def test_transition_time_moves_only_when_the_status_flips() -> None:
    first = merged([], [condition(APPLIED, True, "AllPodsCurrent", "2 of 2", 1)], "T1")
    same = merged(first, [condition(APPLIED, True, "AllPodsCurrent", "2 of 2", 2)], "T2")
    flipped = merged(same, [condition(APPLIED, False, "ApplyFailed", "1 of 2", 2)], "T3")
    assert [c["lastTransitionTime"] for c in (first[0], same[0], flipped[0])] == ["T1", "T1", "T3"]


def test_applied_is_true_only_when_every_ready_pod_is_current() -> None:
    current = PodOutcome(POD, CURRENT, "reports the desired settings")
    failed = PodOutcome(POD, FAILED, "unreachable")
    waiting = PodOutcome(POD, NOT_READY, "not ready")
    assert applied_condition([current, waiting], 1, "cm")["status"] == "True"
    assert applied_condition([waiting], 1, "cm")["reason"] == "NoReadyPods"
    assert applied_condition([current, failed], 1, "cm")["status"] == "False"


def test_last_pushed_moves_only_on_a_push() -> None:
    pushed = pod_records([PodOutcome(POD, CURRENT, "changed production_rate", pushed=True)], [], "T1", generation=1)
    quiet = pod_records([PodOutcome(POD, CURRENT, "reports the desired settings")], pushed, "T2", generation=1)
    assert pushed[0]["lastPushed"] == quiet[0]["lastPushed"] == "T1"
    assert [e.reason for e in apply_events([PodOutcome(POD, CURRENT, "changed", pushed=True)], "x")] == ["Applied"]
    assert apply_events([PodOutcome(POD, CURRENT, "reports the desired settings")], "x") == []


def test_the_oldest_config_owns_the_release_whatever_the_order_seen() -> None:
    older = ConfigClaim("b", "u-b", "2026-11-27T08:00:00Z")
    newer = ConfigClaim("a", "u-a", "2026-11-27T08:00:01Z")
    same_second = ConfigClaim("c", "u-c", "2026-11-27T08:00:00Z")
    assert owner([newer, same_second, older]) == older
    assert owner([same_second, newer]) == same_second
    assert owner([]) is None


def test_apply_failed_is_posted_when_a_pod_starts_failing_not_at_every_check() -> None:
    failed = PodOutcome(POD, FAILED, "unreachable at 10.0.0.5:8000: refused")
    first = apply_events([failed], "drift check")
    records = pod_records([failed], [], "T1", generation=1)
    assert [e.reason for e in first] == ["ApplyFailed"]
    assert apply_events([failed], "drift check", records) == []
    other = PodOutcome(POD, FAILED, "pushing settings: HTTP 401")
    assert [e.reason for e in apply_events([other], "drift check", records)] == ["ApplyFailed"]


CONSUMER = ReleasePod(name="lab-consumer-0", uid="u2", component="consumer", ip="10.0.0.6", port=8001, ready=True)


def test_applied_is_unknown_while_no_pod_runs() -> None:
    waiting = PodOutcome(POD, NOT_READY, "not ready")
    assert applied_condition([waiting], 3, "cm")["status"] == "Unknown"
    assert applied_condition([], 3, "cm")["status"] == "Unknown"
    assert applied_condition([], 3, "cm")["reason"] == "NoReadyPods"


def test_ready_needs_every_pod_of_both_components_on_this_generation() -> None:
    producer, consumer = PodOutcome(POD, CURRENT, "ok"), PodOutcome(CONSUMER, CURRENT, "ok")
    ready = ready_condition([producer, consumer], 4)
    assert (ready["type"], ready["status"], ready["reason"], ready["observedGeneration"]) == (
        "Ready", "True", "AllPodsCurrent", 4,
    )  # fmt: skip
    starting = ready_condition([producer, PodOutcome(CONSUMER, NOT_READY, "not ready")], 4)
    assert (starting["status"], starting["reason"]) == ("False", "PodsNotReady")
    assert "lab-consumer-0" in starting["message"]
    failing = ready_condition([producer, PodOutcome(CONSUMER, FAILED, "HTTP 500")], 4)
    assert (failing["status"], failing["reason"]) == ("False", "ApplyFailed")
    alone = ready_condition([producer], 4)
    assert (alone["status"], alone["reason"]) == ("False", "NoPods")
    assert "no consumer pod" in alone["message"]


def test_each_pod_record_says_which_generation_it_runs() -> None:
    first = pod_records([PodOutcome(POD, CURRENT, "changed", pushed=True)], [], "T1", generation=2)
    assert first[0]["generation"] == 2
    down = pod_records([PodOutcome(POD, FAILED, "unreachable")], first, "T2", generation=3)
    assert down[0]["generation"] == 2  # still the last generation it was seen running
    fresh = pod_records([PodOutcome(POD, NOT_READY, "not ready")], [], "T3", generation=3)
    assert "generation" not in fresh[0]
