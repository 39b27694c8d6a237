"""Pure: which OOM kills a pod's container statuses report, and which of them are not counted yet.

A kill is identified by (pod uid, container, the termination's finishedAt). The kubelet reports the dead container
first in `state.terminated`, then in `lastState.terminated` while the container waits in back-off (restart count
unchanged), and again once it has restarted (restart count + 1): the restart count is not an identity, the moment
the container ended is. A kill seen in any of these places, or again after an operator restart, is counted once.
Only a termination without finishedAt (never seen from a kubelet) falls back to the restart count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

OOM_REASON = "OOMKilled"


@dataclass(frozen=True)
class OOMKill:
    pod: str
    pod_uid: str
    container: str
    restart_count: int
    """The container's restart count once this kill's restart happened (the kill's ordinal)."""
    memory_limit: str
    finished_at: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.pod_uid, self.container, self.finished_at or f"restart {self.restart_count}")

    def counted(self) -> dict[str, Any]:
        """The record kept in status.oomKillsCounted, so the kill is never counted again."""
        return {
            "podUID": self.pod_uid,
            "container": self.container,
            "restartCount": self.restart_count,
            "finishedAt": self.finished_at,
        }


def memory_limits(pod: Mapping[str, Any]) -> dict[str, str]:
    """Each container's memory limit as written in the pod spec ("" when it has none)."""
    containers = (pod.get("spec") or {}).get("containers") or []
    return {
        c.get("name", ""): str(((c.get("resources") or {}).get("limits") or {}).get("memory", "")) for c in containers
    }


def oom_kills(pod: Mapping[str, Any]) -> list[OOMKill]:
    """The OOM kills a pod's status reports (at most two per container: the current and the last termination)."""
    meta = pod.get("metadata") or {}
    limits = memory_limits(pod)
    kills: list[OOMKill] = []
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        restarts = int(status.get("restartCount") or 0)
        for where, ordinal in (("lastState", restarts), ("state", restarts + 1)):
            terminated = (status.get(where) or {}).get("terminated") or {}
            if terminated.get("reason") == OOM_REASON:
                kills.append(
                    OOMKill(
                        pod=str(meta.get("name", "")),
                        pod_uid=str(meta.get("uid", "")),
                        container=str(status.get("name", "")),
                        restart_count=ordinal,
                        memory_limit=limits.get(str(status.get("name", "")), ""),
                        finished_at=str(terminated.get("finishedAt") or ""),
                    )
                )
    return kills


def _key(record: Mapping[str, Any]) -> tuple[str, str, str]:
    finished_at = str(record.get("finishedAt") or "")
    ordinal = f"restart {int(record.get('restartCount') or 0)}"
    return (str(record.get("podUID", "")), str(record.get("container", "")), finished_at or ordinal)


@dataclass(frozen=True)
class OOMAccount:
    new: list[OOMKill]
    counted: list[dict[str, Any]]
    """What status.oomKillsCounted becomes: earlier records of pods that still exist, plus the new kills."""


def account(kills: Iterable[OOMKill], counted: Iterable[Mapping[str, Any]], live_pod_uids: set[str]) -> OOMAccount:
    """The kills not counted yet, and the records to keep (a deleted pod's records go: its uid never returns)."""
    kept = [dict(record) for record in counted if str(record.get("podUID", "")) in live_pod_uids]
    seen = {_key(record) for record in kept}
    new: list[OOMKill] = []
    for kill in sorted(kills, key=lambda k: (k.finished_at, k.pod, k.container, k.restart_count)):
        if kill.key not in seen:
            seen.add(kill.key)
            new.append(kill)
    return OOMAccount(new=new, counted=kept + [kill.counted() for kill in new])
