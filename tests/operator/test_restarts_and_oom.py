"""Restarts on both sides: the operator resumes without needless pushes, a restarted pod gets its settings back,
and an OOM-killed container is counted exactly once, also across operator restarts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.operator.harness import OperatorLab, bpc, moment, wait_for

pytestmark = pytest.mark.controlplane

SPEC = {"producer": {"productionRate": 40, "queueMode": "unbounded"}, "consumer": {"slowDownFactor": 5}}


def pods_status(lab: OperatorLab) -> list[dict[str, Any]]:
    return list(lab.config("lab")["status"]["pods"])


def test_operator_restart_resumes_without_pushing_again(operator_lab: OperatorLab) -> None:
    lab = operator_lab
    assert lab.kubectl_apply(bpc("lab", SPEC)).returncode == 0
    wait_for(lambda: lab.applied("lab"), 15, "applied")
    lab.operator.wait_for_round("drift-check", started_after=moment())  # a drift check settles the pod records
    before = pods_status(lab)
    applied_events = len(lab.events("lab", "Applied"))
    version = lab.config("lab")["metadata"]["resourceVersion"]

    lab.operator.stop()
    lab.operator.start()
    wait_for(lambda: "Resuming is processed: 1 succeeded" in lab.operator.log(), 15, "the resume handler")
    resumed = moment()
    lab.operator.wait_for_round("drift-check", started_after=resumed)  # and a drift check after the resume

    assert pods_status(lab) == before  # lastPushed unchanged: nothing was pushed again
    assert len(lab.events("lab", "Applied")) == applied_events
    assert lab.config("lab")["metadata"]["resourceVersion"] == version  # not even a status write
    assert lab.applied("lab")


def test_changes_made_while_the_operator_was_down_are_applied_on_resume(operator_lab: OperatorLab) -> None:
    lab = operator_lab
    assert lab.kubectl_apply(bpc("lab", SPEC)).returncode == 0
    wait_for(lambda: lab.applied("lab"), 15, "applied")
    lab.operator.stop()
    assert lab.kubectl_apply(bpc("lab", {**SPEC, "producer": {"productionRate": 7}})).returncode == 0
    lab.operator.start()
    wait_for(lambda: lab.applied("lab", generation=2), 15, "generation 2 applied after the restart")
    assert lab.pod("producer").config()["production_rate"] == 7


def test_a_restarted_pod_gets_its_settings_back(quiet_drift_lab: OperatorLab, tmp_path: Path) -> None:
    """With the drift check every 60 s, only the pod watch can push within the 2 s this test allows."""
    lab = quiet_drift_lab
    assert lab.kubectl_apply(bpc("lab", SPEC)).returncode == 0
    wait_for(lambda: lab.applied("lab"), 15, "applied")
    producer = lab.pod("producer")

    # Restarted from the settings file the ConfigMap holds (as the kubelet mounts it): right from its first request.
    producer.stop_process()
    producer.restarts += 1
    producer.set_status(ready=False)
    mounted = tmp_path / "settings.yaml"
    mounted.write_text(lab.settings_file())
    producer.start_process(settings_file=mounted)
    assert producer.config()["production_rate"] == 40

    # Restarted before the file reached it (defaults): the operator pushes as soon as the pod is ready again.
    producer.stop_process()
    producer.restarts += 1
    producer.set_status(ready=False)
    producer.start_process()
    assert producer.config()["production_rate"] == 10
    started = time.monotonic()
    producer.set_status(ready=True)
    wait_for(lambda: producer.config()["production_rate"] == 40, 10, "settings pushed to the restarted pod")
    assert time.monotonic() - started < 2.0, "pushed on readiness, not at a later drift check"
    assert lab.pod("consumer").config()["slow_down_factor"] == 5


def oom_events(lab: OperatorLab) -> list[str]:
    return [str(e.message) for e in lab.events("lab", "OOMKilled")]


def test_an_oom_kill_is_counted_once_also_across_operator_restarts(operator_lab: OperatorLab) -> None:
    lab = operator_lab
    assert lab.kubectl_apply(bpc("lab", SPEC)).returncode == 0
    wait_for(lambda: lab.applied("lab"), 15, "applied")
    producer = lab.pod("producer")
    killed = {"reason": "OOMKilled", "exitCode": 137, "startedAt": "2026-11-27T08:00:00Z",
              "finishedAt": "2026-11-27T08:05:00Z"}  # fmt: skip

    # The kubelet first reports the dead container in `state` (restart count still 0) ...
    producer.set_status(ready=False, terminated=killed)
    wait_for(lambda: lab.config("lab")["status"].get("oomKills") == 1, 10, "oomKills == 1")
    # ... then, once it restarted, in `lastState` with restart count 1: the same kill.
    producer.restarts = 1
    seen_again = moment()
    producer.set_status(ready=True, last_termination=killed)
    lab.operator.wait_for_round("drift-check", started_after=seen_again)
    status = lab.config("lab")["status"]
    assert status["oomKills"] == 1
    assert status["lastOOMKill"]["pod"] == "lab-producer-0"
    assert status["lastOOMKill"]["memoryLimit"] == "256Mi"
    assert status["lastOOMKill"]["queueMode"] == "unbounded"
    assert status["lastOOMKill"]["restartCount"] == 1
    [message] = oom_events(lab)
    for words in ("lab-producer-0", "producer", "restart 1", "256Mi", "queue mode unbounded"):
        assert words in message

    # The operator restarts and lists the pod again: still one kill, still one event.
    lab.operator.stop()
    lab.operator.start()
    wait_for(lambda: "Resuming is processed" in lab.operator.log(), 15, "the resume handler")
    lab.operator.wait_for_round("drift-check", started_after=moment())
    assert lab.config("lab")["status"]["oomKills"] == 1
    assert len(oom_events(lab)) == 1

    # A second kill is a new one.
    producer.restarts = 2
    producer.set_status(ready=True, last_termination={**killed, "finishedAt": "2026-11-27T08:09:00Z"})
    wait_for(lambda: lab.config("lab")["status"].get("oomKills") == 2, 10, "oomKills == 2")
    lab.operator.wait_for_round("drift-check", started_after=moment())
    assert len(oom_events(lab)) == 2
    assert "OOM" in lab.plane.kubectl("-n", lab.namespace, "get", "bpc", "lab")  # the printer column's header


def test_an_unreachable_pod_turns_applied_false_once_and_is_fixed_by_the_drift_check(operator_lab: OperatorLab) -> None:
    lab = operator_lab
    assert lab.kubectl_apply(bpc("lab", SPEC)).returncode == 0
    wait_for(lambda: lab.applied("lab"), 15, "applied")
    consumer = lab.pod("consumer")

    # The process dies but the Pod still says Ready (the kubelet has not noticed yet).
    consumer.stop_process()
    failing = wait_for(lambda: (c := lab.condition("lab", "Applied")) and c["status"] == "False" and c, 10, "failed")
    assert failing["reason"] == "ApplyFailed"
    assert "lab-consumer-0" in failing["message"]
    for _check in range(2):  # more drift checks find it failing the same way: still one event
        lab.operator.wait_for_round("drift-check", started_after=moment())
    assert len(lab.events("lab", "ApplyFailed")) == 1

    # Back with defaults and no readiness flip: the drift check (not the pod watch) restores the settings.
    consumer.start_process()
    wait_for(lambda: consumer.config()["slow_down_factor"] == 5, 10, "drift check re-applied")
    wait_for(lambda: lab.applied("lab"), 10, "Applied=True again")
    # The event follows the status write that shows it: wait for it rather than race it.
    wait_for(lambda: any("drift check" in str(e.message) for e in lab.events("lab", "Applied")), 10, "the event")
