"""Pure: the status a reconcile or a drift check writes, from what it found; only changed fields are patched."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from backpressure_lab.operator.api import COMPONENTS
from backpressure_lab.operator.apply import CURRENT, FAILED, NOT_READY, PodOutcome
from backpressure_lab.operator.conditions import APPLIED, CONFLICT, INVALID, READY, condition
from backpressure_lab.operator.oom import OOMAccount


@dataclass(frozen=True)
class Event:
    type: str
    """Normal or Warning."""
    reason: str
    message: str


@dataclass
class Report:
    """Status fields to patch and events to post, produced by one reconcile or drift check."""

    status: dict[str, Any] = field(default_factory=dict)
    conditions: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


def pod_records(
    outcomes: Iterable[PodOutcome], previous: Iterable[Mapping[str, Any]], at: str, *, generation: int
) -> list[dict[str, Any]]:
    """status.pods: one record per pod; lastPushed moves only when the operator changed that pod's settings, and
    `generation` is the config generation whose settings the pod was last seen running."""
    before = {str(p.get("name")): p for p in previous}
    records: list[dict[str, Any]] = []
    for outcome in outcomes:
        earlier = before.get(outcome.pod.name, {})
        record: dict[str, Any] = {
            "name": outcome.pod.name,
            "component": outcome.pod.component,
            "ip": outcome.pod.ip,
            "phase": outcome.phase,
            "message": outcome.message,
        }
        last = at if outcome.pushed and outcome.phase == CURRENT else earlier.get("lastPushed")
        if last:
            record["lastPushed"] = last
        runs = generation if outcome.phase == CURRENT else earlier.get("generation")
        if runs is not None:
            record["generation"] = runs
        records.append(record)
    return records


def applied_condition(outcomes: Sequence[PodOutcome], generation: int, configmap: str) -> dict[str, Any]:
    """Applied is True when every ready pod reports the desired settings, and Unknown while no pod is ready (they
    read the settings file when they start, but nothing has shown it yet)."""
    ready = [o for o in outcomes if o.phase != NOT_READY]
    failed = [o for o in ready if o.phase == FAILED]
    if failed:
        detail = "; ".join(f"{o.pod.name}: {o.message}" for o in failed)
        return condition(
            APPLIED, False, "ApplyFailed", f"{len(failed)} of {len(ready)} ready pods: {detail}", generation
        )
    if not ready:
        message = f"no ready pods yet; they read ConfigMap {configmap} when they start"
        return condition(APPLIED, None, "NoReadyPods", message, generation)
    return condition(
        APPLIED, True, "AllPodsCurrent", f"{len(ready)} of {len(ready)} ready pods run these settings", generation
    )


def ready_condition(outcomes: Sequence[PodOutcome], generation: int) -> dict[str, Any]:
    """Ready is True when the release has producer and consumer pods and every one of them is ready and runs this
    generation's settings: what `kubectl wait --for=condition=Ready` waits for after an apply."""
    missing = [c for c in COMPONENTS if not any(o.pod.component == c for o in outcomes)]
    if missing:
        message = " and ".join(f"no {c} pod" for c in missing) + " in the release yet"
        return condition(READY, False, "NoPods", message, generation)
    waiting = [o.pod.name for o in outcomes if o.phase == NOT_READY]
    if waiting:
        return condition(READY, False, "PodsNotReady", f"not ready yet: {', '.join(waiting)}", generation)
    failed = [o.pod.name for o in outcomes if o.phase == FAILED]
    if failed:
        return condition(READY, False, "ApplyFailed", f"not running these settings: {', '.join(failed)}", generation)
    return condition(READY, True, "AllPodsCurrent", f"all {len(outcomes)} pods run generation {generation}", generation)


def apply_events(outcomes: Sequence[PodOutcome], why: str, previous: Iterable[Mapping[str, Any]] = ()) -> list[Event]:
    """Short messages for `kubectl describe`: one Applied when pods were changed, and an ApplyFailed when a pod
    starts failing (or fails differently), not again at every drift check while it keeps failing the same way."""
    before = {(str(p.get("name")), str(p.get("phase")), str(p.get("message"))) for p in previous}
    events: list[Event] = []
    pushed = [o.pod.name for o in outcomes if o.pushed and o.phase == CURRENT]
    if pushed:
        events.append(Event("Normal", "Applied", f"{why}: new settings on {', '.join(pushed)}"))
    events.extend(
        Event("Warning", "ApplyFailed", f"{o.pod.name}: {o.message}")
        for o in outcomes
        if o.phase == FAILED and (o.pod.name, FAILED, o.message) not in before
    )
    return events


def conflict_conditions(owner_name: str, release: str, generation: int) -> list[dict[str, Any]]:
    message = (
        f"BackpressureConfig {owner_name} is older and already configures the pods of release {release}; "
        "this one changes nothing until that one is deleted"
    )
    return [
        condition(APPLIED, False, "Conflict", message, generation),
        condition(READY, False, "Conflict", message, generation),
        condition(CONFLICT, True, "OlderConfigExists", message, generation),
    ]


def conflict_event(owner_name: str) -> Event:
    return Event("Warning", "Conflict", f"BackpressureConfig {owner_name} already configures these pods")


def invalid_conditions(problems: Sequence[str], generation: int) -> list[dict[str, Any]]:
    message = "; ".join(problems)
    return [
        condition(APPLIED, False, "Invalid", "spec is invalid; pods keep their current settings", generation),
        condition(READY, False, "Invalid", "spec is invalid; pods keep their current settings", generation),
        condition(INVALID, True, "SpecInvalid", message, generation),
        condition(CONFLICT, False, "Owner", "this config configures the release's pods", generation),
    ]


def valid_conditions(generation: int) -> list[dict[str, Any]]:
    return [
        condition(INVALID, False, "SpecValid", "spec resolves to valid settings", generation),
        condition(CONFLICT, False, "Owner", "this config configures the release's pods", generation),
    ]


def oom_status(account: OOMAccount, status: Mapping[str, Any], queue_mode: str) -> tuple[dict[str, Any], list[Event]]:
    """Counter, last kill and the dedupe records; one Warning event per newly counted kill."""
    fields: dict[str, Any] = {}
    events: list[Event] = []
    if account.counted != list(status.get("oomKillsCounted") or []):
        fields["oomKillsCounted"] = account.counted
    if not account.new:
        if "oomKills" not in status:
            fields["oomKills"] = 0  # shown as 0 in `kubectl get bpc` rather than empty
        return fields, events
    fields["oomKills"] = int(status.get("oomKills") or 0) + len(account.new)
    for kill in account.new:
        limit = kill.memory_limit or "no limit"
        events.append(
            Event(
                "Warning",
                "OOMKilled",
                f"container {kill.container} of pod {kill.pod} was OOM-killed (restart {kill.restart_count}, "
                f"memory limit {limit}, queue mode {queue_mode})",
            )
        )
    last = account.new[-1]
    fields["lastOOMKill"] = {
        "pod": last.pod,
        "container": last.container,
        "restartCount": last.restart_count,
        "memoryLimit": last.memory_limit,
        "queueMode": queue_mode,
        **({"finishedAt": last.finished_at} if last.finished_at else {}),
    }
    return fields, events
