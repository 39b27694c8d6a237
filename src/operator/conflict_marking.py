"""The drift check marks every config newer than the namespace's owner as conflicting (once its generation is
recorded: until then it is the change handlers' to mark)."""

from __future__ import annotations

from collections.abc import Sequence

from backpressure_lab.operator.conditions import CONFLICT
from backpressure_lab.operator.converge import is_true
from backpressure_lab.operator.ownership import ConfigClaim
from backpressure_lab.operator.state import OperatorState
from backpressure_lab.operator.status import Report, conflict_conditions, conflict_event
from backpressure_lab.operator.status_writer import write_status


async def mark_conflicts(
    state: OperatorState, namespace: str | None, claims: Sequence[ConfigClaim], first: ConfigClaim | None
) -> None:
    for claim in claims:
        # A config whose generation the change handlers have not recorded yet is theirs to mark.
        recorded = claim.status.get("observedGeneration") == claim.generation
        if first is not None and claim.uid != first.uid and recorded and not is_true(claim.status, CONFLICT):
            report = Report(
                conditions=conflict_conditions(first.name, state.config.release, claim.generation),
                events=[conflict_event(first.name)],
            )
            await write_status(state, namespace, claim, report)
