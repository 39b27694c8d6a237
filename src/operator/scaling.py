"""Pure: how many consumer pods, from what the producer's queue shows and what is in flight.

Scale up at once, in proportion to how far the metric is above its target (as the HPA does). Scale down one pod at a
time, and only when, over the whole cooldown, the metric stayed below its target *and* the sends in flight would have
fitted on one pod fewer (Little's law: in flight = arrival rate x round trip). A queue alone cannot say how many
consumers are enough: when they keep up it is empty at 2 pods as at 20, and scaling down on an empty queue alone would
flap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from backpressure_lab.operator.autoscale_spec import AutoscaleSettings, ScalingMetric

TOLERANCE = 0.1
"""No change while the metric is within 10% of its target (the HPA's default tolerance)."""
HEADROOM = 0.8
"""A scale-down must leave the remaining pods at most 80% busy."""


@dataclass(frozen=True)
class Sample:
    """What the producers showed at one moment (summed over producer pods; the wait is the largest)."""

    at: float
    queue_depth: int
    queue_wait_seconds: float | None
    in_flight: int


@dataclass(frozen=True)
class Decision:
    replicas: int
    reason: str
    observed: float
    """The metric's latest value: items waiting (queue_depth) or milliseconds (queue_wait)."""


def metric_value(policy: AutoscaleSettings, sample: Sample) -> float:
    if policy.scaling_metric is ScalingMetric.QUEUE_DEPTH:
        return float(sample.queue_depth)
    return 1000.0 * (sample.queue_wait_seconds or 0.0)


def describe(policy: AutoscaleSettings, value: float, replicas: int) -> str:
    if policy.scaling_metric is ScalingMetric.QUEUE_DEPTH:
        return f"queue depth {value:g} for {replicas} consumer(s), target {policy.target:g} each"
    return f"p99 queue wait {value:.0f} ms, target {policy.target:g} ms"


def load(policy: AutoscaleSettings, value: float, replicas: int) -> float:
    """The metric against its target: 1.0 is on target, 2.0 needs twice the consumers (the HPA's ratio)."""
    if policy.scaling_metric is ScalingMetric.QUEUE_DEPTH:
        return value / (policy.target * replicas)
    return value / policy.target


def decide(
    policy: AutoscaleSettings,
    replicas: int,
    samples: Sequence[Sample],
    *,
    slots_per_consumer: int,
    last_change: float | None,
    now: float,
    fresh_within: float,
) -> Decision:
    """The consumer replicas to run now. `samples` are in time order; the last one is the queue now only if taken
    within `fresh_within` seconds (a producer that stopped answering leaves its last reading behind, and a dead
    producer's deep queue must not scale anything). `slots_per_consumer` is how many sends one consumer pod takes at
    once; `last_change` is when the operator last scaled (None: not yet)."""
    value = metric_value(policy, samples[-1]) if samples else 0.0
    low, high = policy.min_replicas, policy.max_replicas
    if replicas < low or replicas > high:
        bounded = min(max(replicas, low), high)
        return Decision(bounded, f"{replicas} consumer(s) is outside minReplicas {low}..maxReplicas {high}", value)
    if not samples:
        return Decision(replicas, "no ready producer to observe", value)
    age = now - samples[-1].at
    if age > fresh_within:
        return Decision(replicas, f"no fresh reading from a producer (the last is {age:.0f} s old)", value)
    if last_change is not None and now - last_change < policy.cooldown_seconds:
        left = policy.cooldown_seconds - (now - last_change)
        return Decision(replicas, f"cooling down ({left:.0f} s left); {describe(policy, value, replicas)}", value)
    ratio = load(policy, value, replicas)
    if ratio > 1 + TOLERANCE and replicas < high:
        wanted = min(max(math.ceil(replicas * ratio), replicas + 1), high)
        return Decision(wanted, f"{describe(policy, value, replicas)}: scale up", value)
    return _maybe_scale_down(policy, replicas, samples, slots_per_consumer=slots_per_consumer, now=now, value=value)


def _maybe_scale_down(
    policy: AutoscaleSettings,
    replicas: int,
    samples: Sequence[Sample],
    *,
    slots_per_consumer: int,
    now: float,
    value: float,
) -> Decision:
    steady = f"{describe(policy, value, replicas)}: steady"
    if replicas <= policy.min_replicas:
        return Decision(replicas, steady, value)
    since = now - policy.cooldown_seconds
    if samples[0].at > since:
        return Decision(replicas, f"{steady} (watching a full cooldown before any scale-down)", value)
    # The latest sample is fresh, but a cooldown shorter than a round can still leave the window empty.
    window = [sample for sample in samples if sample.at >= since] or [samples[-1]]
    if max(load(policy, metric_value(policy, sample), replicas) for sample in window) > 1 - TOLERANCE:
        return Decision(replicas, steady, value)
    peak_in_flight = max(sample.in_flight for sample in window)
    fewer = replicas - 1
    if peak_in_flight > HEADROOM * fewer * slots_per_consumer:
        return Decision(
            replicas,
            f"{steady}; {peak_in_flight} sends in flight need more than {fewer} consumer(s) of "
            f"{slots_per_consumer} slots at {HEADROOM:.0%}",
            value,
        )
    return Decision(
        fewer,
        f"{describe(policy, value, replicas)}, at most {peak_in_flight} in flight for {policy.cooldown_seconds:g} s: "
        "scale down",
        value,
    )
