"""The lab's exercises: each one's settings and the promise its check verifies. Pure: no I/O.

examples/NN-*.yaml (the BackpressureConfig manifests learners apply) are generated from these definitions
(`python -m backpressure_lab.cli.exercises examples/`), so a check can never test other settings than the guide's.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backpressure_lab.common.settings import as_dict, camel
from backpressure_lab.consumer.settings import ConsumerSettings
from backpressure_lab.operator.autoscale_spec import AutoscaleSettings
from backpressure_lab.producer.settings import ProducerSettings

CONFIG_NAME = "backpressure-lab"


@dataclass(frozen=True)
class Burst:
    """One POST /produce a check sent, and its answer."""

    count: int
    status: int
    rejected: int
    retry_after: str | None


@dataclass(frozen=True)
class Sample:
    """One look at the lab: seconds since the check began, and the two /status documents."""

    at: float
    producer: dict[str, Any]
    consumer: dict[str, Any]
    burst: Burst | None = None
    """What POST /produce answered at this look, in an exercise that sends bursts."""

    @property
    def depth(self) -> int:
        return int(self.producer["queue"]["size"])

    def stat(self, name: str) -> float:
        return float(self.producer["stats"][name])


@dataclass(frozen=True)
class Verdict:
    passed: bool
    figures: str


def rate(samples: list[Sample], stat: str) -> float:
    first, last = samples[0], samples[-1]
    return (last.stat(stat) - first.stat(stat)) / max(last.at - first.at, 1e-9)


def consumer_change(samples: list[Sample], count: str) -> int:
    """How much one of the consumer's /status counts grew over the observation."""
    return int(samples[-1].consumer["state"][count] - samples[0].consumer["state"][count])


def depth_growth(samples: list[Sample]) -> float:
    return (samples[-1].depth - samples[0].depth) / max(samples[-1].at - samples[0].at, 1e-9)


def depth_trend(samples: list[Sample]) -> float:
    """Items/s the depth drifts by: the least-squares slope over every sample, which a noisy first or last sample
    cannot fake (a baseline that falls 0.35 items/s behind shows as 0.35)."""
    times = [s.at for s in samples]
    depths = [float(s.depth) for s in samples]
    mean_t, mean_d = sum(times) / len(times), sum(depths) / len(depths)
    spread = sum((t - mean_t) ** 2 for t in times)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (d - mean_d) for t, d in zip(times, depths, strict=True)) / spread


