"""One convergence: settings file first, then every ready pod; and turning what happened into status and events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

import aiohttp
import kopf

from backpressure_lab.operator.api import GROUP
from backpressure_lab.operator.apply import apply_to_pods
from backpressure_lab.operator.conditions import merged, now, same_conditions
from backpressure_lab.operator.desired import DesiredSettings, settings_file
from backpressure_lab.operator.kube import KubeError, configmap_labels
from backpressure_lab.operator.pods import ReleasePod
from backpressure_lab.operator.state import OperatorState
from backpressure_lab.operator.status import Report, applied_condition, apply_events, pod_records, ready_condition


async def converge(
    state: OperatorState,
    *,
    name: str,
    namespace: str,
    generation: int,
    desired: DesiredSettings,
    pods: Iterable[ReleasePod],
    previous_pods: Iterable[Mapping[str, Any]],
    why: str,
) -> Report:
    """ConfigMap first (a pod that restarts mid-way reads the new file), then every ready pod over HTTP."""
    at = now()
    with state.work():  # raises StoppingError once the operator is stopping
        try:
            await state.kube.ensure(
                namespace,
                state.config.settings_configmap,
                settings_file(desired, name),
                configmap_labels(state.config.release),
                {f"{GROUP}/config": name},
            )
        except (KubeError, aiohttp.ClientError, TimeoutError) as error:
            configmap = state.config.settings_configmap
            raise kopf.TemporaryError(f"writing ConfigMap {configmap}: {error}", delay=2) from error
        outcomes = await apply_to_pods(state.pods_http, list(pods), desired, state.config.admin_token)
    previous = list(previous_pods)
    return Report(
        status={"settings": desired.camel_case(), "pods": pod_records(outcomes, previous, at, generation=generation)},
        conditions=[
            ready_condition(outcomes, generation),
            applied_condition(outcomes, generation, state.config.settings_configmap),
        ],
        events=apply_events(outcomes, why, previous),
    )


def status_changes(status: Mapping[str, Any], report: Report, at: str) -> dict[str, Any]:
    """Only the fields that differ from `status`, so a quiet drift check writes nothing."""
    changes = {key: value for key, value in report.status.items() if status.get(key) != value}
    if report.conditions:
        existing = list(status.get("conditions") or [])
        conditions = merged(existing, report.conditions, at)
        if not same_conditions(existing, conditions):
            changes["conditions"] = conditions
    return changes


def is_true(status: Mapping[str, Any], kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in status.get("conditions") or [])


def post_events(config: kopf.Body | Mapping[str, Any], report: Report) -> None:
    """Events on the config: kopf posts them in the background (and retries), never blocking a handler."""
    body = config if isinstance(config, kopf.Body) else kopf.Body(cast(kopf.RawBody, dict(config)))
    for event in report.events:
        if event.type == "Warning":
            kopf.warn(body, reason=event.reason, message=event.message)
        else:
            kopf.info(body, reason=event.reason, message=event.message)
