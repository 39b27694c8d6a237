"""`bplab check N` and `bplab reset`: apply an exercise's settings, observe the lab, and judge its promise with the
figures seen. Every check starts from the baseline and leaves the lab there, so checks pass in any order."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

from backpressure_lab.cli.client import LabClient, LabError
from backpressure_lab.cli.exercises import BASELINE, Exercise, Sample, Verdict, changed_settings
from backpressure_lab.cli.looks import look_at_the_lab
from backpressure_lab.cli.waits import poll

# How long the work of a previous exercise may take to leave once the baseline is applied: 32 sends in flight
# against a consumer of 4 at 100 ms drain in about a second; a send timeout is 10 s.
DRAIN_SECONDS = 30.0
# How long the operator may take to reconcile an applied BackpressureConfig into the producer's settings: about a
# second on an idle cluster, more on a loaded 2-core machine.
APPLY_SECONDS = 30.0

Apply = Callable[[Exercise], None]


def observe(
    client: LabClient, seconds: float, burst: int = 0, sleep: Callable[[float], None] = time.sleep
) -> list[Sample]:
    """A check's looks: the first unanswered one fails it."""
    return look_at_the_lab(client, seconds, burst=burst, sleep=sleep)


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
    settled, (sending, processing, budget) = poll(
        lambda: _in_flight(client), lambda seen: seen[0] <= seen[2] and seen[1] <= seen[2], timeout=DRAIN_SECONDS,
        interval=0.2,
    )  # fmt: skip
    if not settled:
        raise LabError(
            f"the lab did not settle to the baseline within {DRAIN_SECONDS:g} s: {sending} sends and "
            f"{processing} items still in flight (the baseline keeps at most {budget})"
        )
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


def apply_with_kubectl(
    client: LabClient, cluster_apply: Apply, timeout: float = APPLY_SECONDS, pause: Callable[[float], None] = time.sleep
) -> Apply:
    """kubectl apply, then wait until the producer reports the exercise's settings: the operator's work. It reads
    GET /admin/config, the settings as set (/status shows some of them as the original lab did). A check never runs
    on settings the operator has not applied: past `timeout` it stops with the settings that still differ."""

    def apply(exercise: Exercise) -> None:
        cluster_apply(exercise)
        wanted = exercise.producer_settings()
        applied, live = poll(client.producer_config, lambda seen: not changed_settings(wanted, seen), timeout=timeout,
                             interval=0.2, pause=pause)  # fmt: skip
        if not applied:
            differing = changed_settings(wanted, live).items()
            wrong = ", ".join(f"{name} is {value!r}, not {wanted[name]!r}" for name, value in differing)
            raise LabError(
                f"the operator did not apply exercise {exercise.number}'s settings within {timeout:g} s ({wrong}); "
                "see `kubectl describe bpc` for its conditions and events"
            )

    return apply
