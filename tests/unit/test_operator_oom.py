"""Pure: OOM kills read from pod bodies, each identified once, and the dedupe records kept in status."""

from __future__ import annotations

from typing import Any

from backpressure_lab.operator.oom import account, oom_kills
from backpressure_lab.operator.pods import release_pod
from backpressure_lab.operator.status import oom_status

KILLED = {"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": "2026-11-27T08:05:00Z"}}
KILLED_AGAIN = {"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": "2026-11-27T08:07:00Z"}}


def pod(restarts: int, state: dict[str, Any], last: dict[str, Any] | None = None, uid: str = "u1") -> dict[str, Any]:
    status: dict[str, Any] = {"name": "producer", "restartCount": restarts, "state": state}
    if last is not None:
        status["lastState"] = last
    return {
        "metadata": {"name": "lab-producer-0", "uid": uid, "labels": {"app.kubernetes.io/component": "producer"}},
        "spec": {"containers": [{"name": "producer", "resources": {"limits": {"memory": "256Mi"}},
                                 "ports": [{"name": "http", "containerPort": 8000}]}]},
        "status": {"podIP": "10.0.0.5", "containerStatuses": [status],
                   "conditions": [{"type": "Ready", "status": "True"}]},
    }  # fmt: skip


def test_state_then_last_state_is_the_same_kill() -> None:
    [dying] = oom_kills(pod(0, KILLED))
    [restarted] = oom_kills(pod(1, {"running": {}}, KILLED))
    assert dying.key == restarted.key == ("u1", "producer", "2026-11-27T08:05:00Z")
    assert (dying.restart_count, restarted.restart_count) == (1, 1)
    assert restarted.memory_limit == "256Mi"


def test_a_kill_is_counted_once_and_a_new_one_again() -> None:
    first = account(oom_kills(pod(0, KILLED)), [], {"u1"})
    assert len(first.new) == 1
    again = account(oom_kills(pod(1, {"running": {}}, KILLED)), first.counted, {"u1"})
    assert again.new == []
    assert again.counted == first.counted
    second = account(oom_kills(pod(2, {"running": {}}, KILLED_AGAIN)), again.counted, {"u1"})
    assert [k.restart_count for k in second.new] == [2]


def test_a_kill_waiting_in_back_off_is_the_same_kill() -> None:
    """Seen on a real kubelet: after a crash (restart 1) the OOM kill shows in state.terminated with restart count 1,
    then in lastState.terminated while the container waits in back-off, the count still 1, then with the count 2."""
    crashed = {"terminated": {"reason": "Error", "exitCode": 2, "finishedAt": "2026-11-27T08:01:00Z"}}
    dying = oom_kills(pod(1, KILLED, crashed))
    waiting = oom_kills(pod(1, {"waiting": {"reason": "CrashLoopBackOff"}}, KILLED))
    restarted = oom_kills(pod(2, {"running": {}}, KILLED))
    first = account(dying, [], {"u1"})
    assert len(first.new) == 1
    assert account(waiting, first.counted, {"u1"}).new == []
    assert account(restarted, first.counted, {"u1"}).new == []


def test_records_of_deleted_pods_are_dropped() -> None:
    counted = account(oom_kills(pod(0, KILLED)), [], {"u1"}).counted
    assert account([], counted, {"u2"}).counted == []


def test_other_terminations_are_not_oom_kills() -> None:
    completed = {"terminated": {"reason": "Error", "exitCode": 1}}
    assert oom_kills(pod(3, {"running": {}}, completed)) == []


def test_release_pod_reads_readiness_ip_and_the_named_port() -> None:
    view = release_pod(pod(0, {"running": {}}))
    assert view is not None
    assert (view.component, view.ip, view.port, view.ready, view.reachable) == (
        "producer",
        "10.0.0.5",
        8000,
        True,
        True,
    )
    assert view.admin_url == "http://10.0.0.5:8000/admin/config"
    other = pod(0, {"running": {}})
    other["metadata"]["labels"] = {"app.kubernetes.io/component": "jaeger"}
    assert release_pod(other) is None


def test_the_counter_starts_at_zero_and_steps_once_per_new_kill() -> None:

    nothing = account([], [], {"u1"})
    assert oom_status(nothing, {}, "unbounded")[0] == {"oomKills": 0}
    assert oom_status(nothing, {"oomKills": 3}, "unbounded") == ({}, [])
    killed = account(oom_kills(pod(0, KILLED)), [], {"u1"})
    fields, events = oom_status(killed, {"oomKills": 3}, "bounded")
    assert fields["oomKills"] == 4
    assert fields["lastOOMKill"]["queueMode"] == "bounded"
    assert [e.reason for e in events] == ["OOMKilled"]
