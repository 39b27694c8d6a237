"""HTTP to the pods: read each pod's live settings and push the desired ones when they differ.

Every push sends the component's full settings set (never a partial change), so the consumer's rule "a
processing_time_ms change without slow_down_factor resets the factor to 1" can never bite.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from backpressure_lab.common.settings import SettingValue
from backpressure_lab.operator.desired import DesiredSettings, differences
from backpressure_lab.operator.pods import ReleasePod

CURRENT = "Current"
"""The pod reports the desired settings (it already did, or it does after the push)."""
FAILED = "Failed"
NOT_READY = "NotReady"


@dataclass(frozen=True)
class PodOutcome:
    pod: ReleasePod
    phase: str
    message: str
    pushed: bool = False
    """True when the operator POSTed settings to the pod (it reported something else)."""


def new_session(timeout_seconds: float) -> aiohttp.ClientSession:
    """One session for the operator's lifetime: few pods, short timeouts (a hung pod must not stall a reconcile)."""
    connector = aiohttp.TCPConnector(limit=32, limit_per_host=4, keepalive_timeout=30)
    timeout = aiohttp.ClientTimeout(total=timeout_seconds, connect=min(1.0, timeout_seconds))
    return aiohttp.ClientSession(connector=connector, timeout=timeout, raise_for_status=False)


def admin_headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


async def _json(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:
        return {}


def _error(status: int, body: Any) -> str:
    detail = body.get("error") if isinstance(body, dict) else None
    return f"HTTP {status}" + (f": {detail}" if detail else "")


async def _push(
    session: aiohttp.ClientSession, pod: ReleasePod, wanted: Mapping[str, SettingValue], headers: dict[str, str]
) -> PodOutcome | None:
    """POST the full set; None when the pod then reports exactly the desired settings."""
    async with session.post(pod.admin_url, json=dict(wanted), headers=headers) as response:
        body = await _json(response)
        if response.status != 200:
            return PodOutcome(pod, FAILED, f"pushing settings: {_error(response.status, body)}", pushed=True)
    still = differences((body or {}).get("config") or {}, wanted)
    if still:
        return PodOutcome(pod, FAILED, f"still reports other {', '.join(still)} after the push", pushed=True)
    return None


async def apply_to_pod(
    session: aiohttp.ClientSession, pod: ReleasePod, wanted: Mapping[str, SettingValue], token: str | None
) -> PodOutcome:
    """GET the pod's settings; POST the full desired set only if something differs; check what it reports."""
    if not pod.reachable:
        return PodOutcome(pod, NOT_READY, "not ready; it reads the settings file when it starts")
    headers = admin_headers(token)
    try:
        async with session.get(pod.admin_url, headers=headers) as response:
            body = await _json(response)
            if response.status != 200:
                return PodOutcome(pod, FAILED, f"reading settings: {_error(response.status, body)}")
        drifted = differences((body or {}).get("config") or {}, wanted)
        if not drifted:
            return PodOutcome(pod, CURRENT, "reports the desired settings")
        failure = await _push(session, pod, wanted, headers)
    except (aiohttp.ClientError, TimeoutError) as error:
        reason = str(error) or type(error).__name__
        return PodOutcome(pod, FAILED, f"unreachable at {pod.ip}:{pod.port}: {reason}")
    return failure or PodOutcome(pod, CURRENT, f"changed {', '.join(drifted)}", pushed=True)


async def apply_to_pods(
    session: aiohttp.ClientSession, pods: Sequence[ReleasePod], desired: DesiredSettings, token: str | None
) -> list[PodOutcome]:
    """Every pod at once (a slow pod does not delay the others), in a stable order for status."""
    ordered = sorted(pods, key=lambda p: (p.component, p.name))
    return list(await asyncio.gather(*(apply_to_pod(session, p, desired.wire(p.component), token) for p in ordered)))
