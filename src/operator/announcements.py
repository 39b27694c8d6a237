"""Events the operator's watches and loops want posted, held until a status write shows what they announce: an event
must never tell `kubectl describe` something that `kubectl get` does not show yet."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from backpressure_lab.operator.apply import CURRENT
from backpressure_lab.operator.status import Event


@dataclass(frozen=True, eq=False)
class Announcement:
    event: Event
    current_pod: str | None = None
    """A pod whose record in status.pods must read Current before the event may be posted (None: any status will
    do, e.g. the autoscaler's, whose status.autoscale every write carries)."""


@dataclass(frozen=True)
class Due:
    post: list[Announcement]
    """Shown by the status being written: post them right after it."""
    drop: list[Announcement]
    """About a pod that is gone: no status will ever show it."""


def due(pending: Iterable[Announcement], pods_shown: Iterable[Mapping[str, Any]], pods_present: Collection[str]) -> Due:
    """Which pending announcements the status about to be written (its status.pods: `pods_shown`) lets through.
    The rest wait for a later write: a pod that became ready after this round probed it reads NotReady here."""
    current = {str(record.get("name")) for record in pods_shown if record.get("phase") == CURRENT}
    post: list[Announcement] = []
    drop: list[Announcement] = []
    for announcement in pending:
        if announcement.current_pod is None or announcement.current_pod in current:
            post.append(announcement)
        elif announcement.current_pod not in pods_present:
            drop.append(announcement)
    return Due(post, drop)
