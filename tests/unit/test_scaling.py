"""The consumer autoscaler's policy (operator/scaling.py) and spec.consumer.autoscale's parsing."""

from __future__ import annotations

import pytest

from backpressure_lab.operator.autoscale_spec import AutoscaleSettings
from backpressure_lab.operator.desired import InvalidSpecError, desired_settings
from backpressure_lab.operator.scaling import Sample, decide

DEPTH = AutoscaleSettings(min_replicas=1, max_replicas=4, metric="queue_depth", target=20, cooldown_seconds=10)
WAIT = AutoscaleSettings(min_replicas=1, max_replicas=6, metric="queue_wait", target=500, cooldown_seconds=10)


def samples(depths: list[int], *, in_flight: int = 0, every: float = 2.0, wait: float | None = None) -> list[Sample]:
    return [
        Sample(at=i * every, queue_depth=d, queue_wait_seconds=wait, in_flight=in_flight) for i, d in enumerate(depths)
    ]


def test_a_deep_queue_scales_up_at_once_in_proportion() -> None:
    decision = decide(DEPTH, 1, samples([70]), slots_per_consumer=4, last_change=None, now=0.0, fresh_within=2.0)
    assert decision.replicas == 4  # ceil(70 / 20), capped at maxReplicas
    assert "scale up" in decision.reason
    assert (
        decide(DEPTH, 1, samples([30]), slots_per_consumer=4, last_change=None, now=0.0, fresh_within=2.0).replicas == 2
    )


def test_within_tolerance_of_the_target_nothing_changes() -> None:
    decision = decide(DEPTH, 2, samples([42]), slots_per_consumer=4, last_change=None, now=0.0, fresh_within=2.0)
    assert decision.replicas == 2  # 42 / (2 x 20) = 1.05, inside the 10% tolerance


def test_nothing_changes_during_the_cooldown() -> None:
    decision = decide(DEPTH, 1, samples([200]), slots_per_consumer=4, last_change=-5.0, now=0.0, fresh_within=2.0)
    assert decision.replicas == 1
    assert "cooling down (5 s left)" in decision.reason


def test_the_bounds_are_restored_even_during_a_cooldown() -> None:
    assert (
        decide(DEPTH, 7, samples([0]), slots_per_consumer=4, last_change=0.0, now=0.0, fresh_within=2.0).replicas == 4
    )
    assert (
        decide(DEPTH, 0, samples([0]), slots_per_consumer=4, last_change=0.0, now=0.0, fresh_within=2.0).replicas == 1
    )


def test_no_producer_to_observe_keeps_the_replicas() -> None:
    decision = decide(DEPTH, 3, [], slots_per_consumer=4, last_change=None, now=0.0, fresh_within=2.0)
    assert (decision.replicas, decision.reason) == (3, "no ready producer to observe")


def test_scale_down_waits_for_a_full_cooldown_of_history() -> None:
    short = samples([0, 0, 0], in_flight=1)  # 4 s of history, cooldown 10 s
    decision = decide(DEPTH, 3, short, slots_per_consumer=4, last_change=None, now=4.0, fresh_within=2.0)
    assert decision.replicas == 3
    assert "watching a full cooldown" in decision.reason


def test_an_empty_queue_scales_down_one_pod_when_the_load_fits_fewer() -> None:
    quiet = samples([0] * 7, in_flight=3)  # 12 s: 3 in flight fit on 2 pods of 4 slots at 80%
    decision = decide(DEPTH, 3, quiet, slots_per_consumer=4, last_change=None, now=12.0, fresh_within=2.0)
    assert decision.replicas == 2
    assert "scale down" in decision.reason


def test_an_empty_queue_keeps_the_pods_the_sends_in_flight_need() -> None:
    busy = samples([0] * 7, in_flight=7)  # 7 > 80% of 2 pods x 4 slots: all 3 are needed
    decision = decide(DEPTH, 3, busy, slots_per_consumer=4, last_change=None, now=12.0, fresh_within=2.0)
    assert decision.replicas == 3
    assert "7 sends in flight need more than 2 consumer(s)" in decision.reason


