"""kopf wiring: settings, login, indexes, the reconcile and the pod watch (the drift check is in drift_check.py).

Level-based reconciliation the way kopf advises: one edge-triggered `reconcile` for resume/create/update, and a
periodic drift check that compares every pod's live settings with the desired ones and re-applies to any pod that
drifted or restarted. A pod watch pushes the settings the moment a pod becomes ready. Nothing is ever written onto
pods, and no finalizer is ever added (no delete handler, no kopf timer or daemon), so deleting a config never hangs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any, cast

import aiohttp
import kopf

from backpressure_lab.operator import autoscaler, drift_check, liveness
from backpressure_lab.operator.api import GROUP, INSTANCE_LABEL, PLURAL, VERSION
from backpressure_lab.operator.apply import CURRENT, FAILED, apply_to_pod, new_session
from backpressure_lab.operator.conditions import CONFLICT, INVALID, now
from backpressure_lab.operator.config import OperatorConfig
from backpressure_lab.operator.converge import converge, is_true, post_events, status_changes
from backpressure_lab.operator.desired import InvalidSpecError, desired_settings
from backpressure_lab.operator.kube import KubeError, KubeWriter
from backpressure_lab.operator.ownership import ConfigClaim, owner
from backpressure_lab.operator.pods import ReleasePod, release_pod
from backpressure_lab.operator.state import ConfigIndex, Heartbeat, OperatorState, PodIndex, StoppingError
from backpressure_lab.operator.status import (
    Event,
    Report,
    conflict_conditions,
    conflict_event,
    invalid_conditions,
    valid_conditions,
)

CONFIGS = (GROUP, VERSION, PLURAL)
HTTP_NOT_FOUND = 404


def _state(memo: kopf.Memo) -> OperatorState:
    return cast(OperatorState, memo["lab"])


def _indexes(kwargs: Mapping[str, Any]) -> tuple[ConfigIndex, PodIndex]:
    """kopf passes each index as a keyword named after its function; its handler protocols list only the standard
    keywords, so the indexes are taken from **kwargs (typed here) to keep mypy strict."""
    return kwargs["backpressure_configs"], kwargs["release_pods"]


def _login(settings: kopf.OperatorSettings) -> kopf.ConnectionInfo | None:
    return kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(settings=settings)


@kopf.on.login()
def login(settings: kopf.OperatorSettings, **_: Any) -> kopf.ConnectionInfo | None:
    """The service account in a pod, else $KUBECONFIG: the same credentials for kopf and for KubeWriter, and no
    Kubernetes client library needed in the image."""
    return _login(settings)


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **kwargs: Any) -> None:
    config = OperatorConfig.from_env()
    # One replica (strategy Recreate): no peering objects to keep, and no RBAC for them.
    settings.peering.standalone = True
    # The Role is namespaced: never list/watch CRDs or namespaces cluster-wide (that would only log 403s).
    settings.scanning.disabled = True
    # Watch only the release's pods, server-side: less memory, and other apps' pods never wake a handler.
    settings.watching.label_selectors["pods"] = f"{INSTANCE_LABEL}={config.release}"
    # A watch request ends after 5 minutes and is reopened; a connection silent for 6 minutes is dropped.
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 360
    settings.watching.connect_timeout = 5
    # Ordinary API requests (status patches, events) give up after 30 s and are retried with backoff.
    settings.networking.request_timeout = 30
    settings.networking.connect_timeout = 5
    # Events come only from explicit kopf.info/warn calls (short messages for `kubectl describe`), never from log
    # lines; the level is INFO so that Applied is posted alongside the warnings.
    settings.posting.enabled = True
    settings.posting.loggers = False
    settings.posting.level = logging.INFO
    settings.posting.reporting_component = "backpressure-lab-operator"
    # kopf's bookkeeping goes into annotations: the structural status schema would prune status.kopf.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )

    def login_now() -> kopf.ConnectionInfo:
        info = _login(settings)
        if info is None:
            raise kopf.LoginError("no service account token and no kubeconfig to log in with")
        return info

    state = OperatorState(
        config=config,
        pods_http=new_session(config.http_timeout_seconds),
        kube=KubeWriter(login_now, timeout_seconds=10),
    )
    memo["lab"] = state


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logging.getLogger("backpressure_lab.operator").error(
            f"{task.get_name()} stopped; the liveness probe now fails", exc_info=task.exception()
        )


def _start_background_loops(state: OperatorState, kwargs: Mapping[str, Any]) -> None:
    """Started by the first resource handler, not at start-up: kopf fills its indexes before it runs any resource
    handler, and only then is its event-posting context (which the task inherits) complete."""
    if state.loops or state.stopping:
        return
    configs, pods = _indexes(kwargs)
    loops = (
        ("drift-check", drift_check.run, state.config.drift_check_seconds),
        ("autoscaler", autoscaler.run, state.config.autoscale_seconds),
    )
    for name, loop, every in loops:
        heartbeat = Heartbeat(every=every)
        heartbeat.task = asyncio.create_task(loop(state, configs, pods, heartbeat), name=name)
        heartbeat.task.add_done_callback(_report_crash)
        state.loops[name] = heartbeat


@kopf.on.probe(id="loops")
def loops_alive(memo: kopf.Memo, **_: Any) -> dict[str, Any]:
    """Part of kopf's liveness endpoint: fails (HTTP 500, so the kubelet restarts the operator) when a background
    loop has ended or stopped finishing rounds; else shows each loop's rounds."""
    state = _state(memo)
    views, moment = state.loop_views(), time.monotonic()
    found = liveness.problems(views, moment)
    if found:
        raise kopf.PermanentError("; ".join(found))
    return liveness.report(views, moment)