def changed_settings(wanted: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """The settings of `wanted` that `live` does not hold, with the value `live` has (None where it has none)."""
    return {name: live.get(name) for name, value in wanted.items() if live.get(name) != value}


@dataclass(frozen=True)
class Exercise:
    number: int
    slug: str
    title: str
    summary: str
    producer: dict[str, Any] = field(default_factory=dict)
    consumer: dict[str, Any] = field(default_factory=dict)
    settle_seconds: float = 3.0
    observe_seconds: float = 10.0
    clear_queue: bool = True
    check: Callable[[list[Sample], Exercise], Verdict] | None = None
    burst: int = 0
    """Items the check sends with POST /produce at every look (a client of the producer), 0 for none."""
    hints: tuple[str, ...] = ()
    """What `bplab hint N` says, one at a time, to a learner who applied the manifest and sees nothing happen."""
    autoscale: dict[str, Any] | None = None
    """spec.consumer.autoscale (snake_case), for the operator: only a cluster can run such an exercise."""

    def producer_settings(self) -> dict[str, Any]:
        return as_dict(ProducerSettings(**self.producer))

    def consumer_settings(self) -> dict[str, Any]:
        return as_dict(ConsumerSettings(**self.consumer))

    @property
    def needs_cluster(self) -> bool:
        return self.autoscale is not None

    def manifest(self) -> str:
        lines = [f"# {self.title}: {self.summary}",
                 f"# Apply: kubectl -n backpressure-lab apply --server-side -f examples/{self.slug}.yaml   "
                 f"Check: bplab check {self.number}",
                 "apiVersion: lab.backpressure.dev/v1alpha1", "kind: BackpressureConfig",
                 "metadata:", f"  name: {CONFIG_NAME}", "spec:"]  # fmt: skip
        for section, settings in (("producer", self.producer_settings()), ("consumer", self.consumer_settings())):
            lines.append(f"  {section}:")
            lines += [f"    {camel(name)}: {_yaml(value)}" for name, value in settings.items()]
        if self.autoscale is not None:
            lines.append("    autoscale:")
            lines += [
                f"      {camel(name)}: {_yaml(value)}" for name, value in as_dict(self.autoscale_settings()).items()
            ]
        return "\n".join(lines) + "\n"

    def autoscale_settings(self) -> AutoscaleSettings:
        return AutoscaleSettings(**(self.autoscale or {}))


def _yaml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        # Quoted, so that no YAML reader takes a word such as off or yes for a boolean.
        return json.dumps(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _balanced(samples: list[Sample], exercise: Exercise) -> Verdict:
    peak = max(s.depth for s in samples)
    sent = rate(samples, "sent")
    trend = depth_trend(samples)
    return Verdict(
        peak < 20 and sent > 8 and trend < 0.1,
        f"max queue depth {peak} (< 20), sent {sent:.1f} items/s (> 8), depth trend {trend:+.2f} items/s (< 0.1)",
    )


def _grows(samples: list[Sample], exercise: Exercise) -> Verdict:
    growth = depth_growth(samples)
    processed = samples[-1].consumer["state"]["throughput"]
    return Verdict(growth >= 5, f"queue grows {growth:.1f} items/s (>= 5), consumer {processed:.1f} items/s")


def _memory_climbs(samples: list[Sample], exercise: Exercise) -> Verdict:
    first, last = samples[0].producer, samples[-1].producer
    queue_rate = (last["queue"]["memory_bytes"] - first["queue"]["memory_bytes"]) / (samples[-1].at - samples[0].at)
    restarted = last["stats"]["produced"] < first["stats"]["produced"]
    left = last["process"]["seconds_to_limit"]
    limit = last["process"]["memory_limit_mb"]
    passed = queue_rate >= 1_000_000 or restarted
    where = f"limit {limit} MiB, time to limit {left} s" if limit else "no memory limit here (local mode)"
    return Verdict(
        passed,
        f"queue memory grows {queue_rate / 1e6:.1f} MB/s (>= 1), {where}"
        + (", the producer restarted (OOM)" if restarted else ""),
    )


def _plateaus(samples: list[Sample], exercise: Exercise) -> Verdict:
    limit = int(exercise.producer["max_queue_size"])
    tail = [s.depth for s in samples[len(samples) // 2 :]]
    rejected = rate(samples, "rejected")
    passed = max(tail) <= limit and min(tail) >= limit * 0.9 and rejected > 0
    return Verdict(
        passed, f"queue depth {min(tail)}..{max(tail)} (plateau at {limit}), rejected {rejected:.1f}/s (> 0)"
    )


def _paced(samples: list[Sample], exercise: Exercise) -> Verdict:
    peak = max(s.depth for s in samples)
    produced = rate(samples, "produced")
    limit = float(exercise.producer["rate_limit"])
    delays = rate(samples, "rate_limit_delays")
    rejected = rate(samples, "rejected")
    passed = peak <= 10 and abs(produced - limit) <= 0.35 * limit and delays > 0 and rejected == 0
    return Verdict(
        passed,
        f"max queue depth {peak} (<= 10), produced {produced:.1f}/s (~{limit:g}), "
        f"rate-limit waits {delays:.1f}/s (> 0), rejected {rejected:.1f}/s (0)",
    )


def _blocks(samples: list[Sample], exercise: Exercise) -> Verdict:
    limit = int(exercise.producer["max_queue_size"])
    peak = max(s.depth for s in samples)
    produced = rate(samples, "produced")
    processed = samples[-1].consumer["state"]["throughput"]
    rejected = rate(samples, "rejected")
    passed = peak <= limit and rejected == 0 and abs(produced - processed) <= max(0.5, 0.35 * processed)
    return Verdict(
        passed,
        f"max queue depth {peak} (<= {limit}), rejected {rejected:.1f}/s (0), "
        f"produced {produced:.1f}/s ~ processed {processed:.1f}/s",
    )


def _sheds_old_items(samples: list[Sample], exercise: Exercise) -> Verdict:
    target = float(exercise.producer["codel_target_ms"]) / 1000.0
    wait = samples[-1].producer["queue"]["wait_p99_seconds"] or 0.0
    expired = rate(samples, "expired")
    rejected = rate(samples, "rejected")
    peak = max(s.depth for s in samples)
    passed = wait <= 2 * target and expired > 0 and rejected == 0
    return Verdict(
        passed,
        f"p99 queue wait of served items {wait:.2f} s (<= {2 * target:g} s, 2x the target), "
        f"expired {expired:.1f}/s (> 0), rejected {rejected:.1f}/s (0: CoDel sheds at dequeue), max depth {peak}",
    )


def _priority_loss(samples: list[Sample], exercise: Exercise) -> Verdict:
    first, last = samples[0].producer["priorities"], samples[-1].producer["priorities"]

    def lost(priority: str) -> int:
        return sum(last[priority][o] - first[priority][o] for o in ("rejected", "expired"))

    passed = lost("high") == 0 and lost("low") > 0
    return Verdict(passed, f"high priority lost {lost('high')} (0), low priority lost {lost('low')} (> 0)")


def _hysteresis(samples: list[Sample], exercise: Exercise) -> Verdict:
    high, low = int(exercise.producer["high_watermark"]), int(exercise.producer["low_watermark"])
    depths = [s.depth for s in samples]
    pauses = sum(
        1
        for a, b in itertools.pairwise(samples)
        if b.producer["queue"]["watermark_paused"] and not a.producer["queue"]["watermark_paused"]
    )
    rejected = rate(samples, "rejected")
    passed = max(depths) <= high and min(depths[len(depths) // 4 :]) <= low + 5 and pauses >= 1 and rejected == 0
    return Verdict(
        passed,
        f"depth {min(depths)}..{max(depths)} (never above {high}, down to ~{low}), "
        f"{pauses} pause(s) at the high watermark, rejected {rejected:.1f}/s (0)",
    )


def _littles_law_holds(samples: list[Sample], exercise: Exercise) -> Verdict:
    law = samples[-1].producer["littles_law"]
    error = law["error"]
    passed = error is not None and abs(error) <= 0.15
    shown = "n/a" if error is None else f"{100 * error:+.0f}%"
    return Verdict(
        passed,
        f"L {law['depth']:.1f} vs λW {law['arrival_rate']:.2f}/s x {law['mean_wait_seconds']:.2f} s"
        f" = {law['predicted_depth']:.1f} ({shown}, within 15%)",
    )


def _adapts(samples: list[Sample], exercise: Exercise) -> Verdict:
    target = int(exercise.consumer["concurrency"])
    limit = samples[-1].producer["stats"]["concurrency_limit"]
    refused, served = consumer_change(samples, "items_rejected"), consumer_change(samples, "items_processed")
    share = refused / served if served else 1.0
    passed = abs(limit - target) <= max(1, 0.25 * target) and share < 0.01
    return Verdict(
        passed,
        f"concurrency limit {limit} (consumer concurrency {target}, within 25%), "
        f"503s {refused} of {served} processed ({100 * share:.2f}% < 1%)",
    )


def _pushes_back(samples: list[Sample], exercise: Exercise) -> Verdict:
    bursts = [s.burst for s in samples if s.burst is not None]
    refused = [b for b in bursts if b.rejected]
    told = [b for b in refused if b.status == 429 and b.retry_after and b.retry_after.isdigit()]
    passed = len(refused) >= len(bursts) // 2 > 0 and len(told) == len(refused)
    return Verdict(
        passed,
        f"{len(refused)} of {len(bursts)} bursts refused in part (>= half), {len(told)} of them answered 429 with "
        f"Retry-After (all), {sum(b.rejected for b in refused)} items rejected",
    )


def _newest_first(samples: list[Sample], exercise: Exercise) -> Verdict:
    queue = samples[-1].producer["queue"]
    p50, p99 = queue["wait_p50_seconds"], queue["wait_p99_seconds"]
    oldest = [s.producer["queue"]["oldest_wait_seconds"] or 0.0 for s in samples]
    growth = depth_growth(samples)
    starving = oldest[-1] > oldest[0] + 0.5 * (samples[-1].at - samples[0].at)
    passed = p50 is not None and p50 <= 1.0 and starving and growth > 0
    return Verdict(
        passed,
        f"served items waited p50 {p50 or 0:.2f} s (<= 1 s) and p99 {p99 or 0:.2f} s, while the oldest queued item "
        f"has waited {oldest[-1]:.1f} s (was {oldest[0]:.1f} s: it starves); depth grows {growth:.1f} items/s",
    )


def _deadline_figures(samples: list[Sample]) -> tuple[float, float, float, float]:
    """Over the observation: items processed per second, the share of them finished late, the goodput (on time per
    second) and items refused as expired per second."""
    seconds = max(samples[-1].at - samples[0].at, 1e-9)
    processed, late, expired = (consumer_change(samples, name) for name in ("items_processed", "items_late",
                                                                           "items_expired"))  # fmt: skip
    late_share = late / processed if processed else 0.0
    return processed / seconds, late_share, (processed - late) / seconds, expired / seconds


def _wasted_work(samples: list[Sample], exercise: Exercise) -> Verdict:
    throughput, late_share, goodput, _ = _deadline_figures(samples)
    passed = throughput >= 3.0 and late_share >= 0.9
    return Verdict(
        passed,
        f"throughput {throughput:.1f} items/s (>= 3, the consumer busy) but {100 * late_share:.0f}% of it finished "
        f"past the deadline (>= 90%): goodput {goodput:.1f} items/s",
    )


def _drops_late_work(samples: list[Sample], exercise: Exercise) -> Verdict:
    throughput, late_share, goodput, expired = _deadline_figures(samples)
    passed = goodput >= 3.0 and late_share <= 0.05 and expired > 0
    return Verdict(
        passed,
        f"goodput {goodput:.1f} items/s (>= 3) of {throughput:.1f} processed, {100 * late_share:.0f}% late (<= 5%), "
        f"{expired:.1f} items/s refused unprocessed as expired (> 0)",
    )


def _consumer_view(samples: list[Sample]) -> tuple[float, float]:
    """Over the observation, as the consumer saw it: requests received per item it accepted, and items processed
    per second."""
    seconds = max(samples[-1].at - samples[0].at, 1e-9)
    processed, refused = consumer_change(samples, "items_processed"), consumer_change(samples, "items_rejected")
    return (processed + refused) / max(processed, 1), processed / seconds


def _capacity(exercise: Exercise) -> float:
    consumer = ConsumerSettings(**exercise.consumer)
    return consumer.concurrency * 1000.0 / (consumer.processing_time_ms * consumer.slow_down_factor)


def _amplifies(samples: list[Sample], exercise: Exercise) -> Verdict:
    amplification, throughput = _consumer_view(samples)
    dropped = rate(samples, "dropped")
    passed = amplification >= 5.0
    return Verdict(
        passed,
        f"the consumer received {amplification:.1f} requests for each item it accepted (>= 5) at "
        f"{throughput:.1f} items/s of its {_capacity(exercise):.0f}; the producer dropped {dropped:.1f} items/s "
        "with their retries spent",
    )


def _contains_the_storm(samples: list[Sample], exercise: Exercise) -> Verdict:
    amplification, throughput = _consumer_view(samples)
    held_back = rate(samples, "throttled") + rate(samples, "retries_denied")
    capacity = _capacity(exercise)
    passed = amplification <= 2.5 and held_back > 0 and throughput >= 0.5 * capacity
    return Verdict(
        passed,
        f"the consumer received {amplification:.1f} requests per accepted item (<= 2.5) at {throughput:.1f} "
        f"items/s (>= half its {capacity:.0f}); the producer held back {held_back:.1f} attempts/s itself "
        "(throttled, or retries its budget denied)",
    )


def _scales_out(samples: list[Sample], exercise: Exercise) -> Verdict:
    per_consumer = _capacity(exercise)
    counts = [int(s.producer["consumers"]["count"]) for s in samples]
    sent = rate(samples, "sent")
    passed = min(counts) >= 3 and sent >= 1.7 * per_consumer
    return Verdict(
        passed,
        f"the producer sends to {min(counts)}..{max(counts)} consumers (>= 3), sent {sent:.1f} items/s "
        f"(>= 1.7x one consumer's {per_consumer:g} items/s)",
    )


SLOW = {"slow_down_factor": 5.0}

# A retry storm: a consumer that takes 20 items/s, 16 senders offering 30/s, and each failed send retried at once,
# up to 20 times, without waiting for the Retry-After the consumer's 503s ask for.
RETRY_STORM = {
    "production_rate": 30.0,
    "queue_mode": "bounded",
    "max_queue_size": 100,
    "payload_bytes": 1024,
    "sender_concurrency": 16,
    "retry_budget": 20,
    "retry_backoff_ms": 0.0,
    "honour_retry_after": False,
}
STORM_CONSUMER = {"concurrency": 2}

# Every setting at its default: where each check starts and where it leaves the lab (`bplab reset`).
BASELINE = Exercise(
    1,
    "01-baseline",
    "Exercise 1: baseline",
    "producer 10/s, consumer 100 ms per item, two sends in flight (20 items/s of room): balanced",
    observe_seconds=30.0,
    hints=(
        (
            'Local mode: is the lab running? `curl -s localhost:8000/health` should answer {"status": "ok", ...}; in '
            "the "
            "cluster `kubectl -n backpressure-lab get pods` should show every pod Running."
        ),
        (
            "Watch the depth, not one reading: `bplab watch` shows the queue sparkline; it should stay flat and under"
            " 20 "
            "while produced and sent both read about 10/s."
        ),
        (
            "If the queue still creeps up, look at `curl -s localhost:8000/status | jq .config.sender_concurrency`: "
            "the "
            "baseline needs 2 sends in flight; one falls behind the 10 items/s produced."
        ),
    ),
    check=_balanced,
)

EXERCISES = [
    BASELINE,
    Exercise(
        2,
        "02-slow-consumer",
        "Exercise 2: slow consumer",
        "the consumer becomes 5x slower (500 ms per item: 4 items/s with two sends in flight); the unbounded queue "
        "grows by about 6 items/s",
        consumer=SLOW,
        hints=(
            (
                "The slow-down is the consumer's: `curl -s localhost:8001/status | jq .config.processing_time_ms` "
                "should "
                "read 500 (`kubectl get bpc` shows SLOWDOWN 5 in the cluster)."
            ),
            (
                "Give it time: the queue grows about 6 items a second, so look twice, ten seconds apart: `curl -s "
                "localhost:8000/status | jq .queue.size`."
            ),
            (
                "If the queue stays small, the consumer is not slow: check that the BackpressureConfig is Applied "
                "(`kubectl -n backpressure-lab get bpc`, column APPLIED), or slow it down again."
            ),
        ),
        check=_grows,
    ),
    Exercise(
        3,
        "03-oom",
        "Exercise 3: memory pressure",
        "50 items/s into an unbounded queue, consumer 5x slower: the producer is OOM-killed at its 256Mi limit",
        producer={"production_rate": 50.0},
        consumer=SLOW,
        observe_seconds=8.0,
        hints=(
            (
                "The kill takes a while: at 50 items/s the producer's 256 MiB fill in about a minute and a half; "
                "`bplab "
                "watch` shows memory against the limit and the seconds left."
            ),
            (
                "In local mode there is no memory limit, so memory simply grows: the OOM kill needs the cluster, where "
                "the producer runs under 256Mi."
            ),
            (
                "After the kill, look where Kubernetes says it: `kubectl -n backpressure-lab describe pod -l "
                "app.kubernetes.io/component=producer` (Last State: Terminated, Reason: OOMKilled) and `kubectl -n "
                "backpressure-lab describe bpc` (the operator's OOMKilled event)."
            ),
        ),
        check=_memory_climbs,
    ),
    Exercise(
        4,
        "04-bounded",
        "Exercise 4: bounded queue",
        "the queue plateaus at 100 and rejects the rest: memory stays flat, items are lost",
        producer={"queue_mode": "bounded", "max_queue_size": 100},
        consumer=SLOW,
        settle_seconds=15.0,
        observe_seconds=6.0,
        hints=(
            (
                "A bounded queue only fills when the consumer is slower than the producer: this exercise keeps the 5x "
                "slow-down, and `jq .queue` should show mode bounded and max_size 100."
            ),
            (
                "It takes about 20 s to fill (10 in, 4 out); then `.stats.rejected` climbs in `/status` while the "
                "depth "
                "stays at 100."
            ),
            (
                "`POST /produce` answers 200 with the counts: its `rejected` field and its Retry-After header say what "
                "was refused."
            ),
        ),
        check=_plateaus,
    ),
    Exercise(
        5,
        "05-rate-limited",
        "Exercise 5: rate limiting",
        "admission paced at 2 items/s, the slowed consumer's speed: small queue, the generator waits, no loss",
        producer={"queue_mode": "rate_limited", "rate_limit": 2.0},
        consumer=SLOW,
        hints=(
            (
                "Rate limiting paces admission, so the generator itself waits: read `curl -s localhost:8000/status | "
                "jq "
                "'.stats | {produced, rate_limit_delays}'` twice, a few seconds apart."
            ),
            (
                "produced should rise by about 2 a second, and rate_limit_delays with it; the queue stays small "
                "because "
                "nothing arrives faster than the slowed consumer takes it."
            ),
            (
                "If the queue still grows, the mode did not change: `jq .config.queue_mode` must read rate_limited, "
                "and "
                "`kubectl get bpc` must show the config Applied."
            ),
        ),
        check=_paced,
    ),
    Exercise(
        6,
        "06-reset",
        "Exercise 6: reset",
        "back to the defaults: the queue stays small",
        observe_seconds=10.0,
        hints=(
            (
                "This is the baseline again, every setting at its default; `bplab reset` does the same and empties the "
                "queue too."
            ),
            "The queue left by the exercises before may take a moment to drain; after that the depth stays under 20.",
        ),
        check=_balanced,
    ),
    Exercise(
        8,
        "08-block",
        "Block mode",
        "a bounded queue whose generator waits for space: nothing is lost and the consumer sets the pace",
        producer={"queue_mode": "block", "max_queue_size": 100, "production_rate": 50.0},
        consumer=SLOW,
        settle_seconds=4.0,
        hints=(
            (
                "Block mode makes the generator wait for space instead of refusing: `.stats.rejected` stays still "
                "while "
                "`.stats.queue_full_wait_seconds` climbs."
            ),
            "produced and the consumer's rate should match, about 4 items/s: the consumer sets the pace.",
        ),
        check=_blocks,
    ),
    Exercise(
        9,
        "09-codel",
        "CoDel",
        "under 5x overload, items that waited past twice the 500 ms target in a standing backlog are shed at "
        "dequeue (expired): the wait stays short while an unbounded queue's grows without limit",
        producer={"queue_mode": "codel", "codel_target_ms": 500.0, "codel_interval_ms": 1000.0},
        consumer=SLOW,
        settle_seconds=6.0,
        observe_seconds=10.0,
        hints=(
            (
                "CoDel sheds at dequeue, so the depth can still be large; watch the wait instead: `jq "
                ".queue.wait_p99_seconds` stays near a second while `.stats.expired` climbs."
            ),
            (
                "It needs a standing backlog: the 5x slow-down must be in place (the consumer's `jq "
                ".config.processing_time_ms` reads 500)."
            ),
        ),
        check=_sheds_old_items,
    ),
    Exercise(
        10,
        "10-priorities",
        "Priorities",
        "30% of the items are high priority; at 2x overload the full bounded queue sheds low priority first: "
        "no high-priority item is lost",
        producer={"queue_mode": "bounded", "max_queue_size": 20, "production_rate": 8.0, "high_priority_share": 0.3},
        consumer=SLOW,
        settle_seconds=14.0,
        observe_seconds=10.0,
        hints=(
            "Loss by priority is in `/status` `.priorities`: high.rejected must stay 0 while low.rejected climbs.",
            (
                "At 8 items/s against 4 the bounded queue of 20 is full within seconds; if nothing is rejected yet, "
                "wait "
                "a little longer."
            ),
        ),
        check=_priority_loss,
    ),
    Exercise(
        11,
        "11-watermarks",
        "Watermarks",
        "the generator pauses at 80 queued items and resumes at 20: depth oscillates between the two and never "
        "passes 80",
        producer={"queue_mode": "watermarks", "high_watermark": 80, "low_watermark": 20, "production_rate": 50.0},
        settle_seconds=1.0,
        observe_seconds=16.0,
        hints=(
            (
                "Watch `.queue.size` and `.queue.watermark_paused` together: the generator pauses at 80 and resumes "
                "only "
                "at 20."
            ),
            "`bplab watch` shows the saw-tooth in the depth sparkline; nothing is ever rejected.",
        ),
        check=_hysteresis,
    ),
    Exercise(
        12,
        "12-littles-law",
        "Little's law",
        "in a steady state the queue depth L equals the arrival rate times the wait (λW): a bounded queue of 50 "
        "fed at twice the consumer's speed",
        producer={"queue_mode": "bounded", "max_queue_size": 50, "production_rate": 40.0},
        settle_seconds=25.0,
        observe_seconds=4.0,
        hints=(
            "Little's law needs a steady state: give the full bounded queue 20 to 30 s, then read `jq .littles_law`.",
            "depth (L) and predicted_depth (λW) should agree within 15%; error is their relative difference.",
        ),
        check=_littles_law_holds,
    ),
    Exercise(
        13,
        "13-adaptive",
        "Adaptive concurrency",
        "the sender may have 32 sends in flight but learns, from the consumer's 503s (AIMD), to keep about as many "
        "as the consumer's concurrency of 4: the limit settles there and 503s stay under 1%",
        producer={
            "sender_concurrency": 32,
            "adaptive_concurrency": "aimd",
            "production_rate": 100.0,
            "payload_bytes": 1024,
        },
        consumer={"concurrency": 4},
        settle_seconds=15.0,
        observe_seconds=15.0,
        hints=(
            (
                "Adaptive concurrency learns from the consumer's 503s: read `jq .stats.concurrency_limit` a few "
                "times; it"
                " settles near 4."
            ),
            (
                "Finding the limit takes 10 to 20 s; the consumer's `.state.items_rejected` grows only a little while"
                " the"
                " sender probes."
            ),
        ),
        check=_adapts,
    ),
    Exercise(
        15,
        "15-push-back",
        "Push-back",
        "a client sends bursts to POST /produce while the bounded queue is full: with produceOverloadStatus 429 the "
        "producer answers 429 Too Many Requests with Retry-After instead of the original's 200 with the counts, so "
        "a client that only reads the status code slows down too",
        producer={"queue_mode": "bounded", "max_queue_size": 20, "produce_overload_status": 429},
        consumer=SLOW,
        settle_seconds=6.0,
        observe_seconds=6.0,
        burst=10,
        hints=(
            (
                "This exercise needs a client: `curl -si -X POST localhost:8000/produce -H 'Content-Type: "
                "application/json' -d '{\"count\": 10}'` once the bounded queue is full."
            ),
            (
                "With produceOverloadStatus 429 the answer is HTTP 429 with a Retry-After header; without it (the "
                "default) the original's 200 with the counts."
            ),
        ),
        check=_pushes_back,
    ),
    Exercise(
        14,
        "14-autoscale",
        "Scaling consumers",
        "one consumer serves 20 items/s, the producer makes 50: the operator scales the consumer Deployment from the "
        "queue depth (target 20 per consumer, 1 to 4 pods) and the producer sends to every ready pod, so "
        "throughput follows (cluster only)",
        producer={
            "production_rate": 50.0,
            "queue_mode": "bounded",
            "max_queue_size": 500,
            "payload_bytes": 1024,
            "sender_concurrency": 2,
        },
        consumer={"processing_time_ms": 100.0, "concurrency": 2},
        autoscale={
            "min_replicas": 1,
            "max_replicas": 4,
            "metric": "queue_depth",
            "target": 20.0,
            "cooldown_seconds": 10.0,
        },
        settle_seconds=25.0,
        observe_seconds=15.0,
        hints=(
            (
                "Scaling needs the cluster: `kubectl -n backpressure-lab get deploy` should show the consumer "
                "Deployment "
                "growing within a few seconds."
            ),
            (
                "`kubectl -n backpressure-lab describe bpc` lists the operator's Scaled events, and `kubectl get bpc` "
                "shows the consumers."
            ),
            "Apply 01-baseline.yaml to scale back down: one pod per 10 s cooldown.",
        ),
        check=_scales_out,
    ),
    Exercise(
        16,
        "16-lifo",
        "LIFO under overload",
        "with the consumer 5x slower the queue grows, but senders take the newest item first: half the served items "
        "waited well under a second, where first-in-first-out serves every item late; the oldest ones starve",
        producer={"dequeue_order": "lifo"},
        consumer=SLOW,
        settle_seconds=6.0,
        observe_seconds=10.0,
        hints=(
            (
                "Look at the served items' waits, not the depth: `curl -s localhost:8000/status | jq .queue` shows "
                "wait_p50_seconds near zero and oldest_wait_seconds climbing."
            ),
            (
                "LIFO needs an overload to show anything: with the 5x slow-down in place the consumer takes 4 items/s "
                "of the 10 produced; `jq .config.dequeue_order` should read lifo."
            ),
            (
                "For the contrast, apply 02-slow-consumer.yaml (first in, first out): wait_p50_seconds then grows as "
                "fast as the backlog's age."
            ),
        ),
        check=_newest_first,
    ),
    Exercise(
        17,
        "17-deadlines",
        "Deadlines: throughput without goodput",
        "items are worth having for 2 s; with the consumer 5x slower the queue's wait passes that within seconds: the "
        "consumer stays busy at 4 items/s, and nearly all of it finishes too late to be of use",
        producer={"item_deadline_ms": 2000.0},
        consumer=SLOW,
        settle_seconds=6.0,
        observe_seconds=10.0,
        hints=(
            (
                "Throughput alone looks healthy: compare `curl -s localhost:8001/status | jq .state.throughput` with "
                "`.state.goodput` and `.state.items_late`."
            ),
            (
                "The deadline is the producer's: `curl -s localhost:8000/status | jq .config.item_deadline_ms` should "
                "read 2000, and the 5x slow-down must be in place for the wait to pass it."
            ),
        ),
        check=_wasted_work,
    ),
    Exercise(
        18,
        "18-drop-late-work",
        "Drop late work",
        "the same overload and deadline, but the consumer refuses at once every item that cannot finish by its "
        "deadline: the time goes to items that can still make it, and goodput comes back to the consumer's 4 items/s",
        producer={"item_deadline_ms": 2000.0},
        consumer={**SLOW, "drop_late_work": True},
        settle_seconds=6.0,
        observe_seconds=10.0,
        hints=(
            (
                "`curl -s localhost:8001/status | jq .state` shows items_expired climbing while goodput stays near the "
                "throughput and items_late stays still."
            ),
            (
                "It needs both halves: the producer's item_deadline_ms (2000) and the consumer's drop_late_work "
                "(`jq .config.drop_late_work` on localhost:8001/status reads true)."
            ),
        ),
        check=_drops_late_work,
    ),
    Exercise(
        19,
        "19-retry-storm",
        "Retry storms",
        "the consumer takes 20 items/s, the producer offers 30 with 16 sends at once, and retries every refused send "
        "at once, ignoring Retry-After: each accepted item costs the consumer many requests, and items are dropped "
        "within milliseconds, their 20 retries spent",
        producer=RETRY_STORM,
        consumer=STORM_CONSUMER,
        settle_seconds=4.0,
        observe_seconds=10.0,
        hints=(
            (
                "Compare what the consumer answers with what it accepts: `curl -s localhost:8001/status | jq .state` "
                "shows items_rejected growing many times faster than items_processed."
            ),
            (
                "The producer sees the same: `curl -s localhost:8000/status | jq .sends` gives "
                "attempts_per_accepted_item; the storm needs retry_backoff_ms 0 and honour_retry_after false."
            ),
        ),
        check=_amplifies,
    ),
    Exercise(
        20,
        "20-retry-budget",
        "Retry budget and client-side throttling",
        "the same storm, with a retry budget (retries at most 10% of first attempts) and the SRE book's client-side "
        "throttle (K = 2): the producer refuses attempts itself that the consumer would refuse, so the consumer "
        "receives under 2.5 requests per accepted item",
        producer={**RETRY_STORM, "retry_budget_ratio": 0.1, "client_throttle_k": 2.0},
        consumer=STORM_CONSUMER,
        settle_seconds=4.0,
        observe_seconds=10.0,
        hints=(
            (
                "`curl -s localhost:8000/status | jq .sends` shows retry_share near 0.1 and a throttle_probability "
                "above 0 while attempts_per_accepted_item falls towards 2."
            ),
            (
                "Both limits are the producer's: `jq .config.retry_budget_ratio,.config.client_throttle_k` on "
                "localhost:8000/status should read 0.1 and 2; `jq .stats.throttled,.stats.retries_denied` count what "
                "they held back."
            ),
        ),
        check=_contains_the_storm,
    ),
]


def exercise(number: int) -> Exercise:
    for candidate in EXERCISES:
        if candidate.number == number:
            return candidate
    known = ", ".join(str(e.number) for e in EXERCISES)
    raise KeyError(f"no exercise {number}; the exercises are {known}")


def write_manifests(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for item in EXERCISES:
        (directory / f"{item.slug}.yaml").write_text(item.manifest())


if __name__ == "__main__":
    write_manifests(Path(sys.argv[1] if len(sys.argv) > 1 else "examples"))
