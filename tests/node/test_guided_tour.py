"""`bplab --cluster tour` in a real terminal against the real node: it shows the `kubectl apply` to type, applies
nothing itself, waits until the change is live in the pods (through the operator), checks it and says what was seen.
The services tier plays the same tour against local mode (tests/cli/test_tour.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest

from backpressure_lab.cli.exercises import BASELINE, exercise
from tests.cli.terminal import terminal
from tests.node.conftest import NODE_IP, ROOT, STATE, E2eRun
from tests.services.lab import wait_until
from tests.tool_cache import cached_binary

pytestmark = [pytest.mark.node, pytest.mark.timeout(600)]

NAMESPACE = "backpressure-lab"
EXERCISE = 4  # a kubectl-applied change of the producer's queue, whose check needs only the producer
TOUR_TIMEOUT = 240.0
PRODUCER = f"http://{NODE_IP}:30800"


def node_shell_env() -> dict[str, str]:
    """A learner's shell on this node: the admin kubeconfig and the pinned kubectl first on PATH."""
    kubectl_dir = cached_binary("kubernetes", "KUBERNETES_VERSION", "kubectl").parent
    return {**os.environ, "KUBECONFIG": str(STATE / "admin.kubeconfig"), "PATH": f"{kubectl_dir}:{os.environ['PATH']}"}


def bplab_on_the_node(*args: str) -> str:
    return (
        f"{sys.executable} -m backpressure_lab.cli --cluster --context bplab-local --namespace {NAMESPACE} "
        f"--producer {PRODUCER} --consumer http://{NODE_IP}:30801 {' '.join(args)}"
    )


def producer_queue_mode() -> str:
    with urllib.request.urlopen(f"{PRODUCER}/status", timeout=10) as response:
        mode: str = json.load(response)["config"]["queue_mode"]
    return mode


def test_the_tour_shows_the_kubectl_apply_waits_for_it_and_checks_it_on_the_node(e2e: E2eRun) -> None:
    env = node_shell_env()
    played = exercise(EXERCISE)
    line = (
        f"cd {ROOT} && export KUBECONFIG={env['KUBECONFIG']} PATH={env['PATH']} PYTHONPATH={ROOT} && "
        f"{bplab_on_the_node('tour', '--from', str(EXERCISE), '--to', str(EXERCISE))}; echo TOUR-EXIT $?; sleep 600"
    )
    try:
        with terminal(line, 250, 60) as pane:
            assert wait_until(lambda: "Waiting for your change" in pane.screen(), 120), pane.screen()
            shown = pane.screen().split(f"Exercise {EXERCISE}:", 1)[1]
            typed = [text.strip() for text in shown.splitlines() if text.strip().startswith("kubectl ")]
            assert typed == [f"kubectl -n {NAMESPACE} apply --server-side -f examples/{played.slug}.yaml"], shown
            assert producer_queue_mode() == BASELINE.producer_settings()["queue_mode"]  # it applied nothing itself
            for command in typed:  # the learner, in another terminal at the repository's root
                subprocess.run(command, shell=True, check=True, capture_output=True, timeout=60, cwd=ROOT, env=env)
            assert wait_until(lambda: "TOUR-EXIT" in pane.screen(), TOUR_TIMEOUT), pane.screen()
            final = pane.screen()
    finally:
        subprocess.run(bplab_on_the_node("reset"), shell=True, check=False, capture_output=True, timeout=300,
                       cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert "Your change is live: checking." in final, final
    assert "PASS What you saw: " in final, final
    assert "The tour is over. Every check passed." in final, final
    assert "TOUR-EXIT 0" in final, final
    assert producer_queue_mode() == BASELINE.producer_settings()["queue_mode"]  # bplab reset undid it for later tests
