"""The drift check: every few seconds, level-based, for the whole namespace.

It re-applies the owner's settings to any pod that drifted or restarted, counts new OOM kills, marks newer configs
as conflicting and lets the next oldest take over when the owner is deleted. It runs as one operator-wide task rather
than a kopf timer per config, because kopf puts a finalizer on every object that has a timer, and a finalizer makes
deleting a config hang whenever the operator is not running (e.g. during `helm uninstall`).
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import kopf

from backpressure_lab.operator.conditions import CONFLICT, INVALID, now
from backpressure_lab.operator.converge import StoppingError, converge, is_true, post_events, status_changes
from backpressure_lab.operator.desired import DesiredSettings, InvalidSpecError, desired_settings
from backpressure_lab.operator.kube import KubeError
from backpressure_lab.operator.oom import account
from backpressure_lab.operator.ownership import ConfigClaim, owner
from backpressure_lab.operator.state import ConfigIndex, Heartbeat, OperatorState, PodIndex
from backpressure_lab.operator.status import Report, conflict_conditions, conflict_event, oom_status, valid_conditions

logger = logging.getLogger("backpressure_lab.operator.drift")
HTTP_CONFLICT = 409


async def run(state: OperatorState, configs: ConfigIndex, pods: PodIndex, heartbeat: Heartbeat) -> None:
    while not state.stopping:
        heartbeat.round_starts()
        for namespace in list(configs):
            try:
                await check_namespace(state, namespace, configs, pods)
            except StoppingError:
                return
            except KubeError as error:
                # 409: the config changed since the index saw it (or was replaced); the next round has fresh facts.
                level = logging.DEBUG if error.status == HTTP_CONFLICT else logging.WARNING
                logger.log(level, f"drift check in {namespace}: {error}")
            except (aiohttp.ClientError, TimeoutError, kopf.TemporaryError) as error:
                logger.warning(f"drift check in {namespace}: {error}")
            except Exception:
                # Level-based: the next round starts from what is, so one bad round must not end the checks.
                logger.exception(f"drift check in {namespace} failed; trying again in the next round")
        heartbeat.round_ends()
        await asyncio.sleep(state.config.drift_check_seconds)


async def check_namespace(state: OperatorState, namespace: str | None, configs: ConfigIndex, pods: PodIndex) -> None:
    claims = list(configs.get(namespace, []))
    first = owner(claims)
    for claim in claims:
        # A config whose generation the change handlers have not recorded yet is theirs to mark.
        recorded = claim.status.get("observedGeneration") == claim.generation
        if first is not None and claim.uid != first.uid and recorded and not is_true(claim.status, CONFLICT):
            report = Report(
                conditions=conflict_conditions(first.name, state.config.release, claim.generation),
                events=[conflict_event(first.name)],
            )
            await _write(state, namespace, claim, report)
    if first is not None:
        async with state.converging:
            await check_owner(state, namespace, first.uid, configs, pods)


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
    announced = len(pending)
    report.events.extend(pending[:announced])
    await _write(state, namespace, claim, report)
    del pending[:announced]  # posted after the status that shows them; a failed write keeps them for the next round


async def _write(state: OperatorState, namespace: str | None, claim: ConfigClaim, report: Report) -> None:
    changes = status_changes(claim.status, report, now())
    if changes:
        await state.kube.patch_status(str(namespace), claim.name, claim.uid, claim.resource_version, changes)
    post_events(claim.reference, report)
