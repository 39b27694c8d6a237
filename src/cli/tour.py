"""`bplab tour`: the exercises in order, as a guided session in the terminal. For each one it shows the instruction
and the command to type, watches until the learner's change has taken effect (it never applies it for them), runs
the exercise's check, says what was seen with the measured figures, and moves on. `--from N` resumes."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from backpressure_lab.cli.checks import Apply, reset, run_checks
from backpressure_lab.cli.client import LabClient
from backpressure_lab.cli.exercises import BASELINE, Exercise, changed_settings
from backpressure_lab.cli.waits import poll

REMIND_SECONDS = 60.0
"""How often the tour repeats the command while it waits for the change."""


@dataclass(frozen=True)
class Where:
    """Where the learner types: the cluster (kubectl apply of the exercise's manifest) or the local services."""

    namespace: str | None
    """The lab's namespace in the cluster; None in local mode."""
    producer_url: str
    consumer_url: str


def commands(exercise: Exercise, where: Where) -> list[str]:
    """What the learner types to start the exercise, from the baseline."""
    if where.namespace is not None:
        return [f"kubectl -n {where.namespace} apply --server-side -f examples/{exercise.slug}.yaml"]
    typed = []
    for url, wanted, baseline in (
        (where.producer_url, exercise.producer_settings(), BASELINE.producer_settings()),
        (where.consumer_url, exercise.consumer_settings(), BASELINE.consumer_settings()),
    ):
        changes = {name: wanted[name] for name in changed_settings(wanted, baseline)}
        if changes:
            body = shlex.quote(json.dumps(changes))
            typed.append(f"curl -s -X POST {url}/admin/config -H 'Content-Type: application/json' -d {body}")
    return typed


def differs(exercise: Exercise, producer: dict[str, Any], consumer: dict[str, Any]) -> list[str]:
    """The exercise's settings the services do not run yet, as `name` (producer or consumer)."""
    return [f"{name} (producer)" for name in changed_settings(exercise.producer_settings(), producer)] + [
        f"{name} (consumer)" for name in changed_settings(exercise.consumer_settings(), consumer)
    ]


@dataclass
class Tour:
    client: LabClient
    where: Where
    apply_baseline: Apply
    say: Callable[[str], None]
    """Prints a line of the tour (console markup allowed)."""
    show: Callable[[str], None]
    """Prints a command verbatim, unwrapped, so that it can be copied (JSON brackets are not markup)."""
    scale_consumers: Callable[[int], None] | None = None
    wait_seconds: float | None = None
    """How long to wait for each change (None: until it comes; the learner stops the tour with Ctrl-C)."""

    def run(self, exercises: Sequence[Exercise]) -> int:
        failures = 0
        for exercise in exercises:
            if exercise.needs_cluster and self.where.namespace is None:
                self.say(
                    f"[bold]{exercise.title}[/bold]: scales pods, so it is on the cluster's tour (bplab --cluster)"
                )
                continue
            if not self._step(exercise):
                self.say(f"Stopped at exercise {exercise.number}: resume with `bplab tour --from {exercise.number}`.")
                return 1
            failures += not self._judge(exercise)
        self.say("The tour is over." + (f" {failures} check(s) failed." if failures else " Every check passed."))
        return 1 if failures else 0

    def _step(self, exercise: Exercise) -> bool:
        """From the baseline: the instruction, then watch until the learner's change is live."""
        reset(self.client, self.apply_baseline, self.scale_consumers if exercise.autoscale is not None else None)
        self.say(f"\n[bold]{exercise.title}[/bold]: {exercise.summary}")
        self.say("Type:")
        for line in commands(exercise, self.where):
            self.show(f"  {line}")
        waited = 0.0
        while self.wait_seconds is None or waited < self.wait_seconds:
            chunk = REMIND_SECONDS if self.wait_seconds is None else min(REMIND_SECONDS, self.wait_seconds - waited)
            self.say("Waiting for your change to take effect...")
            live, missing = poll(self._missing(exercise), lambda left: not left, timeout=chunk, interval=0.5)
            if live:
                self.say("Your change is live: checking.")
                return True
            waited += chunk
            self.say(f"Not yet: {', '.join(missing[:4])} still differ{'s' if len(missing) == 1 else ''}.")
        return False

    def _missing(self, exercise: Exercise) -> Callable[[], list[str]]:
        return lambda: differs(exercise, self.client.producer_config(), self.client.consumer_config())

    def _judge(self, exercise: Exercise) -> bool:
        # The learner applied it: the check watches what runs (no apply of its own) and leaves it applied.
        checked = run_checks(self.client, [exercise], lambda _: None, leave_applied=True)
        _, verdict = next(checked)
        mark = "[green]PASS[/green]" if verdict.passed else "[red]FAIL[/red]"
        self.say(f"{mark} What you saw: {verdict.figures}.")
        if not verdict.passed:
            number = exercise.number
            self.say(
                f"Not what the lesson shows: `bplab hint {number}` helps, `bplab solve {number}` applies it for you."
            )
        return verdict.passed
