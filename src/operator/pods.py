"""Pure: what the operator needs to know about one pod of the release, read from its body."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backpressure_lab.operator.api import COMPONENT_LABEL, COMPONENTS, HTTP_PORT_NAME
from backpressure_lab.operator.oom import OOMKill, oom_kills


@dataclass(frozen=True)
class ReleasePod:
    name: str
    uid: str
    component: str
    ip: str
    port: int | None
    ready: bool
    oom_kills: tuple[OOMKill, ...] = ()

    @property
    def reachable(self) -> bool:
        """Ready, with an IP and a port named `http`: the operator can push settings to it."""
        return self.ready and bool(self.ip) and self.port is not None

    @property
    def admin_url(self) -> str:
        return f"http://{self.ip}:{self.port}/admin/config"


def http_port(pod: Mapping[str, Any]) -> int | None:
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == HTTP_PORT_NAME and port.get("containerPort"):
                return int(port["containerPort"])
    return None


def is_ready(pod: Mapping[str, Any]) -> bool:
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def release_pod(pod: Mapping[str, Any]) -> ReleasePod | None:
    """The producer or consumer pod this body describes; None for any other pod of the release (e.g. Jaeger)."""
    meta = pod.get("metadata") or {}
    component = (meta.get("labels") or {}).get(COMPONENT_LABEL)
    if component not in COMPONENTS:
        return None
    return ReleasePod(
        name=str(meta.get("name", "")),
        uid=str(meta.get("uid", "")),
        component=str(component),
        ip=str((pod.get("status") or {}).get("podIP") or ""),
        port=http_port(pod),
        ready=is_ready(pod),
        oom_kills=tuple(oom_kills(pod)),
    )
