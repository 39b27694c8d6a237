"""The drift check's round for the namespace's owning config, under the convergence lock: re-apply its settings to
pods that drifted or restarted (or take over from a deleted owner), count new OOM kills, carry the autoscaler's
status.autoscale and its pending announcements, and write all of it as one status patch (status_writer.py)."""

from __future__ import annotations

from backpressure_lab.operator.announcements import due
from backpressure_lab.operator.conditions import CONFLICT, INVALID
from backpressure_lab.operator.converge import converge, is_true
from backpressure_lab.operator.desired import DesiredSettings, InvalidSpecError, desired_settings
from backpressure_lab.operator.oom import account
from backpressure_lab.operator.state import ConfigIndex, OperatorState, PodIndex
from backpressure_lab.operator.status import Report, oom_status, valid_conditions
from backpressure_lab.operator.status_writer import write_status


async def check_owner(
    state: OperatorState, namespace: str | None, uid: str, configs: ConfigIndex, pods: PodIndex
) -> None:
    """Under the convergence lock, with the owner's claim as it is *now* (a reconcile may just have run)."""
    claim = next((c for c in configs.get(namespace, []) if c.uid == uid), None)
    if claim is None:
        return
    release = list(pods.get(namespace, []))
    try:
        desired: DesiredSettings | None = desired_settings(claim.spec)
    except InvalidSpecError:
        desired = None
    report = Report()
    # The mode the pods run: what was last applied (the spec may be newer, or invalid).
    in_force = ((claim.status.get("settings") or {}).get("producer") or {}).get("queueMode")
    queue_mode = str(in_force or (desired.producer.queue_mode if desired is not None else "unknown"))
    kills = [kill for pod in release for kill in pod.oom_kills]
    counted = account(kills, claim.status.get("oomKillsCounted") or [], {pod.uid for pod in release})
    oom_fields, oom_events = oom_status(counted, claim.status, queue_mode)
    report.status.update(oom_fields)
    report.events.extend(oom_events)
    scaling = state.autoscaling.get(str(namespace))
    report.status["autoscale"] = scaling.status if scaling is not None else None
    taking_over = is_true(claim.status, CONFLICT)
    # The change handlers own a generation until they have recorded it; an invalid spec changes nothing.
    settled = claim.status.get("observedGeneration") == claim.generation and not is_true(claim.status, INVALID)
    if desired is not None and (settled or taking_over):
        converged = await converge(
            state,
            name=claim.name,
            namespace=str(namespace),
            generation=claim.generation,
            desired=desired,
            pods=release,
            previous_pods=claim.status.get("pods") or [],
            why="took over from a deleted config" if taking_over else "drift check",
        )
        report.status.update(converged.status)
        report.conditions = converged.conditions + valid_conditions(claim.generation)
        report.events.extend(converged.events)
        if taking_over:
            report.status["observedGeneration"] = claim.generation
    pending = state.announcements.setdefault(str(namespace), [])
    # status.pods as it reads after this write: this round's records, else the ones the status already has.
    pods_shown = report.status.get("pods", claim.status.get("pods") or [])
    ready = due(pending, pods_shown, {pod.name for pod in release})
    report.events.extend(announcement.event for announcement in ready.post)
    await write_status(state, namespace, claim, report)
    # Only now: a failed write keeps them for the next round. Others may have been announced meanwhile.
    settled = {id(announcement) for announcement in ready.post + ready.drop}
    pending[:] = [announcement for announcement in pending if id(announcement) not in settled]
