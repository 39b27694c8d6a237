"""The lab's footprint on the single node once `make up CLUSTER=node` has settled: memory and CPU of every pod and of
the node's own processes; prints a Markdown table and the machine.

    make up CLUSTER=node && .venv/bin/python bench/node_footprint.py [--window 60]

Pods are measured by the monitoring stack the node runs (the kubelet's cAdvisor series in its Prometheus): RSS
(`container_memory_rss`), the working set the kubelet's memory limits act on (`container_memory_working_set_bytes`)
and CPU (`rate(container_cpu_usage_seconds_total)` over the window) of each pod's cgroup, all its containers. The
node's own processes (containerd and its shims, etcd, the control plane, the kubelet, kube-proxy; none of them in a
pod) are read from /proc: RSS at the end, CPU as the change of utime + stime over the same window.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe
from tests.prometheus.prometheus import RemotePrometheus

MIB = 1024 * 1024
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
NODE_PROCESSES = ("containerd", "containerd-shim-runc-v2", "etcd", "kube-apiserver", "kube-controller-manager",
                  "kube-scheduler", "kubelet", "kube-proxy")  # fmt: skip


def by_pod(prometheus: RemotePrometheus, expr: str) -> dict[str, float]:
    """namespace/pod -> value of an instant query whose result is by (namespace, pod)."""
    return {f"{s['metric']['namespace']}/{s['metric']['pod']}": float(s["value"][1]) for s in prometheus.query(expr)}


def node_processes() -> dict[int, str]:
    """pid -> name of the node's own processes (by the name of the command they run)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv0 = (entry / "cmdline").read_bytes().split(b"\0", 1)[0].decode(errors="replace")
        except OSError:
            continue
        if os.path.basename(argv0) in NODE_PROCESSES:
            found[int(entry.name)] = os.path.basename(argv0)
    return found


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def rss_bytes(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prometheus", default=f"http://{os.environ.get('BPLAB_NODE_IP', '10.200.0.1')}:30909")
    parser.add_argument("--window", type=int, default=60, help="seconds of CPU measured (default 60)")
    args = parser.parse_args()

    processes = node_processes()
    if not processes:
        raise SystemExit("no node processes found: run `make up CLUSTER=node` first")
    before = {pid: cpu_ticks(pid) for pid in processes}
    time.sleep(args.window)
    node_cpu: dict[str, float] = defaultdict(float)
    node_rss: dict[str, float] = defaultdict(float)
    for pid, name in processes.items():
        try:
            node_cpu[name] += (cpu_ticks(pid) - before[pid]) / TICKS / args.window
            node_rss[name] += rss_bytes(pid)
        except OSError:
            continue

    # The pods' own cgroups: this node's cAdvisor has no per-container series (it finds containers through containerd's
    # default socket, and the node's containerd listens on its own), and a pod's cgroup holds all its containers.
    selector = 'pod!="",container=""'
    prometheus = RemotePrometheus(args.prometheus)
    window = f"{args.window}s"
    rss = by_pod(prometheus, f"sum by (namespace, pod) (container_memory_rss{{{selector}}})")
    working = by_pod(prometheus, f"sum by (namespace, pod) (container_memory_working_set_bytes{{{selector}}})")
    cpu = by_pod(
        prometheus, f"sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{{{selector}}}[{window}]))"
    )

    print(describe())
    print(f"\nafter `make up CLUSTER=node` settled; CPU over {args.window} s\n")
    print("| what | RSS MiB | working set MiB | CPU (cores) |\n| --- | --- | --- | --- |")
    for pod in sorted(rss):
        print(f"| pod {pod} | {rss[pod] / MIB:.0f} | {working.get(pod, 0) / MIB:.0f} | {cpu.get(pod, 0):.3f} |")
    for name in NODE_PROCESSES:
        if name in node_rss:
            print(f"| node: {name} | {node_rss[name] / MIB:.0f} | | {node_cpu[name]:.3f} |")
    pods_rss, node_total = sum(rss.values()) / MIB, sum(node_rss.values()) / MIB
    pods_cpu, node_cpu_total = sum(cpu.values()), sum(node_cpu.values())
    print(
        f"| **pods ({len(rss)})** | **{pods_rss:.0f}** | **{sum(working.values()) / MIB:.0f}** | **{pods_cpu:.3f}** |"
    )
    print(f"| **node processes** | **{node_total:.0f}** | | **{node_cpu_total:.3f}** |")
    print(f"| **total** | **{pods_rss + node_total:.0f}** | | **{pods_cpu + node_cpu_total:.3f}** |")


if __name__ == "__main__":
    main()