@kopf.on.cleanup()
async def close(memo: kopf.Memo, **_: Any) -> None:
    await _state(memo).close()


@kopf.index(*CONFIGS)
def backpressure_configs(
    body: kopf.Body, meta: kopf.Meta, spec: kopf.Spec, status: kopf.Status, namespace: str | None, **_: Any
) -> dict[str | None, ConfigClaim]:
    reference = {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": {"name": meta.name, "namespace": namespace, "uid": meta.uid},
    }
    return {
        namespace: ConfigClaim(
            name=str(meta.name),
            uid=str(meta.uid),
            created=str(meta.creation_timestamp or ""),
            generation=int(meta.get("generation") or 0),
            resource_version=str(meta.get("resourceVersion") or ""),
            spec=dict(spec),
            status=dict(status),
            reference=reference,
        )
    }


@kopf.index("pods")
def release_pods(body: kopf.Body, namespace: str | None, **_: Any) -> dict[str | None, ReleasePod] | None:
    pod = release_pod(body)
    return None if pod is None else {namespace: pod}


async def _finish(state: OperatorState, body: kopf.Body, status: kopf.Status, report: Report) -> None:
    """The status first, then the events. kopf applies a handler's patch only after the handler returns, by when the
    events it posts may be out already: `kubectl describe` would announce what `kubectl get` does not show yet."""
    changes = status_changes(status, report, now())
    if changes:
        meta = body.metadata
        try:
            await state.kube.patch_status(str(meta.namespace), str(meta.name), str(meta.uid), None, changes)
        except KubeError as error:
            if error.status == HTTP_NOT_FOUND:
                return  # deleted meanwhile: nothing left to report on
            raise kopf.TemporaryError(f"writing the status: {error}", delay=2) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise kopf.TemporaryError(f"writing the status: {error}", delay=2) from error
    post_events(body, report)


