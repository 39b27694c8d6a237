"""Operator latency: from `kubectl apply` of a BackpressureConfig to every pod running the new settings.

Runs against a real control plane (etcd + kube-apiserver + kube-controller-manager from `make tools`), with the
operator as a separate process acting as the chart's ServiceAccount and Role, and real producer and consumer
processes on loopback standing in for pods (tests/operator/harness.py). Each change sets a new production rate and
slow-down factor; the clock starts before `kubectl apply` is spawned and stops when every pod's GET /admin/config
reports the new values (polled every 2 ms), and, separately, when status says Applied=True for that generation.
Prints the machine, p50/p99/max, and the operator's resident memory (now and peak). Targets: p50 <= 0.5 s,
p99 <= 1.5 s, RSS <= 100 MiB.

    .venv/bin/python bench/operator_latency.py                   # 20 changes, 1 producer + 1 consumer
    .venv/bin/python bench/operator_latency.py --changes 50 --pods 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kubernetes import client

from bench.machine import describe
from tests.controlplane.cluster import api_client_for, running_control_plane
from tests.operator.harness import (
    ADMIN_TOKEN,
    CRDS,
    OPERATOR_SA,
    LoopbackPodStandIn,
    OperatorLab,
    OperatorProcess,
    bpc,
    install_operator_rbac,
    wait_for,
)
from tests.ports import free_port

MIB = 1024 * 1024
NAMESPACE = "bench"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def live_config(pod: LoopbackPodStandIn) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{pod.port}/admin/config", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=2) as response:
        config: dict[str, Any] = json.loads(response.read())["config"]
        return config


def peak_rss(operator: OperatorProcess) -> int:
    assert operator.proc is not None
    for line in Path(f"/proc/{operator.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def stand_ins(core: client.CoreV1Api, workdir: Path, count: int) -> list[LoopbackPodStandIn]:
    pods: list[LoopbackPodStandIn] = []
    for index in range(count):
        consumer_env = {"BPLAB_ADMIN_TOKEN": ADMIN_TOKEN}
        consumer = LoopbackPodStandIn(
            core, NAMESPACE, f"lab-consumer-{index}", "consumer", free_port(), workdir, consumer_env
        )
        producer_env = {"BPLAB_ADMIN_TOKEN": ADMIN_TOKEN, "BPLAB_CONSUMER_URL": f"http://127.0.0.1:{consumer.port}"}
        producer = LoopbackPodStandIn(
            core, NAMESPACE, f"lab-producer-{index}", "producer", free_port(), workdir, producer_env
        )
        pods += [producer, consumer]
    return pods


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--pods", type=int, default=1, help="producer pods and consumer pods (each)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bplab-operator-bench-") as scratch:
        workdir = Path(scratch)
        with running_control_plane(workdir / "controlplane", controller_manager=True) as plane:
            plane.kubectl("apply", "--server-side", "-f", str(CRDS))
            plane.kubectl("wait", "--for=condition=Established", "crd/backpressureconfigs.lab.backpressure.dev")
            with api_client_for(plane.admin_kubeconfig) as api:
                core = client.CoreV1Api(api)
                core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
                wait_for(lambda: core.read_namespaced_service_account("default", NAMESPACE), 30, "default SA")
                install_operator_rbac(plane, NAMESPACE, workdir)
                pods = stand_ins(core, workdir, args.pods)
                kubeconfig = plane.kubeconfig_for_service_account(NAMESPACE, OPERATOR_SA)
                # The chart's default drift check (5 s): every figure below is the event-driven path.
                operator = OperatorProcess(kubeconfig, NAMESPACE, workdir, drift_check_seconds=5.0)
                lab = OperatorLab(plane, api, NAMESPACE, operator, pods)
                try:
                    for pod in pods:
                        pod.create()
                        pod.start_process()
                        pod.set_status(ready=True)
                    operator.start()
                    result = lab.kubectl_apply(bpc("lab", {"producer": {"productionRate": 10}}))
                    assert result.returncode == 0, result.stderr
                    wait_for(lambda: lab.applied("lab"), 30, "the first apply (warm-up)")
                    # Warm-up (kubectl's discovery cache) is generation 1; measured changes start at 2.
                    samples = measure_from(lab, args.changes)
                    rss, peak = operator.rss_bytes(), peak_rss(operator)
                finally:
                    operator.stop()
                    for pod in pods:
                        pod.stop_process()

    to_pods, to_applied, kubectl_only = samples
    print(describe())
    print(f"pods: {args.pods} producer + {args.pods} consumer; changes: {args.changes}; drift check every 5 s")
    for title, values in (("apply -> every pod runs it", to_pods), ("apply -> status Applied=True", to_applied),
                          ("kubectl apply process alone", kubectl_only)):  # fmt: skip
        print(
            f"{title:30s} p50 {percentile(values, 0.5):.3f} s  p99 {percentile(values, 0.99):.3f} s  "
            f"max {max(values):.3f} s  mean {statistics.mean(values):.3f} s"
        )
    print(f"operator RSS: {rss / MIB:.1f} MiB now, {peak / MIB:.1f} MiB peak")
    ok = percentile(to_pods, 0.5) <= 0.5 and percentile(to_pods, 0.99) <= 1.5 and peak <= 100 * MIB
    print("targets (p50 <= 0.5 s, p99 <= 1.5 s, RSS <= 100 MiB): " + ("met" if ok else "NOT met"))
    return 0 if ok else 1


def measure_from(lab: OperatorLab, changes: int) -> tuple[list[float], list[float], list[float]]:
    """Apply `changes` specs one after the other; generation 1 was the warm-up apply."""
    to_pods: list[float] = []
    to_applied: list[float] = []
    kubectl_only: list[float] = []
    for change in range(1, changes + 1):
        generation = change + 1
        rate, factor = 10.0 + change, 2.0 + change % 4
        spec = {"producer": {"productionRate": rate}, "consumer": {"slowDownFactor": factor}}
        started = time.monotonic()
        result = lab.kubectl_apply(bpc("lab", spec))
        kubectl_only.append(time.monotonic() - started)
        if result.returncode != 0:
            raise SystemExit(f"kubectl apply failed: {result.stderr}")

        def on_every_pod(rate: float = rate, factor: float = factor) -> bool:
            for pod in lab.pods:
                config = live_config(pod)
                if pod.component == "producer" and config["production_rate"] != rate:
                    return False
                if pod.component == "consumer" and config["slow_down_factor"] != factor:
                    return False
            return True

        wait_for(on_every_pod, 30, f"change {change} on every pod", interval=0.002)
        to_pods.append(time.monotonic() - started)

        def applied(generation: int = generation) -> bool:
            return lab.applied("lab", generation=generation)

        wait_for(applied, 30, f"Applied for generation {generation}", interval=0.005)
        to_applied.append(time.monotonic() - started)
    return to_pods, to_applied, kubectl_only


if __name__ == "__main__":
    raise SystemExit(main())
