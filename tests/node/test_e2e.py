"""The lab on this machine's real node, end to end: what `make e2e CLUSTER=node` establishes, one assertion each.

All tests read one run of tools/node/e2e.sh (the package fixture `e2e`); test_stop.py, collected after the others,
stops the node and proves that nothing of it is left.
"""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from backpressure_lab.cli.exercises import exercise
from backpressure_lab.producer.settings import ProducerSettings
from tests.controlplane.cluster import read_versions
from tests.node.conftest import NODE_CHECKS, NODE_SOLVE, ROOT, STATE, E2eRun
from tests.tool_cache import cached_binary, cached_helm

pytestmark = [pytest.mark.node, pytest.mark.timeout(3300)]


def test_e2e_script_passes(e2e: E2eRun) -> None:
    assert e2e.returncode == 0, f"tools/node/e2e.sh exited {e2e.returncode}; log {e2e.log_path}:\n{e2e.tail()}"


def test_node_is_ready_with_the_pinned_kubelet_on_containerd(e2e: E2eRun) -> None:
    name, kubelet, runtime, ready = e2e.fact("node status:").split()
    assert (name, kubelet, ready) == ("bplab-node", read_versions()["KUBERNETES_VERSION"], "True")
    assert runtime.startswith("containerd://1."), runtime
    assert re.fullmatch(r"\d+ s", e2e.fact("node ready in")), e2e.fact("node ready in")


def test_every_pod_of_the_release_is_running(e2e: E2eRun) -> None:
    running, total = map(int, e2e.fact("pods Running").split("/"))
    assert running == total >= 4  # producer, consumer, operator, Jaeger


def test_helm_test_passes(e2e: E2eRun) -> None:
    phases = dict(item.split("=") for item in e2e.fact("helm test passed:").split())
    assert phases, "no helm test pods"
    assert set(phases.values()) == {"Succeeded"}, phases


def test_the_exercise_checks_pass_on_the_node(e2e: E2eRun) -> None:
    assert {exercise(int(n)).check is not None for n in NODE_CHECKS} == {True}
    assert e2e.fact("exercise checks:") == f"{len(NODE_CHECKS)} PASS, 0 FAIL"
    assert len(re.findall(r"^PASS ", e2e.log, re.MULTILINE)) == len(NODE_CHECKS) + 1  # and the solved exercise's


def test_a_stuck_learner_gets_the_hints_in_turn_then_solve_leaves_the_exercise_applied_and_reset_undoes_it(
    e2e: E2eRun,
) -> None:
    solved = exercise(int(NODE_SOLVE))
    hints = re.findall(rf"^e2e: hint {NODE_SOLVE}: (.*)$", e2e.log, re.MULTILINE)
    assert hints == [f"hint {n} of {len(solved.hints)}: {text}" for n, text in enumerate(solved.hints[:2], start=1)]
    wanted = solved.producer_settings()
    applied = f"{wanted['queue_mode']} {wanted['max_queue_size']} {wanted['produce_overload_status']}"
    assert e2e.fact(f"solve {NODE_SOLVE}:") == f"1 PASS, 0 FAIL; producer then: {applied}"
    baseline = ProducerSettings()
    at_baseline = f"{baseline.queue_mode} {baseline.max_queue_size} {baseline.produce_overload_status}"
    assert applied != at_baseline
    assert e2e.fact("reset:") == f"producer then: {at_baseline}"


def test_producer_is_oom_killed_as_kubectl_describe_shows(e2e: E2eRun) -> None:
    assert e2e.fact("kubectl describe pod:").startswith("Last State Terminated, Reason OOMKilled")
    assert re.search(r"^ +Last State: +Terminated$", e2e.log, re.MULTILINE)
    assert re.search(r"^ +Reason: +OOMKilled$", e2e.log, re.MULTILINE)


def test_restart_count_goes_up(e2e: E2eRun) -> None:
    before, after = map(int, e2e.fact("restart count").split(" -> "))
    assert after > before


def test_operator_counts_the_oom_kill_in_the_backpressureconfigs_status(e2e: E2eRun) -> None:
    before, after = map(int, e2e.fact("operator status oomKills").split(" -> "))
    assert after == before + 1


def test_operator_records_the_oom_kill_on_the_backpressureconfig(e2e: E2eRun) -> None:
    assert "OOM-killed" in e2e.fact("operator event OOMKilled:")


def test_restarted_producer_runs_the_current_settings(e2e: E2eRun) -> None:
    assert e2e.fact("restarted producer settings:") == "queue_mode=unbounded production_rate=50"


def node_kubectl(*args: str) -> subprocess.CompletedProcess[str]:
    """The pinned kubectl with the node's admin kubeconfig, from the repository root (as a learner types it)."""
    kubectl = cached_binary("kubernetes", "KUBERNETES_VERSION", "kubectl")
    return subprocess.run([str(kubectl), f"--kubeconfig={STATE / 'admin.kubeconfig'}", *args],
                          capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)  # fmt: skip


def test_the_readme_apply_prints_one_line_and_kubectl_wait_returns_within_2_s(e2e: E2eRun) -> None:
    """The README's exact commands on the node the e2e run left up (issues M and Q): one `serverside-applied` line
    and nothing on stderr, and `kubectl wait --for=condition=Ready` back within 2 s of the change, the pods running
    it. Needs bplab to apply server-side too (a client-side apply by a check before would own the fields)."""
    line = "backpressureconfig.lab.backpressure.dev/backpressure-lab serverside-applied\n"
    for example, mode in (("05-rate-limited.yaml", "rate_limited"), ("01-baseline.yaml", "unbounded")):
        started = time.monotonic()
        applied = node_kubectl("-n", "backpressure-lab", "apply", "--server-side", "-f", f"examples/{example}")
        assert (applied.returncode, applied.stdout, applied.stderr) == (0, line, ""), example
        waited = node_kubectl("-n", "backpressure-lab", "wait", "--for=condition=Ready", "bpc/backpressure-lab",
                              "--timeout=30s")  # fmt: skip
        elapsed = time.monotonic() - started
        assert waited.returncode == 0, waited.stderr
        assert elapsed < 2.0, f"{example}: apply + wait took {elapsed:.2f} s"
        config = json.loads(
            node_kubectl("-n", "backpressure-lab", "get", "bpc", "backpressure-lab", "-o", "json").stdout
        )
        assert config["status"]["observedGeneration"] == config["metadata"]["generation"]
        assert all(pod["generation"] == config["metadata"]["generation"] for pod in config["status"]["pods"])
        assert config["status"]["settings"]["producer"]["queueMode"] == mode


def test_helm_test_passes_again_on_the_current_generation(e2e: E2eRun) -> None:
    """After the changes above, helm test's config check (every pod on the current generation) still passes."""
    command = [
        str(cached_helm()),
        f"--kubeconfig={STATE / 'admin.kubeconfig'}",
        "test",
        "backpressure-lab",
        "-n",
        "backpressure-lab",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
