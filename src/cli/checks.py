"""`bplab check N`: apply an exercise's settings, observe the lab, and judge its promise with the figures seen."""

from __future__ import annotations

import time
from collections.abc import Callable

from backpressure_lab.cli.client import LabClient
from backpressure_lab.cli.exercises import Exercise, Sample, Verdict

SAMPLE_SECONDS = 0.5


def observe(client: LabClient, seconds: float, sleep: Callable[[float], None] = time.sleep) -> list[Sample]:
    samples: list[Sample] = []
    started = time.monotonic()
    while True:
        now = time.monotonic() - started
        samples.append(Sample(now, client.producer_status(), client.consumer_status()))
        if now >= seconds:
            return samples
        sleep(SAMPLE_SECONDS)


def run_check(client: LabClient, exercise: Exercise, apply: Callable[[Exercise], None]) -> Verdict:
    """Apply the exercise (over HTTP in local mode, `kubectl apply` in the cluster), let it settle, observe, judge."""
    apply(exercise)
    if exercise.clear_queue:
        client.clear_queue()
    time.sleep(exercise.settle_seconds)
    samples = observe(client, exercise.observe_seconds)
    assert exercise.check is not None
    return exercise.check(samples, exercise)


def apply_over_http(client: LabClient) -> Callable[[Exercise], None]:
    def apply(exercise: Exercise) -> None:
        client.configure(exercise.producer_settings(), exercise.consumer_settings())

    return apply


def apply_with_kubectl(client: LabClient, cluster_apply: Callable[[Exercise], None]) -> Callable[[Exercise], None]:
    """kubectl apply, then wait (up to 10 s) until the pods report the exercise's settings: the operator's work."""

    def apply(exercise: Exercise) -> None:
        cluster_apply(exercise)
        wanted = exercise.producer_settings()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            live = client.producer_status()["config"]
            if all(live.get(name) == value for name, value in wanted.items()):
                return
            time.sleep(0.2)

    return apply