def test_one_spike_in_the_window_blocks_the_scale_down() -> None:
    spiky = samples([0, 0, 45, 0, 0, 0, 0], in_flight=1)
    assert decide(DEPTH, 2, spiky, slots_per_consumer=4, last_change=None, now=12.0, fresh_within=2.0).replicas == 2


def test_queue_wait_scales_by_the_ratio_to_its_target() -> None:
    slow = samples([10], wait=1.6)  # 1600 ms against 500 ms: 3.2x
    assert (
        decide(WAIT, 2, slow, slots_per_consumer=4, last_change=None, now=0.0, fresh_within=2.0).replicas == 6
    )  # ceil(6.4) capped
    fine = samples([10], wait=0.52)
    assert decide(WAIT, 2, fine, slots_per_consumer=4, last_change=None, now=0.0, fresh_within=2.0).replicas == 2


def test_autoscale_in_the_spec_is_parsed_apart_from_the_consumer_settings() -> None:
    desired = desired_settings({"consumer": {"concurrency": 2, "autoscale": {"maxReplicas": 3, "target": 10}}})
    assert desired.consumer.concurrency == 2
    assert desired.autoscale == AutoscaleSettings(max_replicas=3, target=10)
    assert "autoscale" not in desired.wire("consumer")
    assert desired.camel_case()["consumer"]["autoscale"]["maxReplicas"] == 3
    assert desired_settings({}).autoscale is None


@pytest.mark.parametrize(
    ("autoscale", "message"),
    [
        ({"minReplicas": 5}, "spec.consumer.autoscale.minReplicas must be <= spec.consumer.autoscale.maxReplicas"),
        ({"target": 0}, "spec.consumer.autoscale.target must be a number > 0"),
        ({"metric": "cpu"}, "spec.consumer.autoscale.metric must be one of queue_depth, queue_wait"),
        ({"maxReplica": 3}, "spec.consumer.autoscale.maxReplica is not a consumer.autoscale setting"),
        (3, "spec.consumer.autoscale must be an object such as {minReplicas: 1, maxReplicas: 3}"),
    ],
)
def test_a_bad_autoscale_names_the_field(autoscale: object, message: str) -> None:
    with pytest.raises(InvalidSpecError) as error:
        desired_settings({"consumer": {"autoscale": autoscale}, "producer": {}})
    assert message in str(error.value)


def test_producers_unreachable_for_a_cooldown_while_older_samples_remain_keeps_the_replicas() -> None:
    # Readings until 10 s, then nothing (every producer unreachable); at 22 s the autoscaler still keeps the ones from
    # 8 s on (cooldown + two rounds), all older than the cooldown's window [12, 22].
    kept = [s for s in samples([0] * 6, in_flight=1) if s.at >= 8.0]
    decision = decide(DEPTH, 3, kept, slots_per_consumer=4, last_change=None, now=22.0, fresh_within=2.0)
    assert decision.replicas == 3
    assert "no fresh reading" in decision.reason


def test_a_stale_deep_queue_reading_does_not_scale_up() -> None:
    # A dead producer's last reading (a deep queue, 8 s ago) is not what the queue is now.
    stale = samples([0, 0, 200])  # the last one at 4 s
    decision = decide(DEPTH, 1, stale, slots_per_consumer=4, last_change=None, now=12.0, fresh_within=2.0)
    assert decision.replicas == 1
    assert "no fresh reading from a producer (the last is 8 s old)" in decision.reason
    fresh = decide(DEPTH, 1, stale, slots_per_consumer=4, last_change=None, now=4.0, fresh_within=2.0)
    assert fresh.replicas == 4


def test_a_zero_cooldown_never_finds_an_empty_window() -> None:
    instant = AutoscaleSettings(min_replicas=1, max_replicas=4, target=20, cooldown_seconds=0)
    quiet = samples([0, 0], in_flight=0)
    decision = decide(instant, 2, quiet, slots_per_consumer=4, last_change=None, now=2.5, fresh_within=2.0)
    assert decision.replicas == 1
