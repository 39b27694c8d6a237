"""Pure: status conditions in the Kubernetes shape, whose lastTransitionTime moves only when the status flips."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

APPLIED = "Applied"
READY = "Ready"
INVALID = "Invalid"
CONFLICT = "Conflict"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def precise_now() -> str:
    """RFC 3339 with milliseconds, for moments a test or a person compares closer than a second."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def condition(kind: str, status: bool | None, reason: str, message: str, generation: int) -> dict[str, Any]:
    """`status` None is Unknown."""
    return {
        "type": kind,
        "status": "Unknown" if status is None else "True" if status else "False",
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
    }


def merged(
    existing: Iterable[Mapping[str, Any]], updates: Iterable[Mapping[str, Any]], at: str
) -> list[dict[str, Any]]:
    """`existing` with `updates` replacing conditions of the same type; a transition time is kept unless the
    status changed. Conditions keep a fixed order (Ready, Applied, Invalid, Conflict, then any other)."""
    by_type = {str(c.get("type")): dict(c) for c in existing}
    for update in updates:
        kind = str(update["type"])
        before = by_type.get(kind)
        same = before is not None and before.get("status") == update["status"]
        transition = before.get("lastTransitionTime") if same and before is not None else None
        by_type[kind] = {**update, "lastTransitionTime": transition or at}
    order = {READY: 0, APPLIED: 1, INVALID: 2, CONFLICT: 3}
    return [by_type[k] for k in sorted(by_type, key=lambda k: (order.get(k, 9), k))]


def same_conditions(a: Iterable[Mapping[str, Any]], b: Iterable[Mapping[str, Any]]) -> bool:
    return [dict(c) for c in a] == [dict(c) for c in b]
