"""Every couple of seconds, for the namespace: tell each producer which consumer pods are ready, and, while
spec.consumer.autoscale is set, scale the consumer Deployment from the producers' queues (the policy is scaling.py).

The producers' /status is the only signal: queue depth, p99 queue wait and sends in flight. What the autoscaler saw
and decided is kept in memory and written into status.autoscale by the drift check, the one writer of the status (a
second writer would make the drift check's resourceVersion-guarded patches fail); the drift check also posts the
Scaled events, once the status shows what they announce.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import kopf

from backpressure_lab.operator.apply import admin_headers
from backpressure_lab.operator.autoscale_spec import AutoscaleSettings
from backpressure_lab.operator.conditions import now as timestamp
from backpressure_lab.operator.desired import DesiredSettings, InvalidSpecError, desired_settings
from backpressure_lab.operator.kube import KubeError
from backpressure_lab.operator.ownership import owner
from backpressure_lab.operator.pods import ReleasePod
from backpressure_lab.operator.scaling import Decision, Sample, decide
from backpressure_lab.operator.state import (
    AutoscaleMemory,
    ConfigIndex,
    Heartbeat,
    OperatorState,
    PodIndex,
    StoppingError,
)
from backpressure_lab.operator.status import Event

logger = logging.getLogger("backpressure_lab.operator.autoscaler")


async def run(state: OperatorState, configs: ConfigIndex, pods: PodIndex, heartbeat: Heartbeat) -> None:
    while not state.stopping:
        heartbeat.round_starts()
        for namespace in list(pods):
            try:
                with state.work():
                    await tick(state, namespace, configs, pods)
            except StoppingError:
                return
            except (KubeError, aiohttp.ClientError, TimeoutError, kopf.TemporaryError) as error:
                logger.warning(f"autoscaler in {namespace}: {error}")
            except Exception:
                # Level-based: the next round starts from what is, so one bad round must not end the autoscaler.
                logger.exception(f"autoscaler in {namespace} failed; trying again in the next round")
        heartbeat.round_ends()
        await asyncio.sleep(state.config.autoscale_seconds)


def consumer_endpoints(release: Sequence[ReleasePod]) -> list[str]:
    return sorted(f"http://{pod.ip}:{pod.port}" for pod in release if pod.component == "consumer" and pod.reachable)


def sample_of(statuses: Sequence[Mapping[str, Any]], at: float) -> Sample | None:
    """The producers' queues at one moment: depths and sends in flight summed, the worst p99 wait."""
    if not statuses:
        return None
    waits = [s["queue"].get("wait_p99_seconds") for s in statuses if s["queue"].get("wait_p99_seconds") is not None]
    return Sample(
        at=at,
        queue_depth=sum(int(s["queue"]["size"]) for s in statuses),
        queue_wait_seconds=max(waits) if waits else None,
        in_flight=sum(int(s["stats"]["in_flight"]) for s in statuses),
    )


async def tick(state: OperatorState, namespace: str | None, configs: ConfigIndex, pods: PodIndex) -> None:
    release = list(pods.get(namespace, []))
    statuses = await _read_producers(state, [p for p in release if p.component == "producer" and p.reachable])
    endpoints = consumer_endpoints(release)
    await _sync_consumer_lists(state, statuses, endpoints)
    memory = state.autoscaling.setdefault(str(namespace), AutoscaleMemory())
    first = owner(configs.get(namespace, []))
    desired: DesiredSettings | None = None
    if first is not None:
        try:
            desired = desired_settings(first.spec)
        except InvalidSpecError:
            desired = None  # the reconcile reports it; the replicas stay as they are
    if first is None or desired is None or desired.autoscale is None:
        memory.samples.clear()
        memory.status = None
        return
    policy = desired.autoscale
    moment = time.monotonic()
    sample = sample_of([status for _pod, status in statuses], moment)
    if sample is not None:
        memory.samples.append(sample)
    keep_after = moment - policy.cooldown_seconds - 2 * state.config.autoscale_seconds
    while memory.samples and memory.samples[0].at < keep_after:
        memory.samples.popleft()
    deployment = state.config.consumer_deployment
    replicas = await state.kube.consumer_replicas(str(namespace), deployment)
    decision = decide(
        policy,
        replicas,
        list(memory.samples),
        slots_per_consumer=min(desired.producer.sender_concurrency, desired.consumer.concurrency),
        last_change=memory.last_change,
        now=moment,
        fresh_within=state.config.autoscale_seconds,
    )
    if decision.replicas != replicas:
        await state.kube.scale_consumers(str(namespace), deployment, decision.replicas)
        memory.last_change = moment
        memory.last_scale_time = timestamp()
        message = f"{deployment} {replicas} -> {decision.replicas}: {decision.reason}"
        logger.info(f"scaled {message}")
        state.announce(namespace, Event("Normal", "Scaled", message))
    memory.status = autoscale_status(policy, decision, len(endpoints), memory.last_scale_time)


def autoscale_status(
    policy: AutoscaleSettings, decision: Decision, ready: int, last_scale_time: str | None
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "replicas": decision.replicas,
        "readyConsumers": ready,
        "metric": policy.metric,
        "observed": round(decision.observed, 1),
        "target": policy.target,
        "reason": decision.reason,
    }
    if last_scale_time is not None:
        status["lastScaleTime"] = last_scale_time
    return status


async def _read_producers(state: OperatorState, producers: Sequence[ReleasePod]) -> list[tuple[ReleasePod, Any]]:
    async def read(pod: ReleasePod) -> tuple[ReleasePod, Any] | None:
        try:
            async with state.pods_http.get(f"http://{pod.ip}:{pod.port}/status") as response:
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            logger.debug(f"{pod.name}: /status unreadable: {error}")
            return None
        if response.status != 200 or not isinstance(body, dict) or "queue" not in body or "stats" not in body:
            return None
        return pod, body

    return [found for found in await asyncio.gather(*(read(pod) for pod in producers)) if found is not None]


async def _sync_consumer_lists(
    state: OperatorState, statuses: Sequence[tuple[ReleasePod, Any]], endpoints: list[str]
) -> None:
    """Level-based: a producer whose /status lists other consumers gets the ready ones (none: the Service)."""
    headers = admin_headers(state.config.admin_token)
    for pod, status in statuses:
        if sorted((status.get("consumers") or {}).get("endpoints") or []) == endpoints:
            continue
        url = f"http://{pod.ip}:{pod.port}/admin/consumers"
        try:
            async with state.pods_http.put(url, json={"endpoints": endpoints}, headers=headers) as response:
                if response.status != 200:
                    logger.warning(f"{pod.name}: PUT /admin/consumers answered HTTP {response.status}")
                else:
                    to = f"{len(endpoints)} ready consumer pod(s)" if endpoints else "the consumer Service"
                    logger.info(f"{pod.name} now sends to {to}")
        except (aiohttp.ClientError, TimeoutError) as error:
            logger.warning(f"{pod.name}: could not list the consumers: {error}")