@kopf.on.resume(*CONFIGS)
@kopf.on.create(*CONFIGS)
@kopf.on.update(*CONFIGS, field="spec")
async def reconcile(
    *,
    body: kopf.Body,
    spec: kopf.Spec,
    meta: kopf.Meta,
    status: kopf.Status,
    namespace: str | None,
    reason: str,
    memo: kopf.Memo,
    **kwargs: Any,
) -> None:
    """Validate, write the settings file, push to every ready pod, record each outcome and the conditions."""
    state = _state(memo)
    _start_background_loops(state, kwargs)
    configs, pods = _indexes(kwargs)
    generation = int(meta.get("generation") or 0)
    report = Report(status={"observedGeneration": generation})
    first = owner(configs.get(namespace, []))
    if first is not None and first.uid != meta.uid:
        report.conditions = conflict_conditions(first.name, state.config.release, generation)
        if not is_true(status, CONFLICT):
            report.events.append(conflict_event(first.name))
        await _finish(state, body, status, report)
        return
    try:
        desired = desired_settings(spec)
    except InvalidSpecError as invalid:
        report.conditions = invalid_conditions(invalid.problems, generation)
        if _condition_message(status, INVALID) != str(invalid):  # once per problem, not once per operator restart
            report.events.append(Event("Warning", "Invalid", str(invalid)))
        await _finish(state, body, status, report)
        raise kopf.PermanentError(str(invalid)) from invalid
    async with state.converging:
        try:
            converged = await converge(
                state,
                name=str(meta.name),
                namespace=str(namespace),
                generation=generation,
                desired=desired,
                pods=pods.get(namespace, []),
                previous_pods=status.get("pods") or [],
                why="resumed" if reason == kopf.Reason.RESUME else f"generation {generation}",
            )
        except StoppingError as stopping:
            raise kopf.TemporaryError(str(stopping), delay=5) from stopping
        # observedGeneration is recorded only once the generation is fully handled (a TemporaryError retries it),
        # and under the lock, so a drift check cannot write between this convergence and its record.
        report.status.update(converged.status)
        report.conditions = converged.conditions + valid_conditions(generation)
        report.events = converged.events
        await _finish(state, body, status, report)


def _condition_message(status: Mapping[str, Any], kind: str) -> str | None:
    for cond in status.get("conditions") or []:
        if cond.get("type") == kind and cond.get("status") == "True":
            return str(cond.get("message"))
    return None


@kopf.on.event("pods")
async def pod_became_ready(
    *,
    body: kopf.Body,
    type: str | None,
    namespace: str | None,
    memo: kopf.Memo,
    logger: kopf.Logger,
    **kwargs: Any,
) -> None:
    """A pod that becomes ready (first start, restart after an OOM kill, new IP) gets the settings at once,
    without waiting for the next drift check. Writes nothing onto the pod."""
    state = _state(memo)
    _start_background_loops(state, kwargs)
    pod = release_pod(body)
    if pod is None:
        return
    if type == "DELETED" or not pod.reachable:
        state.reachable.pop(pod.uid, None)
        return
    address = (pod.ip, pod.port)
    if state.reachable.get(pod.uid) == address:
        return
    state.reachable[pod.uid] = address
    configs, _pods = _indexes(kwargs)
    # Under the convergence lock, with the owner's spec as the index holds it once the lock is ours: a reconcile of a
    # newer spec either finished before (this pushes the newer spec) or waits for this push and then corrects it.
    async with state.converging:
        first = owner(configs.get(namespace, []))
        if first is None:
            return
        try:
            desired = desired_settings(first.spec)
        except InvalidSpecError:
            return
        try:
            with state.work():
                outcome = await apply_to_pod(
                    state.pods_http, pod, desired.wire(pod.component), state.config.admin_token
                )
        except StoppingError:
            return
    if outcome.pushed and outcome.phase == CURRENT:
        # Posted by the first drift check that records the pod as Current in status.pods.
        event = Event("Normal", "Applied", f"{pod.name} became ready: {outcome.message}")
        state.announce(namespace, event, current_pod=pod.name)
    elif outcome.phase == FAILED:
        # The drift check retries and reports it in status; the pod may still be warming up.
        logger.warning(f"{pod.name} became ready but: {outcome.message}")
