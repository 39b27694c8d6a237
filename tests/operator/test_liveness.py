"""kopf's liveness endpoint also vouches for the operator's own loops (the drift check and the autoscaler)."""

from __future__ import annotations

import pytest

from tests.operator.harness import OperatorLab, bpc, moment, wait_for

pytestmark = pytest.mark.controlplane


def test_the_liveness_endpoint_reports_each_loop_finishing_rounds(operator_lab: OperatorLab) -> None:
    lab = operator_lab
    assert lab.kubectl_apply(bpc("lab", {})).returncode == 0
    wait_for(lambda: lab.applied("lab"), 15, "applied")
    before = moment()
    for loop in ("drift-check", "autoscaler"):
        lab.operator.wait_for_round(loop, started_after=before)
    loops = lab.operator.health()["loops"]
    assert loops["drift-check"]["rounds"] >= 1
    assert loops["autoscaler"]["rounds"] >= 1
