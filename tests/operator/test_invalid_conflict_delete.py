"""What the schema cannot see (Invalid), two configs for one release (Conflict), and deleting a config."""

from __future__ import annotations

import time

import pytest
import yaml
from kubernetes import client

from tests.operator.harness import GROUP, PLURAL, VERSION, OperatorLab, bpc, moment, wait_for

pytestmark = pytest.mark.controlplane


def test_a_spec_an_older_crd_lets_through_gets_invalid_and_changes_nothing(
    older_crd: None, operator_lab: OperatorLab
) -> None:
    lab = operator_lab
    assert lab.kubectl_apply(bpc("lab", {"producer": {"productionRate": 20}})).returncode == 0
    wait_for(lambda: lab.applied("lab"), 15, "first spec applied")

    # Accepted by an API server whose CRD predates the cross-field rules; impossible with the default max (200).
    result = lab.kubectl_apply(bpc("lab", {"producer": {"productionRate": 30}, "consumer": {"processingMinMs": 300}}))
    assert result.returncode == 0, result.stderr
    invalid = wait_for(lambda: (c := lab.condition("lab", "Invalid")) and c["status"] == "True" and c, 15, "Invalid")
    assert "spec.consumer.processingMinMs" in invalid["message"]
    assert "processingMaxMs" in invalid["message"]
    applied = lab.condition("lab", "Applied")
    assert applied is not None
    assert (applied["status"], applied["reason"]) == ("False", "Invalid")
    assert lab.config("lab")["status"]["observedGeneration"] == 2
    wait_for(lambda: lab.events("lab", "Invalid"), 10, "the Invalid event (it follows the status)")
    # Nothing moved, also after a drift check that began once Invalid was recorded: the pods and the settings file
    # keep the last valid settings.
    lab.operator.wait_for_round("drift-check", started_after=moment())
    assert lab.pod("producer").config()["production_rate"] == 20
    assert yaml.safe_load(lab.settings_file())["producer"]["production_rate"] == 20

    fixed = {"producer": {"productionRate": 30}, "consumer": {"processingMinMs": 300, "processingMaxMs": 400}}
    assert lab.kubectl_apply(bpc("lab", fixed)).returncode == 0
    wait_for(lambda: lab.applied("lab", generation=3), 15, "fixed spec applied")
    assert (lab.condition("lab", "Invalid") or {}).get("status") == "False"
    assert lab.pod("consumer").config()["processing_min_ms"] == 300


def test_a_newer_config_gets_conflict_and_takes_over_when_the_older_goes(operator_lab: OperatorLab) -> None:
    lab = operator_lab
    assert lab.kubectl_apply(bpc("first", {"producer": {"productionRate": 11}})).returncode == 0
    wait_for(lambda: lab.applied("first"), 15, "first applied")
    time.sleep(1.1)  # creation timestamps have one-second resolution: make "second" visibly newer
    assert lab.kubectl_apply(bpc("second", {"producer": {"productionRate": 22}})).returncode == 0

    conflict = wait_for(
        lambda: (c := lab.condition("second", "Conflict")) and c["status"] == "True" and c, 15, "Conflict on second"
    )
    assert "first" in conflict["message"]
    # No flapping: over several drift checks the owner stays applied and the pods keep its settings.
    first_applied = lab.condition("first", "Applied")
    for _check in range(2):
        lab.operator.wait_for_round("drift-check", started_after=moment())
    assert lab.condition("first", "Applied") == first_applied
    assert lab.condition("second", "Conflict") == conflict
    assert lab.pod("producer").config()["production_rate"] == 11
    assert len(lab.events("second", "Conflict")) == 1

    lab.custom.delete_namespaced_custom_object(GROUP, VERSION, lab.namespace, PLURAL, "first")
    wait_for(lambda: lab.pod("producer").config()["production_rate"] == 22, 15, "second took over")
    wait_for(lambda: (lab.condition("second", "Conflict") or {}).get("status") == "False", 10, "Conflict cleared")
    assert lab.applied("second")


def test_deleting_a_config_is_immediate_and_leaves_pods_on_their_last_settings(operator_lab: OperatorLab) -> None:
    lab = operator_lab
    assert lab.kubectl_apply(bpc("lab", {"consumer": {"slowDownFactor": 5}})).returncode == 0
    wait_for(lambda: lab.applied("lab"), 15, "applied")
    assert not lab.config("lab")["metadata"].get("finalizers")

    lab.custom.delete_namespaced_custom_object(GROUP, VERSION, lab.namespace, PLURAL, "lab")

    def gone() -> bool:
        try:
            lab.config("lab")
        except client.ApiException as error:
            return bool(error.status == 404)
        return False

    wait_for(gone, 5, "the config to be deleted (no finalizer)")
    lab.operator.wait_for_round("drift-check", started_after=moment())  # a drift check without it resets nothing
    assert lab.pod("consumer").config()["slow_down_factor"] == 5
    assert yaml.safe_load(lab.settings_file())["consumer"]["slow_down_factor"] == 5
