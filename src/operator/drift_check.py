"""The drift check's loop: every few seconds, level-based, for every namespace that has configs.

Each round, per namespace, it marks newer configs as conflicting (conflict_marking.py) and re-checks the owning config
under the convergence lock (owner_check.py). It runs as one operator-wide task rather than a kopf timer per config,
because kopf puts a finalizer on every object that has a timer, and a finalizer makes deleting a config hang whenever
the operator is not running (e.g. during `helm uninstall`).
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import kopf

from backpressure_lab.operator.conflict_marking import mark_conflicts
from backpressure_lab.operator.kube import KubeError
from backpressure_lab.operator.owner_check import check_owner
from backpressure_lab.operator.ownership import owner
from backpressure_lab.operator.state import ConfigIndex, Heartbeat, OperatorState, PodIndex, StoppingError

logger = logging.getLogger("backpressure_lab.operator.drift")  # the logger name the operator has always logged under
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
    await mark_conflicts(state, namespace, claims, first)
    if first is not None:
        async with state.converging:
            await check_owner(state, namespace, first.uid, configs, pods)
