"""`bplab check N` and `bplab reset`: apply an exercise's settings, observe the lab, and judge its promise with the
figures seen. Every check starts from the baseline and leaves the lab there, so checks pass in any order."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

from backpressure_lab.cli.client import LabClient, LabError
from backpressure_lab.cli.exercises import BASELINE, Exercise, Sample, Verdict

SAMPLE_SECONDS = 0.5
# How long the work of a previous exercise may take to leave once the baseline is applied: 32 sends in flight
# against a consumer of 4 at 100 ms drain in about a second; a send timeout is 10 s.
DRAIN_SECONDS = 30.0

Apply = Callable[[Exercise], None]


def observe(
    client: LabClient, seconds: float, burst: int = 0, sleep: Callable[[float], None] = time.sleep
) -> list[Sample]:
    samples: list[Sample] = []
    started = time.monotonic()
    while True:
        now = time.monotonic() - started
        sent = client.produce(burst) if burst else None
        samples.append(Sample(now, client.producer_status(), client.consumer_status(), sent))
        if now >= seconds:
            return samples
        sleep(SAMPLE_SECONDS)


def _in_flight(client: LabClient) -> tuple[int, int, int]:
    """(producer sends in flight, consumer items in flight, what the baseline itself keeps in flight)."""
    producer, consumer = client.producer_status(), client.consumer_status()
    budget = int(producer["config"]["sender_concurrency"]) * max(1, int(producer["consumers"]["count"]))
    return int(producer["stats"]["in_flight"]), int(consumer["state"]["items_in_flight"]), budget


def reset(client: LabClient, apply: Apply, scale_consumers: Callable[[int], None] | None = None) -> None:
    """The baseline everywhere: exercise 1's settings (every default), one consumer, an empty queue, and no work of
    an earlier exercise still in flight (its retiring senders' items would otherwise queue behind the baseline's)."""
    apply(BASELINE)
    if scale_consumers is not None:
        scale_consumers(1)
    client.clear_queue()
    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        sending, processing, budget = _in_flight(client)
        if sending <= budget and processing <= budget:
            break
        if time.monotonic() >= deadline:
            raise LabError(
                f"the lab did not settle to the baseline within {DRAIN_SECONDS:g} s: {sending} sends and "
                f"{processing} items still in flight (the baseline keeps at most {budget})"
            )
        time.sleep(0.2)
    client.clear_queue()


def run_checks(
    client: LabClient,
    exercises: Sequence[Exercise],
    apply: Apply,
    scale_consumers: Callable[[int], None] | None = None,
    *,
    leave_applied: bool = False,
) -> Iterator[tuple[Exercise, Verdict]]:
    """Each exercise from the baseline: apply it (over HTTP in local mode, `kubectl apply` in the cluster), let it
    settle, observe, judge; the baseline again after each one, also when a check fails on the way, unless
    `leave_applied` (`bplab solve`: the learner looks at the solved exercise)."""
    reset(client, apply, scale_consumers)
    for exercise in exercises:
        try:
            apply(exercise)
            if exercise.clear_queue:
                client.clear_queue()
            time.sleep(exercise.settle_seconds)
            samples = observe(client, exercise.observe_seconds, exercise.burst)
            assert exercise.check is not None
            verdict = exercise.check(samples, exercise)
        finally:
            if not leave_applied:
                reset(client, apply, scale_consumers if exercise.autoscale is not None else None)
        yield exercise, verdict


def apply_over_http(client: LabClient) -> Apply:
    def apply(exercise: Exercise) -> None:
        client.configure(exercise.producer_settings(), exercise.consumer_settings())

    return apply


def apply_with_kubectl(client: LabClient, cluster_apply: Apply) -> Apply:
    """kubectl apply, then wait (up to 10 s) until the producer reports the exercise's settings: the operator's work.
    It reads GET /admin/config, the settings as set (/status shows some of them as the original lab did)."""

    def apply(exercise: Exercise) -> None:
        cluster_apply(exercise)
        wanted = exercise.producer_settings()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            live = client.producer_config()
            if all(live.get(name) == value for name, value in wanted.items()):
                return
            time.sleep(0.2)

    return apply
