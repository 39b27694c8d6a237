"""The drift check's status writer: patches only the fields that changed, guarded by the claim's resourceVersion (a
409 means the config changed since the index saw it), then posts the report's events after the status shows them."""

from __future__ import annotations

from backpressure_lab.operator.conditions import now
from backpressure_lab.operator.converge import post_events, status_changes
from backpressure_lab.operator.ownership import ConfigClaim
from backpressure_lab.operator.state import OperatorState
from backpressure_lab.operator.status import Report


async def write_status(state: OperatorState, namespace: str | None, claim: ConfigClaim, report: Report) -> None:
    changes = status_changes(claim.status, report, now())
    if changes:
        await state.kube.patch_status(str(namespace), claim.name, claim.uid, claim.resource_version, changes)
    post_events(claim.reference, report)
