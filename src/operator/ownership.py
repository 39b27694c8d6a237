"""Pure: which BackpressureConfig owns the release's pods when more than one exists in the namespace.

The oldest config (creation time, then name) owns them; every newer one gets a `Conflict` condition and changes
nothing. The rule depends only on facts that never change for an existing object, so two configs never take turns
(no flapping); when the owner is deleted, the next oldest takes over at the next drift check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ConfigClaim:
    """A config as the operator's index holds it. Every field takes part in equality on purpose: kopf's index keeps
    the old value when a re-indexed one compares equal, so a status-only change must make the claim differ."""

    name: str
    uid: str
    created: str
    """metadata.creationTimestamp (RFC 3339, UTC, so it sorts as text)."""
    generation: int = 0
    resource_version: str = ""
    spec: dict[str, Any] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)
    reference: dict[str, Any] = field(default_factory=dict)
    """apiVersion, kind and metadata (name, namespace, uid): enough to post an event on the config."""

    @property
    def order(self) -> tuple[str, str]:
        return (self.created, self.name)


def owner(claims: Iterable[ConfigClaim]) -> ConfigClaim | None:
    ordered = sorted(claims, key=lambda claim: claim.order)
    return ordered[0] if ordered else None
