"""What lives as long as the operator: its configuration, HTTP sessions, the API writer, and coordination."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import kopf

from backpressure_lab.operator.announcements import Announcement
from backpressure_lab.operator.conditions import precise_now
from backpressure_lab.operator.config import OperatorConfig
from backpressure_lab.operator.kube import KubeWriter
from backpressure_lab.operator.liveness import LoopView
from backpressure_lab.operator.ownership import ConfigClaim
from backpressure_lab.operator.pods import ReleasePod
from backpressure_lab.operator.scaling import Sample
from backpressure_lab.operator.status import Event


class StoppingError(RuntimeError):
    """The operator is shutting down: nothing was done."""


ConfigIndex = kopf.Index[str | None, ConfigClaim]
PodIndex = kopf.Index[str | None, ReleasePod]


@dataclass
class AutoscaleMemory:
    """What the autoscaler keeps between rounds for one namespace (lost on restart: it then watches a full cooldown
    before any scale-down, and scales up at once)."""

    samples: deque[Sample] = field(default_factory=deque)
    last_change: float | None = None
    last_scale_time: str | None = None
    status: dict[str, Any] | None = None
    """status.autoscale as the drift check should write it (None: autoscale is off)."""


@dataclass
class Heartbeat:
    """One background loop's task and the rounds it has finished (what the liveness probe judges)."""

    every: float
    task: asyncio.Task[None] | None = None
    started: float = field(default_factory=time.monotonic)
    last_round: float | None = None
    last_round_started_at: str | None = None
    rounds: int = 0
    _round_started_at: str | None = None

    def round_starts(self) -> None:
        self._round_started_at = precise_now()

    def round_ends(self) -> None:
        self.last_round = time.monotonic()
        self.last_round_started_at = self._round_started_at
        self.rounds += 1

    def view(self, name: str) -> LoopView:
        return LoopView(
            name=name,
            running=self.task is not None and not self.task.done(),
            every=self.every,
            started=self.started,
            last_round=self.last_round,
            rounds=self.rounds,
            last_round_started_at=self.last_round_started_at,
        )


@dataclass
class OperatorState:
    """Created at start-up and closed at clean-up (kept in kopf's memo)."""

    config: OperatorConfig
    pods_http: aiohttp.ClientSession
    kube: KubeWriter
    converging: asyncio.Lock = field(default_factory=asyncio.Lock)
    """One convergence at a time (reconcile or drift check), so neither pushes a spec the other has superseded."""
    reachable: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    """Pod uid -> (ip, port) while ready: a pod that appears here (again) gets the settings pushed at once."""
    stopping: bool = False
    busy: int = 0
    """Calls using the HTTP sessions right now: clean-up waits for them before closing the sessions."""
    loops: dict[str, Heartbeat] = field(default_factory=dict)
    """Loop name -> its task and heartbeat (drift-check, autoscaler), once the first resource handler started them."""
    autoscaling: dict[str, AutoscaleMemory] = field(default_factory=dict)
    """Namespace -> the autoscaler's samples and its last decision."""
    announcements: dict[str, list[Announcement]] = field(default_factory=dict)
    """Namespace -> events about what the autoscaler or the pod watch did, which the drift check posts right after
    the first status write that shows it (announcements.py)."""

    def announce(self, namespace: str | None, event: Event, *, current_pod: str | None = None) -> None:
        self.announcements.setdefault(str(namespace), []).append(Announcement(event, current_pod))

    def loop_views(self) -> list[LoopView]:
        return [heartbeat.view(name) for name, heartbeat in self.loops.items()]

    @contextlib.contextmanager
    def work(self) -> Iterator[None]:
        """Counts the body as work in progress (close() waits for it); once the operator is stopping, raises
        StoppingError instead, so the body never runs."""
        if self.stopping:
            raise StoppingError("the operator is stopping")
        self.busy += 1
        try:
            yield
        finally:
            self.busy -= 1

    async def close(self) -> None:
        self.stopping = True
        tasks = [loop.task for loop in self.loops.values() if loop.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for _attempt in range(100):
            if not self.busy:
                break
            await asyncio.sleep(0.05)
        await self.pods_http.close()
        await self.kube.close()
